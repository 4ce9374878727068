"""A local history of every task-creating request: find, inspect, rerun and reconcile.

The store (:class:`HistoryStore`) is one SQLite file in the user data directory; a client
records into it when made with ``history=`` (``RunwayClient(history=True)``, a path, or a
store), and the CLI turns it on for every command that creates tasks (``--no-history`` or
``runway config set history off`` turn it off).

>>> from runway_dynamic import RunwayClient
>>> with RunwayClient(history=True) as client:
...     task = client.generate("text_to_image", model="gen4_image", promptText="a kite",
...                            ratio="1920:1080")
>>> from runway_dynamic.history import HistoryStore
>>> [entry.task_id for entry in HistoryStore().search("kite")]
"""

from __future__ import annotations

from runway_dynamic.history.recording import Recorder, batch_job, records
from runway_dynamic.history.store import (
    ANSWER_LOST,
    NO_TASK,
    REJECTED,
    SENDING,
    SUBMITTED,
    Entry,
    Filters,
    HistoryStore,
    default_path,
)

__all__ = [
    "ANSWER_LOST",
    "NO_TASK",
    "REJECTED",
    "SENDING",
    "SUBMITTED",
    "Entry",
    "Filters",
    "HistoryStore",
    "Recorder",
    "batch_job",
    "default_path",
    "records",
]
