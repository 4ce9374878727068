"""Safe spec updates: review a new spec against the one it replaces; keep one step back.

``runway spec pull`` saves the downloaded spec at :func:`~runway_dynamic.sources.pulled_spec_path`.
Before it replaces the spec in use, :func:`review_update` compares the two catalogs
(:mod:`runway_dynamic.spec_diff`) and names what makes the update unsafe; the caller refuses
unless forced (:class:`SpecUpdateRefused`). Refused:

- a spec with no model endpoints (nothing left to generate with);
- a spec without an operation the client itself calls (:data:`CLIENT_OPERATIONS`): without
  ``GET tasks/{id}``, ``--wait`` would fail only after the paid submit;
- a spec that removes more than :data:`MAX_REMOVED_SHARE` of the operations in use
  (a truncated or wrong document, not an API release: Runway adds far more than it drops).

:func:`install` keeps the replaced spec (or notes that the bundled snapshot was in use) and
:func:`rollback` swaps back, so a second rollback undoes the first. Each file is replaced
atomically, with its ETag beside it, so a conditional pull after a rollback asks for
changes against the spec really in use.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runway_dynamic._constants import TASK_ENDPOINT, UPLOADS_ENDPOINT
from runway_dynamic._exceptions import SpecError
from runway_dynamic._files import atomic_write_bytes
from runway_dynamic.catalog import Catalog
from runway_dynamic.sources import pulled_spec_path
from runway_dynamic.spec_diff import SpecDiff, diff_catalogs

#: (method, endpoint, what needs it): operations the client calls on its own.
CLIENT_OPERATIONS: tuple[tuple[str, str, str], ...] = (
    ("GET", TASK_ENDPOINT, "following a task (--wait, task get)"),
    ("DELETE", TASK_ENDPOINT, "cancelling a task"),
    ("POST", UPLOADS_ENDPOINT, "uploading local media files"),
)
#: An update that removes more than this share of the operations in use is refused.
MAX_REMOVED_SHARE = 0.25


class SpecUpdateRefused(SpecError):
    """A new spec was not installed: the review found it unsafe (``--force`` installs it)."""

    def __init__(self, reasons: tuple[str, ...], diff: SpecDiff, *, source: str) -> None:
        super().__init__("not installed: " + "; ".join(reasons) +
                         " (the spec in use is unchanged; --force installs it anyway)",
                         source=source)
        self.reasons = reasons
        self.diff = diff

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "reasons": list(self.reasons),
                "counts": self.diff.counts()}


@dataclass(frozen=True)
class UpdateReview:
    """What an update changes, and why it would be refused (empty: safe)."""

    diff: SpecDiff
    reasons: tuple[str, ...]

    @property
    def safe(self) -> bool:
        return not self.reasons


def review_update(current: Catalog, new: Catalog) -> UpdateReview:
    """Compare ``new`` with the spec in use and list what makes replacing it unsafe."""
    diff = diff_catalogs(current, new)
    reasons: list[str] = []
    if not new.endpoints():
        reasons.append("it has no model endpoints")
    for method, endpoint, needed_for in CLIENT_OPERATIONS:
        if new.operation(endpoint, method) is None:
            reasons.append(f"it lacks {method} {endpoint}, needed for {needed_for}")
    removed = diff.counts().get("operation_removed", 0)
    if current.operations and removed / len(current.operations) > MAX_REMOVED_SHARE:
        reasons.append(f"it removes {removed} of {len(current.operations)} operations "
                       f"(more than {MAX_REMOVED_SHARE:.0%})")
    return UpdateReview(diff, tuple(reasons))


# --------------------------------------------------------------------------- files


def previous_spec_path() -> Path:
    """Where the spec replaced by the last pull (or rollback) is kept."""
    active = pulled_spec_path()
    return active.with_name(active.stem + ".previous" + active.suffix)


def _none_marker() -> Path:
    """Present when the previous state had no pulled spec (the bundled one was in use)."""
    return previous_spec_path().with_suffix(".none")


def etag_path(spec_path: Path) -> Path:
    """The ETag kept beside a pulled spec file (JSON: url and etag)."""
    return spec_path.with_name(spec_path.name + ".etag")


def has_previous() -> bool:
    return previous_spec_path().is_file() or _none_marker().is_file()


def install(data: bytes, etag_record: bytes | None) -> None:
    """Make ``data`` the pulled spec (with its ETag record, if any); keep the one it
    replaces as the previous state."""
    active, previous = pulled_spec_path(), previous_spec_path()
    if active.is_file():
        atomic_write_bytes(previous, active.read_bytes())
        _copy_or_remove(etag_path(active), etag_path(previous))
        _none_marker().unlink(missing_ok=True)
    else:
        atomic_write_bytes(_none_marker(), b"")
        previous.unlink(missing_ok=True)
        etag_path(previous).unlink(missing_ok=True)
    atomic_write_bytes(active, data)
    if etag_record is None:
        etag_path(active).unlink(missing_ok=True)
    else:
        atomic_write_bytes(etag_path(active), etag_record)


def previous_bytes() -> bytes | None:
    """The previous pulled spec's bytes; ``None`` when the previous state is the bundled
    snapshot. :class:`SpecError` when there is no previous state."""
    if previous_spec_path().is_file():
        return previous_spec_path().read_bytes()
    if _none_marker().is_file():
        return None
    raise SpecError("no previous spec to roll back to (a 'runway spec pull' keeps the one it "
                    "replaces)", source=str(previous_spec_path()))


def rollback() -> None:
    """Swap the pulled spec and the previous state (a second rollback undoes the first)."""
    active, previous = pulled_spec_path(), previous_spec_path()
    to_active = previous_bytes()  # raises when there is nothing to go back to
    to_active_etag = _read(etag_path(previous))
    to_previous = _read(active)
    to_previous_etag = _read(etag_path(active))
    # Keep the state being left first, then put the previous one in place.
    if to_previous is None:
        atomic_write_bytes(_none_marker(), b"")
        previous.unlink(missing_ok=True)
        etag_path(previous).unlink(missing_ok=True)
    else:
        atomic_write_bytes(previous, to_previous)
        _write_or_remove(etag_path(previous), to_previous_etag)
        _none_marker().unlink(missing_ok=True)
    if to_active is None:
        active.unlink(missing_ok=True)
        etag_path(active).unlink(missing_ok=True)
    else:
        atomic_write_bytes(active, to_active)
        _write_or_remove(etag_path(active), to_active_etag)


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _write_or_remove(path: Path, data: bytes | None) -> None:
    if data is None:
        path.unlink(missing_ok=True)
    else:
        atomic_write_bytes(path, data)


def _copy_or_remove(source: Path, target: Path) -> None:
    _write_or_remove(target, _read(source))


__all__ = ["CLIENT_OPERATIONS", "MAX_REMOVED_SHARE", "SpecUpdateRefused", "UpdateReview",
           "has_previous", "install", "previous_bytes", "previous_spec_path", "review_update",
           "rollback"]
