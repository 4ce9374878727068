"""Atomic file writes: the one place that decides how a file appears on disk.

Bytes go to a hidden temporary file beside the target, are flushed and fsynced, and only
then take the final name, so a reader (or a crash) never sees half a file. (A cache whose
reader checks a digest may skip the fsync: a crash can leave it torn, never trusted.)
Two ways to take the name: :func:`atomic_write_bytes` replaces what is there (config,
credentials, plans, the derived index); :func:`link_new` never replaces anything
(downloads, a new journal). Downloads start unnamed where Linux allows it
(:func:`staged_file_beside`, ``O_TMPFILE``): no temporary name is made and removed per
file, and a crash leaves no ``.part`` behind.
Failures are :class:`~runway_dynamic._exceptions.FileWriteError` naming the path, whatever
the file is for.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from runway_dynamic._exceptions import FileWriteError, LocalPathError


def ordinary_file_mode() -> int:
    """The mode a plain ``open()`` would give: 0666 less the umask (mkstemp's 0600 is only
    right for secrets, which ask for it explicitly)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def temp_file_beside(target: Path, suffix: str = ".tmp") -> tuple[int, Path]:
    """An open, empty ``.<name>.*<suffix>`` file in ``target``'s directory (created if
    missing), with ordinary permissions: ``(fd, path)``. Raises :class:`OSError`."""
    import tempfile  # only writers need it; warm starts only read

    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent)
    os.fchmod(fd, ordinary_file_mode())
    return fd, Path(tmp)


#: Whether unnamed files can be made and then named here: Linux's ``O_TMPFILE``, named
#: through ``/proc/self/fd`` (elsewhere a hidden temporary file stands in).
_UNNAMED = hasattr(os, "O_TMPFILE") and os.path.isdir("/proc/self/fd")


def staged_file_beside(target: Path, suffix: str = ".tmp") -> tuple[int, Path | None]:
    """An open file for bytes that take the name ``target`` (or one beside it) only once
    complete: ``(fd, None)`` for an unnamed file in its directory where the system has
    them (no name is made and removed again, and a crash leaves nothing behind), else
    :func:`temp_file_beside`'s ``(fd, path)``. Name it with :func:`link_staged`."""
    if _UNNAMED:
        flags = os.O_TMPFILE | os.O_WRONLY | os.O_CLOEXEC
        try:
            try:
                return os.open(target.parent, flags, 0o666), None  # the umask applies
            except FileNotFoundError:
                target.parent.mkdir(parents=True, exist_ok=True)
                return os.open(target.parent, flags, 0o666), None
        except OSError as exc:
            if exc.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
                raise  # a file system without unnamed files says one of those
    return temp_file_beside(target, suffix)


def link_staged(fd: int, tmp: Path | None, target: Path) -> None:
    """Give a finished file of :func:`staged_file_beside` the name ``target`` only if no
    file has it (:class:`FileExistsError` otherwise), as :func:`link_new` does."""
    if tmp is not None:
        link_new(tmp, target)
        return
    # linkat(AT_SYMLINK_FOLLOW) names the open file; os.link calls plain link(), which
    # does not follow /proc's link, unless a directory fd is given (ignored by the kernel
    # for an absolute path, as this one is)
    os.link(f"/proc/self/fd/{fd}", target, src_dir_fd=fd, follow_symlinks=True)


def atomic_write_bytes(path: Path, data: bytes, mode: int | None = None, *,
                       durable: bool = True) -> None:
    """Write ``data`` beside ``path`` and rename it into place, replacing any old file.

    ``mode`` defaults to :func:`ordinary_file_mode`; credentials pass ``0o600``.
    ``durable=False`` skips waiting for the disk (fsync): only for a file whose reader
    detects damage and can make it again (the derived index, with its digest), since after
    a power loss the renamed file may hold less than was written.
    """
    try:
        fd, tmp = temp_file_beside(path)
    except OSError as exc:
        raise FileWriteError(path.parent, exc.strerror) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise FileWriteError(path, exc.strerror) from None


def link_new(finished: Path, target: Path) -> None:
    """Give the finished file ``finished`` the name ``target`` only if no file has it.

    The claim is atomic (a hard link fails if the name exists, even one that appeared a
    moment ago); on file systems without hard links an exists-check + rename stands in.
    ``finished`` is gone afterwards; :class:`FileExistsError` leaves it in place.
    """
    try:
        os.link(finished, target)
    except FileExistsError:
        raise
    except OSError:  # no hard links here (some network/FAT file systems)
        if target.exists():
            raise FileExistsError(target) from None
        os.replace(finished, target)
        return
    finished.unlink()


# --------------------------------------------------------------------------- checks first


def check_writable_dir(directory: Path, what: str = "directory") -> None:
    """Create ``directory`` if needed and prove a file can be made in it (and removed).

    Commands call this before anything is sent, so a bad ``--output-dir`` costs nothing:
    :class:`LocalPathError` (exit 2) says what is wrong with it.
    """
    import tempfile

    if directory.exists() and not directory.is_dir():
        raise LocalPathError(what, directory, "is a file, not a directory")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".runway-write-check.", dir=directory)
    except OSError as exc:
        raise LocalPathError(what, directory, _why(exc)) from None
    os.close(fd)
    os.unlink(probe)


def check_writable_file(path: Path, what: str = "file") -> None:
    """The file ``path`` can be written (its folder is usable and it is not a folder)."""
    if path.is_dir():
        raise LocalPathError(what, path, "is a directory, not a file")
    check_writable_dir(path.parent if str(path.parent) else Path("."), f"{what}'s folder")


def _why(exc: OSError) -> str:
    if isinstance(exc, (FileExistsError, NotADirectoryError)):
        return "a part of the path is a file, not a directory"
    return (exc.strerror or str(exc)).lower()
