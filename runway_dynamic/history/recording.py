"""What a client tells the history: one entry per create request, then what became of it.

The client calls a :class:`Recorder` at four points, the same for the sync and the async
client (both go through ``client._ClientCore``):

1. :meth:`Recorder.begin` just before a task-creating request leaves (status ``SENDING``);
2. :meth:`Recorder.answered`, :meth:`Recorder.lost`, :meth:`Recorder.refused` or
   :meth:`Recorder.not_sent` once the request is over;
3. :meth:`Recorder.observed` after every poll of a task (or an invocation): its status,
   failure and output URLs, written when they change;
4. :meth:`Recorder.saved` for each output saved to disk.

What is kept of a body: the body as sent, except media values. A ``data:`` URI this
process made from a local file becomes that file's path (the bytes are never kept; one it
did not make becomes a short note of its type and size, and so does one typed into the
command line). ``runway://`` URIs and URLs are kept as sent, and the local file behind an
upload is noted beside it in ``media``, so that ``runway history rerun`` can send the file
again. The key is masked wherever it
appears (``scrub``).

A history that cannot be written never fails a request: the recorder warns once and stops.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from runway_dynamic._constants import MODEL_PROPERTY
from runway_dynamic._exceptions import HistoryError
from runway_dynamic.history.store import (
    ANSWER_LOST,
    REJECTED,
    SUBMITTED,
    HistoryStore,
)
from runway_dynamic.naming import endpoint_name

if TYPE_CHECKING:
    from runway_dynamic._http import PreparedRequest
    from runway_dynamic.catalog import Catalog, Operation


def _warn(message: str, *args: object) -> None:
    """Log on the package's logger; :mod:`logging` loads only when there is something to
    say (listing the history should not pay for it)."""
    import logging

    logging.getLogger("runway_dynamic").warning(message, *args)


#: Where a value sits in a body: keys and list indexes from the top.
BodyPath = tuple[str | int, ...]

#: A batch job being submitted in this context: ``(journal, job key)`` (see :func:`batch_job`).
_batch_job: ContextVar[tuple[str, str] | None] = ContextVar("runway_history_batch_job",
                                                            default=None)


@contextlib.contextmanager
def batch_job(journal: str, job: str) -> Iterator[None]:
    """Creates made inside this block belong to a batch job: their entries link to the
    job's journal (``journal``, ``job``) instead of copying its body, which the journal
    keeps. The prompt is kept, for search."""
    token = _batch_job.set((journal, job))
    try:
        yield
    finally:
        _batch_job.reset(token)


def records(catalog: Catalog, operation: Operation) -> bool:
    """Whether a request to ``operation`` is recorded: one that creates a task, or runs an
    item (``POST workflows/{id}`` starts an invocation, followed until it settles)."""
    from runway_dynamic.catalog import CREATES_RESOURCE, CREATES_TASK

    if operation.kind == CREATES_TASK:  # the catalog's one answer to "does it make a task?"
        return True
    # a create on an item whose result has a reader: POST workflows/{id} starts a run
    return (operation.kind == CREATES_RESOURCE and operation.endpoint.endswith("}")
            and operation.result_endpoint is not None)


# --------------------------------------------------------------------------- bodies


def _is_reference(value: str) -> bool:
    from runway_dynamic.uploads import is_uri

    return is_uri(value)


def prompt_text(body: Any) -> str | None:
    """The prompts of a body, one per line: every text under a key that names a prompt or
    a text (``promptText``, ``prompt``, ``negativePrompt``, ``text``…), URIs left out."""
    found: list[str] = []

    def walk(value: Any, key: str | None) -> None:
        if isinstance(value, str):
            lowered = (key or "").lower()
            if ("prompt" in lowered or "text" in lowered) and value.strip() and (
                    not _is_reference(value)):
                found.append(value)
        elif isinstance(value, Mapping):
            for name, item in value.items():
                walk(item, str(name))
        elif isinstance(value, list):
            for item in value:
                walk(item, key)

    walk(body, None)
    return "\n".join(dict.fromkeys(found)) or None


def _data_note(value: str) -> str:
    """What a ``data:`` URI of unknown origin becomes: its type and size, not its bytes."""
    head, _, payload = value.partition(",")
    mime = head[5:].split(";")[0] or "application/octet-stream"
    size = len(payload) * 3 // 4 if head.endswith(";base64") else len(payload)
    return f"<inlined {mime}, {size:,} bytes, not kept>"


#: A ``data:`` URI typed into a command line (``--body '{"promptImage": "data:…"}'``).
_DATA_URI = re.compile(r"data:[\w.+-]*/?[\w.+-]*(?:;[\w=.+-]+)*,[A-Za-z0-9+/=%_-]+")


def keepable_command(command: str | None) -> str | None:
    """A command line as the history keeps it: a ``data:`` URI typed into it becomes a note
    of its type and size, as in the body (the bytes are never kept)."""
    if command is None or "data:" not in command:
        return command
    return _DATA_URI.sub(lambda match: _data_note(match.group(0)), command)


def keepable_body(body: Any) -> tuple[Any, list[dict[str, Any]]]:
    """``body`` as the history keeps it, and a note per media value whose file is known.

    ``data:`` URIs become the path they were made from (or a note of type and size);
    ``runway://`` URIs stay, with the file they were uploaded from noted in the list.
    """
    from runway_dynamic.uploads import origin_of

    media: list[dict[str, Any]] = []

    def walk(value: Any, where: BodyPath) -> Any:
        if isinstance(value, str):
            lowered = value[:10].lower()
            if lowered.startswith("data:"):
                origin = origin_of(value)
                media.append({"at": list(where), "sent": _data_note(value), "file": origin,
                              "how": "inline"})
                return origin if origin is not None else _data_note(value)
            if lowered.startswith("runway:"):
                origin = origin_of(value)
                if origin is not None:
                    media.append({"at": list(where), "sent": value, "file": origin,
                                  "how": "upload"})
            return value
        if isinstance(value, Mapping):
            return {str(k): walk(v, (*where, str(k))) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, (*where, i)) for i, v in enumerate(value)]
        return value

    return walk(body, ()), media


def concrete_endpoint(prepared: PreparedRequest, operation: Operation) -> str:
    """The endpoint with its path parameters filled in (``workflows/3f…``), as called."""
    from urllib.parse import unquote, urlsplit

    if "{" not in operation.path:
        return operation.endpoint
    depth = operation.path.strip("/").count("/") + 1
    parts = urlsplit(prepared.url).path.strip("/").split("/")
    return endpoint_name("/" + "/".join(unquote(p) for p in parts[-depth:]))


# --------------------------------------------------------------------------- the recorder


class Recorder:
    """One client's link to a :class:`HistoryStore` (see the module docstring).

    ``sandbox`` marks every entry as a sandbox rehearsal; ``spec_sha`` names the spec the
    request was built from; ``scrub`` masks the key in anything stored.
    """

    def __init__(self, store: HistoryStore, catalog: Catalog, *, sandbox: bool,
                 spec_sha: str | None, scrub: Callable[[Any], Any] = lambda value: value
                 ) -> None:
        self.store = store
        self._catalog = catalog
        self.sandbox = sandbox
        self.spec_sha = spec_sha
        self._scrub = scrub
        self._broken = False
        #: The last (status, outputs) written per task id: polls write only on a change.
        self._seen: dict[str, tuple[Any, ...]] = {}
        #: Output URL → task id, from the polls, for downloads that give only the URL.
        self._by_output: dict[str, str] = {}

    def _safely(self, what: str, action: Callable[[], Any]) -> Any:
        """Run one store call; a broken history is reported once, then left alone."""
        if self._broken:
            return None
        try:
            return action()
        except HistoryError as exc:
            self._broken = True
            _warn("history: not recording any more (%s)", exc)
        except Exception as exc:  # a bug here must not cost the user a paid request
            self._broken = True
            _warn("history: not recording any more (%s failed: %s: %s)",
                           what, type(exc).__name__, exc)
        return None

    # ------------------------------------------------------------------ creates

    def begin(self, prepared: PreparedRequest) -> int | None:
        """Write the entry of a create about to be sent; its id (``None``: not recorded)."""
        operation = prepared.operation
        if self._broken or operation is None or not records(self._catalog, operation):
            return None
        sent = self._scrub(prepared.json)
        link = _batch_job.get()
        model = sent.get(MODEL_PROPERTY) if isinstance(sent, Mapping) else None
        fields: dict[str, Any] = {
            "endpoint": concrete_endpoint(prepared, operation), "method": operation.method,
            "model": model if isinstance(model, str) else None, "prompt": prompt_text(sent),
            "sandbox": self.sandbox, "spec_sha": self.spec_sha,
            "command": keepable_command(self._scrub(self.store.command)),
        }
        if link is not None:
            fields["batch_journal"], fields["batch_job"] = link
        else:
            fields["body"], fields["media"] = keepable_body(sent)
        found: int | None = self._safely("begin", lambda: self.store.add(**fields))
        return found

    def answered(self, entry_id: int, answer: Any) -> None:
        """The create succeeded: its task id (and status, when the answer says)."""
        if not isinstance(answer, Mapping) or "id" not in answer:
            self.lost(entry_id, "the answer named no task id")
            return
        status = answer.get("status")
        self._safely("answered", lambda: self.store.update(
            entry_id, task_id=str(answer["id"]),
            status=str(status) if isinstance(status, str) else SUBMITTED))

    def lost(self, entry_id: int, reason: str) -> None:
        """The request may have reached Runway but its answer never came."""
        self._safely("lost", lambda: self.store.update(
            entry_id, status=ANSWER_LOST, failure=str(self._scrub(reason))))

    def refused(self, entry_id: int, reason: str, code: str | None = None) -> None:
        """The API answered with an error: no task was made."""
        self._safely("refused", lambda: self.store.update(
            entry_id, status=REJECTED, failure=str(self._scrub(reason)), failure_code=code))

    def not_sent(self, entry_id: int) -> None:
        """The request never left (connection refused, DNS): like pre-flight, no entry."""
        self._safely("not_sent", lambda: self.store.remove(entry_id))

    # ------------------------------------------------------------------ follow-ups

    def observed(self, resource: Mapping[str, Any]) -> None:
        """A poll's answer for a task or an invocation: record a new status or outputs."""
        task_id = resource.get("id")
        status = resource.get("status")
        if not isinstance(task_id, str) or not isinstance(status, str):
            return
        output = resource.get("output")
        outputs = [str(u) for u in output] if isinstance(output, list) else []
        for url in outputs:
            self._by_output[url] = task_id
        state = (status, tuple(outputs))
        if self._seen.get(task_id) == state:
            return
        self._seen[task_id] = state
        changes: dict[str, Any] = {"status": status}
        if outputs:
            changes["outputs"] = outputs
        failure, code = resource.get("failure"), resource.get("failureCode")
        if failure is not None or code is not None:
            changes["failure"] = None if failure is None else str(self._scrub(str(failure)))
            changes["failure_code"] = None if code is None else str(code)
        self._safely("observed", lambda: self.store.update_task(task_id, **changes))

    def saved(self, paths: Iterable[str], *, task_id: str | None = None,
              url: str | None = None) -> None:
        """Outputs saved to disk, for ``task_id`` or for the output ``url``."""
        task_id = task_id or (self._by_output.get(url) if url else None)
        # absolute: 'history open' and 'gallery --from-history' run from anywhere
        files = [os.path.abspath(p) for p in paths]
        if task_id is None and url is None:
            return
        self._safely("saved", lambda: self.store.add_files(files, task_id=task_id, output=url))
