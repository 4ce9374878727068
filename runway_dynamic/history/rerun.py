"""The body to send again for an entry (``runway history rerun``).

The entry keeps the body as sent, with inlined files as their paths. An uploaded file was
kept as its ``runway://`` URI, which expires (and a sandbox's never existed on Runway): when
the file it came from is still there, the rerun sends that file instead, inlined or
uploaded by today's rules, like the original command did.
"""

from __future__ import annotations

import copy
import os
from typing import Any

from runway_dynamic._exceptions import UsageError
from runway_dynamic.history.store import Entry


def _label(where: list[Any]) -> str:
    out = ""
    for step in where:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out


def rerun_body(entry: Entry) -> tuple[Any, list[str]]:
    """The body to send again and notes for the user (files resent, files gone)."""
    if entry.body is None:
        if entry.batch_journal is not None:
            raise UsageError(
                f"entry {entry.id} is job {entry.batch_job!r} of the batch journal "
                f"{entry.batch_journal}, which keeps its body: rerun it from there "
                "('runway batch retry-failed' or a new jobs file)")
        raise UsageError(f"entry {entry.id} kept no body to send again")
    body = copy.deepcopy(entry.body)
    notes: list[str] = []
    for item in entry.media:
        where, file = list(item.get("at") or []), item.get("file")
        label = _label(where)
        if item.get("how") == "upload" and isinstance(file, str):
            if os.path.isfile(file):
                _put(body, where, file)
                notes.append(f"{label}: sending {file} again (it was uploaded as "
                             f"{item.get('sent')})")
            elif entry.sandbox:
                notes.append(f"{label}: {file} is gone, and {item.get('sent')} was a sandbox "
                             "upload: give the file again with its flag")
            else:
                notes.append(f"{label}: {file} is gone; sending {item.get('sent')} as before "
                             "(an upload expires after a while)")
        elif item.get("how") == "inline" and file is None:
            notes.append(f"{label} was a file inlined without a known path: give it again "
                         "with its flag")
    return body, notes


def _put(body: Any, where: list[Any], value: str) -> None:
    node = body
    for step in where[:-1]:
        node = node[step]
    if where:
        node[where[-1]] = value
