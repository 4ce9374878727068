"""Task status words: which mean "still moving" and which name an end.

Kept apart from :mod:`runway_dynamic.tasks` (the poller) so that readers of a status, such
as the history, need not import the catalog to ask it.
"""

from __future__ import annotations

#: Terminal task statuses, used when a spec's task schema names none.
TASK_TERMINAL = frozenset({"SUCCEEDED", "FAILED", "CANCELLED"})
#: Status words that mean "not settled yet, keep polling" (compared case-insensitively).
#: Anything else a schema lists (SUCCEEDED, READY, COMPLETED, FAILED, ended, …) is terminal.
IN_PROGRESS_STATUSES = frozenset(
    {"PENDING", "THROTTLED", "RUNNING", "PROCESSING", "NOT_READY", "QUEUED", "IN_PROGRESS",
     "STARTING", "SUBMITTED"}
)
FAILED_STATUSES = frozenset({"FAILED", "ERROR", "ERRORED"})
CANCELLED_STATUSES = frozenset({"CANCELLED", "CANCELED"})


def in_progress(status: str) -> bool:
    """The status word means the task is still moving (the one rule for every status the
    API may name, in any spec version)."""
    return status.upper() in IN_PROGRESS_STATUSES
