"""The journal's own thread: the changes jobs ask for, committed in groups.

SQLite syncs each commit to disk (~1 ms here), and so does a PostgreSQL server; a hundred
jobs moving at once would wait for a hundred syncs in a row. The writer takes every change
queued while a commit is under way into the next one, so they share one sync, and it
answers each caller only after the commit that holds its change: the journal's
write-ahead promise still holds. Calls made ``alone`` (a shared journal's claims and lane
decisions, which lock rows other workers lock too) run in a transaction of their own, so
a group never holds such a lock while it waits for another.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any, TypeVar

from runway_dynamic.batch.journal import JournalBase

T = TypeVar("T")


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
