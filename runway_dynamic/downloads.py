"""Output files: naming, extension choice and the crash-safe, no-clobber write.

Bytes stream into a :class:`StagedFile` — an unnamed file in the target directory where
the system has them, else a hidden ``.<name>.*.part`` file — and take their name only when
complete and on disk, so an interrupted download never leaves a partial output under the
final name (the ``.part`` file is removed on any error, Ctrl-C included).

An existing file is never overwritten: when the chosen name is taken, the next free
``<stem>.<n><ext>`` (n = 2, 3, …) is used. The claim itself is :func:`_files.link_staged`.
"""

from __future__ import annotations

import mimetypes
import os
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from runway_dynamic._files import link_staged, staged_file_beside

DEFAULT_PREFIX = "runway"
#: Preferred extensions where :mod:`mimetypes` is ambiguous or platform dependent.
_PREFERRED_EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/gif": ".gif",
    "video/mp4": ".mp4",
    "video/quicktime": ".mov",
    "video/webm": ".webm",
    "audio/mpeg": ".mp3",
    "audio/mp3": ".mp3",
    "audio/wav": ".wav",
    "audio/x-wav": ".wav",
    "audio/wave": ".wav",
    "audio/ogg": ".ogg",
    "audio/mp4": ".m4a",
    "application/json": ".json",
}
_GENERIC_TYPES = {"application/octet-stream", "binary/octet-stream", ""}
_MAX_SUFFIX = 10_000


def extension_for(content_type: str | None, url: str) -> str:
    """The file extension: from ``Content-Type`` when it names a type, else the URL path."""
    mime = (content_type or "").split(";")[0].strip().lower()
    if mime not in _GENERIC_TYPES:
        ext = _PREFERRED_EXTENSIONS.get(mime) or mimetypes.guess_extension(mime)
        if ext:
            return ext
    suffix = PurePosixPath(unquote(urlsplit(url).path)).suffix
    if 1 < len(suffix) <= 8 and suffix[1:].isalnum():
        return suffix.lower()
    return ".bin"


def with_extension(target: Path, content_type: str | None, url: str) -> Path:
    """``target`` as given when it has a suffix, else with the one the answer's type (or the
    URL) implies: ``out/job-7`` + ``video/mp4`` → ``out/job-7.mp4``."""
    if target.suffix:
        return target
    return target.with_name(target.name + extension_for(content_type, url))


def numbered(target: Path, index: int | None) -> Path:
    """A name given for a task's outputs (``-o clip.mp4``): the name itself for a single
    output; ``clip-1.mp4``, ``clip-2.mp4``… (``index``) when there are several."""
    if index is None:
        return target
    return target.with_name(f"{target.stem}-{index}{target.suffix}")


def output_filename(
    prefix: str, task_id: str, ext: str, *, when: datetime, index: int | None = None
) -> str:
    """``{prefix}-{UTC yyyyMMdd-HHmmss}-{task id without dashes}[-{index}]{ext}``."""
    stamp = when.astimezone(timezone.utc).strftime("%Y%m%d-%H%M%S")
    compact = task_id.replace("-", "")
    tail = f"-{index}" if index is not None else ""
    return f"{prefix}-{stamp}-{compact}{tail}{ext}"


def candidates(target: Path) -> Iterable[Path]:
    """``target``, then ``<stem>.2<ext>``, ``<stem>.3<ext>``, … (never the same name twice)."""
    yield target
    for n in range(2, _MAX_SUFFIX):
        yield target.with_name(f"{target.stem}.{n}{target.suffix}")


def _claim(link: Callable[[Path], None], target: Path) -> Path:
    """``link`` the finished file to ``target`` or the next free name; where it went."""
    for candidate in candidates(target):
        try:
            link(candidate)
        except FileExistsError:
            continue
        return candidate
    raise FileExistsError(f"{target}: no free name left beside it")


class StagedFile:
    """An output on its way to ``target``: written, then placed (synced to disk, then
    named, never over another file) or discarded (nothing is left)."""

    def __init__(self, target: Path) -> None:
        self.target = target
        fd, self._tmp = staged_file_beside(target, ".part")
        self._file = os.fdopen(fd, "wb")
        self._placing = False

    def write(self, chunk: bytes) -> None:
        self._file.write(chunk)

    def place(self) -> Path:
        """Make the bytes durable, then give them their name (never the reverse: a crash
        must not leave a name on a file whose bytes were not on disk); where it went."""
        self._placing = True  # from here on the file is this call's to close
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
            fd = self._file.fileno()
            return _claim(lambda name: link_staged(fd, self._tmp, name), self.target)
        except BaseException:
            self._remove_tmp()
            raise
        finally:
            self._file.close()

    def discard(self) -> None:
        """Drop the bytes (an error or an interruption before :meth:`place`; never once the
        file is handed to a placer on another thread: it is the placer's then)."""
        if not self._placing:
            self._file.close()
            self._remove_tmp()

    def _remove_tmp(self) -> None:
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)


#: Places a finished :class:`StagedFile` and says where it went (a batch makes it durable in
#: its journal's commit, see :meth:`~runway_dynamic.batch.writer.LocalJournalWriter.place`).
#: It owns the file from the call on: it places it, or discards it if it gives up first
#: (another thread may be writing it to disk when its caller is cancelled).
Placer = Callable[[StagedFile], Awaitable[Path]]


def write_stream(chunks: Iterable[bytes], target: Path) -> Path:
    """Write ``chunks`` to a staged file beside ``target``, then claim the name."""
    staged = StagedFile(target)
    try:
        for chunk in chunks:
            staged.write(chunk)
        return staged.place()
    except BaseException:
        staged.discard()
        raise


async def awrite_stream(chunks: AsyncIterable[bytes], target: Path, *,
                        place: Placer | None = None) -> Path:
    """The async twin of :func:`write_stream`. Chunk writes stay on the loop (they land in
    the page cache); the fsync and the naming wait for the disk, so they run in a thread,
    in one hand-off (each costs CPU on both sides), while a batch's other downloads and
    polls go on; ``place`` does that instead (it must make the file durable before it
    names it, as :meth:`StagedFile.place` does)."""
    import asyncio

    staged = StagedFile(target)
    try:
        async for chunk in chunks:
            staged.write(chunk)
    except BaseException:
        staged.discard()
        raise
    if place is not None:
        return await place(staged)
    # cancelled meanwhile, the thread still places the file: complete, under its name
    return await asyncio.get_running_loop().run_in_executor(None, staged.place)
