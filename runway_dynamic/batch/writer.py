"""Who runs a journal's changes, and when they commit: in groups, one sync for many.

A journal syncs each commit to disk (~1 ms here; a PostgreSQL server does too), so a
hundred jobs moving at once must not wait for a hundred syncs in a row. Two writers share
one promise: a caller resumes only after the commit that holds its change (write-ahead).

* :class:`LocalJournalWriter` (a journal file): the changes run on the event loop, inside
  an open group, and only the commit, the step that waits for the disk, runs in a thread.
* :class:`JournalWriter` (a shared journal): every call runs on the journal's own thread,
  since each is a round trip to the database server. Calls made ``alone`` (claims and lane
  decisions, which lock rows other workers lock too) get a transaction of their own, so a
  group never holds such a lock while it waits for another.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from runway_dynamic.batch.journal import Journal, JournalBase

if TYPE_CHECKING:
    from runway_dynamic.downloads import StagedFile

T = TypeVar("T")
#: What placing one file came to: where it went, or why it did not.
_Placed = tuple[Path | None, BaseException | None]


class LocalJournalWriter:
    """A journal file's changes on the event loop; their commit, once per window, in a thread.

    A change to the file is a few writes to SQLite's page cache (tens of microseconds). Run
    on a thread of their own, each of its SQLite calls passed the GIL to and from the busy
    event loop, which cost more CPU than the changes did (issue 16: ~1 ms per job). So a
    change runs inline here, inside the open group, and the group commits in a worker thread
    ``COMMIT_WINDOW`` seconds after its first change (sooner once it holds ``MAX_GROUP``):
    one sync, and one thread hand-off, for every change of the window.

    Why a crash loses nothing (the write-ahead promise is unchanged): a caller resumes, and
    so acts on its change, only once the commit holding it is on disk. A crash before that
    commit loses the whole open group, and nothing was done because of any change in it:

    * ``submitting`` lost: the job is still pending and its create was never sent;
    * ``submitted`` lost: the job is ``submitting``, which a resume turns ``uncertain``
      (never resent), as for a create whose answer was cut off;
    * ``succeeded`` lost: the job is ``submitted`` and is polled again (not paid again);
    * ``downloaded`` lost: the job is ``succeeded`` with its files' names, and a resume
      finds the files, complete (they were moved into place whole and synced) and keeps them.

    The window delays when callers hear back, never what is on disk when they do. While a
    commit runs, new changes wait for it (the connection is its thread's until then) and
    then open the next group. A change that fails is undone alone (its savepoint) and its
    caller hears at once; a commit that fails fails every change of its group.

    Downloaded files join the group too (:meth:`place`): the commit's thread syncs each and
    gives it its name, then makes the change that records it, then commits — one thread
    hand-off for the file and its record instead of one each (issue 16).
    """

    #: Seconds a group stays open after its first change (jobs moving meanwhile join it).
    COMMIT_WINDOW = 0.005
    #: Most changes in one group (bounds the wait of the first in it).
    MAX_GROUP = 512

    def __init__(self, journal: Journal) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.journal = journal
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="runway-journal")
        self._open = False
        #: The callers of the open group's changes, answered by its commit.
        self._waiting: list[tuple[asyncio.Future[Any], int | None]] = []
        #: Files to place in the open group's commit, each with the change recording it.
        self._placing: list[tuple[StagedFile, Callable[[Path], Any] | None]] = []
        self._timer: asyncio.TimerHandle | None = None
        #: The commit under way (the connection is its thread's until it ends).
        self._commit: asyncio.Future[list[_Placed]] | None = None
        #: Commits made and changes they held (for the benchmark's overhead figures).
        self.commits = 0
        self.changes = 0

    async def call(self, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``method`` in the open group; its result once the group is committed. The
        change commits even if the caller is cancelled meanwhile."""
        await self._join()
        result = method(*args, **kwargs)
        await self._enlist(None)
        return result

    async def place(self, staged: StagedFile,
                    then: Callable[[Path], Any] | None = None) -> Path:
        """Sync ``staged`` and name it in the open group's commit, then run ``then(path)``
        there as one of the group's changes (the write-ahead order: the file is on disk
        before any record of it); where the file went, once committed. A file placed
        whose change fails stays (a rerun finds it); its caller hears the error."""
        try:
            await self._join()
        except BaseException:  # cancelled before the commit took it: nothing to place
            staged.discard()
            raise
        self._placing.append((staged, then))  # the commit's thread owns it from here
        path: Path = await self._enlist(len(self._placing) - 1)
        return path

    async def _join(self) -> None:
        """Wait out a commit under way, then open a group if none is."""
        while self._commit is not None and not self._commit.done():
            await asyncio.wait([self._commit])  # a cancelled caller leaves the commit be
        if not self._open:
            self.journal.begin_group()
            self._open = True
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self.COMMIT_WINDOW, self._start_commit)

    async def _enlist(self, placement: int | None) -> Any:
        """Wait for the commit of the open group (``placement``: the index of the file
        this caller placed, whose path is its answer)."""
        committed: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting.append((committed, placement))
        if len(self._waiting) >= self.MAX_GROUP:
            self._start_commit()
        return await committed

    async def alone(self, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """As :meth:`call`: a file journal has no locks shared with other workers."""
        return await self.call(method, *args, **kwargs)

    def _start_commit(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        waiting, self._waiting = self._waiting, []
        placing, self._placing = self._placing, []
        self._open = False
        loop = asyncio.get_running_loop()
        self._commit = loop.run_in_executor(self._thread, self._place_and_commit, placing)
        self._commit.add_done_callback(functools.partial(self._committed, waiting))

    def _place_and_commit(self, placing: list[tuple[StagedFile, Callable[[Path], Any] | None]]
                          ) -> list[_Placed]:
        """In the commit's thread: each file synced and named, and its change made; then
        the commit. What each placement came to (its path, or its error)."""
        outcomes: list[_Placed] = []
        for staged, then in placing:
            try:
                path = staged.place()
            except Exception as exc:
                outcomes.append((None, exc))
                continue
            try:
                if then is not None:
                    then(path)
            except Exception as exc:  # undone alone, as a change made on the loop is
                outcomes.append((None, exc))
                continue
            outcomes.append((path, None))
        self.journal.commit_group()
        return outcomes

    def _committed(self, waiting: list[tuple[asyncio.Future[Any], int | None]],
                   commit: asyncio.Future[list[_Placed]]
                   ) -> None:
        if self._commit is commit:
            self._commit = None
        self.commits += 1
        self.changes += len(waiting)
        error = commit.exception()
        outcomes = [] if error is not None else commit.result()
        for caller, placement in waiting:
            if caller.done():  # cancelled meanwhile: its change committed all the same
                continue
            if error is not None:
                caller.set_exception(error)
            elif placement is None:
                caller.set_result(None)
            else:
                path, failed = outcomes[placement]
                if failed is not None:
                    caller.set_exception(failed)
                else:
                    caller.set_result(path)

    def close(self) -> None:
        """Commit what is still open (changes of callers cancelled meanwhile), then stop."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._thread.shutdown(wait=True)  # a commit under way ends first
        if self._open:
            self._open = False
            placing, self._placing = self._placing, []
            self._place_and_commit(placing)


class JournalWriter:
    """The journal's own thread, committing what the jobs ask for in groups.

    Calls queue up while a commit (an fsync, ~1 ms) is under way; the next commit takes
    them all, so a hundred jobs moving at once cost one sync, not a hundred. A caller
    resumes only after the commit holding its change: the write-ahead promise holds.
    """

    #: Most changes in one commit (bounds the latency of the first in the group).
    MAX_GROUP = 512

    def __init__(self, journal: JournalBase) -> None:
        import queue
        import threading

        self.journal = journal
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name="runway-journal",
                                        daemon=True)
        self._thread.start()
        #: Commits made and changes they held (for the benchmark's overhead figures).
        self.commits = 0
        self.changes = 0

    async def call(self, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``method`` on the journal thread; the result once it is committed. The write
        completes even if the caller is cancelled meanwhile."""
        return await self._put(False, functools.partial(method, *args, **kwargs))

    async def alone(self, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Like :meth:`call`, in a transaction of its own (never inside a group)."""
        return await self._put(True, functools.partial(method, *args, **kwargs))

    async def place(self, staged: StagedFile,
                    then: Callable[[Path], Any] | None = None) -> Path:
        """As :meth:`LocalJournalWriter.place`: on the journal's thread, the file synced and
        named, then ``then(path)`` in the group being committed."""
        def work() -> Path:
            path = staged.place()
            if then is not None:
                then(path)
            return path

        return await self._put(False, work)

    async def _put(self, alone: bool, work: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put((work, future, loop, alone))
        return await asyncio.shield(future)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def _serve(self) -> None:
        import queue

        held: Any = None  # an item taken while gathering a group, served next
        while True:
            item = held if held is not None else self._queue.get()
            held = None
            if item is None:
                return
            if item[3]:
                self._run_alone(item)
                continue
            group = [item]
            while len(group) < self.MAX_GROUP:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)
                    break
                if more[3]:
                    held = more
                    break
                group.append(more)
            done: list[tuple[Any, Any, Any, Exception | None]] = []
            try:
                with self.journal.group():
                    for work, future, loop, _ in group:
                        try:
                            done.append((future, loop, work(), None))
                        except Exception as exc:  # undone alone (its savepoint)
                            done.append((future, loop, None, exc))
            except Exception as exc:  # the commit itself failed: nothing of it holds
                done = [(future, loop, None, exc) for _, future, loop, _ in group]
            self.commits += 1
            self.changes += len(group)
            for future, loop, result, error in done:
                loop.call_soon_threadsafe(_settle, future, result, error)

    def _run_alone(self, item: Any) -> None:
        work, future, loop, _ = item
        try:
            result, error = work(), None
        except Exception as exc:
            result, error = None, exc
        self.commits += 1
        self.changes += 1
        loop.call_soon_threadsafe(_settle, future, result, error)


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def writer_for(journal: JournalBase) -> JournalWriter | LocalJournalWriter:
    """The writer runs use for ``journal``: a file's changes run on the loop, a database
    server's on a thread of their own (each is a round trip)."""
    if isinstance(journal, Journal):
        return LocalJournalWriter(journal)
    return JournalWriter(journal)
