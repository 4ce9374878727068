"""The API semantics: routes every catalog operation, validates, keeps state, injects faults.

:class:`SandboxApp` turns one :class:`Request` into a :class:`Response` with no sockets (so
it is testable alone and the only place with API semantics); :mod:`.asgi` serves it over
HTTP. :meth:`SandboxApp.handle` answers synchronously, :meth:`SandboxApp.ahandle` does the
same on an event loop (a ``delay`` fault sleeps without blocking other requests).

What an operation does is the catalog's answer (:attr:`Operation.kind
<runway_dynamic.catalog.Operation.kind>`, the one rule the client and the CLI ask too):
a create of a resource is kept in its collection and read at the item path the catalog
names, a create of a task makes a task, reads, lists, updates and deletes act on the
records; the path's shape says where records live. Only tasks, uploads and the
organization get dedicated logic.

Everything refused is refused because the spec says so: unknown model ids (400, as Runway
answers, though the client lets them through with a warning), bodies the pre-flight
rejects, and media beyond :func:`~runway_dynamic.media_limits.media_limits` (uploads of a
type the spec's media fields do not take, or larger than the upload cap).
"""

from __future__ import annotations

import asyncio
import copy
import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import orjson

from runway_dynamic._constants import RATIO_PROPERTY, UPLOADS_ENDPOINT
from runway_dynamic.catalog import (
    CREATES_RESOURCE,
    CREATES_TASK,
    DELETES,
    LISTS,
    READS,
    UPDATES,
    Operation,
    flatten_object,
)
from runway_dynamic.media_limits import MediaLimits, human_size, media_limits
from runway_dynamic.naming import endpoint_name
from runway_dynamic.sandbox import media
from runway_dynamic.sandbox.examples import Context, conform, example, iso, matches, now_iso
from runway_dynamic.sandbox.faults import (
    HEADER as FAULT_HEADER,
)
from runway_dynamic.sandbox.faults import (
    Fault,
    FaultCounters,
    FaultSyntaxError,
    effective_fault,
    parse_fault,
)
from runway_dynamic.sandbox.multipart import Form, read_form
from runway_dynamic.sandbox.state import (
    LimitReached,
    OrgLimits,
    RequestRecord,
    SandboxState,
    Task,
    failure_message,
    lifecycle_status,
)
from runway_dynamic.spec import Spec

SANDBOX_PREFIX = "/_sandbox"
FILES_PREFIX = SANDBOX_PREFIX + "/files/"
UPLOAD_PREFIX = SANDBOX_PREFIX + "/upload/"
TASKS_PATH = SANDBOX_PREFIX + "/tasks"
STATS_PATH = SANDBOX_PREFIX + "/stats"
EXAMPLE_FILE_ID = "example"
UPLOAD_COLLECTION = UPLOADS_ENDPOINT
TASK_COLLECTION = "tasks"
ORGANIZATION = "organization"
#: How the sandbox serves an operation of each kind (Operation.kind, decided by the
#: catalog) on an item path (/v1/X/{id}) and on a collection (/v1/X).
_ITEM_ACTIONS = {READS: "get", UPDATES: "update", DELETES: "delete", CREATES_TASK: "task"}
_COLLECTION_ACTIONS = {CREATES_RESOURCE: "create", CREATES_TASK: "task", LISTS: "list"}
#: Reported as a limit's value when the sandbox enforces none.
UNLIMITED = 1_000_000_000
MAX_OUTPUTS = 8
_OUTPUT_COUNT_FIELDS = ("outputCount", "numberOfOutputs", "numOutputs")
_RATIO_FIELDS = (RATIO_PROPERTY, "aspectRatio")
_KIND_WORDS = (("video", ("video",)), ("image", ("image",)),
               ("audio", ("audio", "speech", "sound", "voice")))
#: The pre-flight's problem kind for a model id the spec does not list.
UNKNOWN_MODEL = "unknown_model"
_PARAM = re.compile(r"\{([^}/]+)\}")
_JSON = "application/json"
#: Request headers whose values the request log never keeps whole.
_REDACTED = ("authorization", "cookie")


class Headers(dict[str, str]):
    """Headers by lower-case name, looked up in any case (``headers["Authorization"]``)."""

    def __init__(self, items: Any = ()) -> None:
        pairs = items.items() if isinstance(items, Mapping) else items
        super().__init__((str(k).lower(), v) for k, v in pairs)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return super().__contains__(key.lower() if isinstance(key, str) else key)

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)

    @classmethod
    def lowered(cls, pairs: Iterable[tuple[str, str]]) -> Headers:
        """Headers from pairs whose names are lower-case already (an ASGI server's, or
        another ``Headers``'), without lowering each again."""
        headers = cls()
        dict.update(headers, pairs)
        return headers


@dataclass
class Request:
    """An HTTP request as the app needs it."""

    method: str
    target: str
    headers: Mapping[str, str]
    body: bytes = b""
    fault_headers: tuple[str, ...] = ()
    #: An upload form the server already streamed to disk (``body`` is then empty).
    form: Form | None = None

    @cached_property
    def path(self) -> str:
        return urlsplit(self.target).path

    @cached_property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.target).query, keep_blank_values=True)

    def header(self, name: str) -> str | None:
        found = self.headers.get(name.lower())
        if found is not None:
            return found
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


@dataclass
class Response:
    """What to send back; ``drop`` closes the connection without any response."""

    status: int
    body: bytes = b""
    content_type: str | None = _JSON
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False


def json_response(status: int, data: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status, orjson.dumps(data), _JSON, dict(headers or {}))


@dataclass
class Route:
    """One operation with how the sandbox serves it."""

    op: Operation
    pattern: re.Pattern[str]
    action: str
    collection: str
    id_param: str | None = None
    id_field: str = "id"
    parent: str | None = None  # for sub-collections: the parent collection
    target: str | None = None  # where POST /v1/X/{id} invocations are kept

    @cached_property
    def params(self) -> tuple[tuple[str, str], ...]:
        """The path's parameter names, each with its regex group's name."""
        return tuple((name, _group(name)) for name in _PARAM.findall(self.op.path))

    @property
    def success(self) -> tuple[int, Any]:
        for status in sorted(self.op.responses):
            if status.startswith("2"):
                return int(status), self.op.responses[status]
        return 200, None


def _path_regex(path: str) -> re.Pattern[str]:
    parts = []
    for piece in re.split(r"(\{[^}/]+\})", path):
        match = _PARAM.fullmatch(piece)
        parts.append(f"(?P<{_group(match.group(1))}>[^/]+)" if match else re.escape(piece))
    return re.compile("^" + "".join(parts) + "/?$")


def _group(name: str) -> str:
    return "p_" + re.sub(r"\W", "_", name)


def _prefix(path: str) -> tuple[str, ...]:
    """A path's first two segments (``/v1/tasks/x`` → ``("v1", "tasks")``), one trailing
    slash aside (a route's pattern allows it)."""
    if path.endswith("/"):
        path = path[:-1]
    return tuple(path.split("/", 3)[1:3])


def _prefix_index(routes: list[Route]) -> tuple[dict[tuple[str, ...], list[Route]], list[Route]]:
    """The routes a path may match, by its :func:`_prefix` (in ``routes``' order, so the
    first match is the one a scan of all would find), and those for any other prefix:
    the routes with a parameter in their first two segments, which no prefix rules out."""
    def literal(route: Route) -> tuple[str, ...] | None:
        prefix = _prefix(route.op.path)
        return None if any("{" in piece for piece in prefix) else prefix

    anywhere = [r for r in routes if literal(r) is None]
    index: dict[tuple[str, ...], list[Route]] = {}
    for route in routes:
        key = literal(route)
        if key is not None and key not in index:
            index[key] = [r for r in routes if literal(r) in (key, None)]
    return index, anywhere


def output_kind(endpoint: str, fields: tuple[str, ...] = ()) -> str:
    """image, video or audio: from the endpoint's name (the part after ``_to_`` first).

    ``image_to_video`` → video, ``text_to_speech`` → audio; names without a media word fall
    back on the body: a ``duration`` means video, an image input alone means an image.
    """
    name = endpoint.rsplit("/", 1)[-1]
    for source in (name.split("_to_")[-1], name, endpoint):
        for kind, words in _KIND_WORDS:
            if any(word in source.lower() for word in words):
                return kind
    if "duration" in fields:
        return "video"
    if any("image" in f.lower() for f in fields):
        return "image"
    return "video"


def parse_ratio(body: Mapping[str, Any]) -> tuple[int, int] | None:
    """The ``W:H`` a body asks for (``ratio``/``aspectRatio``, top level or one level down)."""
    candidates: list[Any] = [body.get(name) for name in _RATIO_FIELDS]
    for value in body.values():
        if isinstance(value, Mapping):
            candidates += [value.get(name) for name in _RATIO_FIELDS]
    for value in candidates:
        if isinstance(value, str):
            width, sep, height = value.partition(":")
            if sep and width.isdigit() and height.isdigit() and int(width) and int(height):
                return int(width), int(height)
    return None


def issue_path(field_name: str | None) -> list[str | int]:
    """``referenceImages[0].uri`` → ``["referenceImages", 0, "uri"]``."""
    if not field_name:
        return []
    out: list[str | int] = []
    for name, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", field_name):
        out.append(int(index) if index else name)
    return out


def _walk_strings(
    value: Any, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, sub in value.items():
            yield from _walk_strings(sub, (*path, key))
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            yield from _walk_strings(sub, (*path, index))


class SandboxApp:
    """The API semantics: one :class:`Request` in, one :class:`Response` out."""

    def __init__(
        self,
        spec: Spec,
        state: SandboxState,
        *,
        base_url: Callable[[], str],
        task_seconds: float = 1.0,
        faults: list[str] | None = None,
        require_auth: bool = True,
        limits: OrgLimits | None = None,
        upload_max_bytes: int | None = None,
    ) -> None:
        self.spec = spec
        self.state = state
        self.base_url = base_url
        self.task_seconds = task_seconds
        self.require_auth = require_auth
        self.limits = limits if limits is not None else OrgLimits()
        #: What the spec says media may be; ``upload_max_bytes`` overrides the upload cap.
        self.media: MediaLimits = media_limits(spec.catalog)
        self.upload_max_bytes = (upload_max_bytes if upload_max_bytes is not None
                                 else self.media.upload_max_bytes)
        self.faults = [parse_fault(spec_text) for spec_text in faults or ()]
        self.counters = FaultCounters()
        self.routes = self._build_routes()
        self._by_prefix, self._any_prefix = _prefix_index(self.routes)
        self._item_schema = {r.collection: r.success[1] for r in self.routes if r.action == "get"}
        self._task_collections = {TASK_COLLECTION} | {r.target for r in self.routes if r.target}
        self._kinds: dict[tuple[str, str | None], str] = {}
        #: Compiled response-schema validators by ``id(schema)`` (the schema is kept, so
        #: its id is never reused); ``None`` where jsonschema-rs is missing or refuses it.
        self._validators: dict[int, tuple[Any, Any]] = {}
        self._seed()

    # ------------------------------------------------------------------ routing table

    def _build_routes(self) -> list[Route]:
        routes = [self._route(op) for op in self.spec.catalog.operations]
        # literal segments win over parameters (/v1/voices/preview before /v1/voices/{id})
        routes.sort(key=lambda r: (-len(_PARAM.sub("", r.op.path)), r.op.path))
        return routes

    def _route(self, op: Operation) -> Route:
        """How the sandbox serves ``op``: what the operation does is the catalog's answer
        (:attr:`Operation.kind`); the path's shape says where its records live."""
        head, _, last = op.path.rpartition("/")
        item = _PARAM.fullmatch(last)
        pattern = _path_regex(op.path)
        success = next((op.responses[s] for s in sorted(op.responses) if s.startswith("2")), None)
        if item and not _PARAM.search(head):
            collection, param = endpoint_name(head), item.group(1)
            id_field = param if param in flatten_object(success or {})[0] else "id"
            action = _ITEM_ACTIONS.get(op.kind, "generic")
            target = None
            if op.kind == CREATES_RESOURCE and op.result_endpoint:  # workflows/{id} runs
                action, target = "invoke", endpoint_name(op.result_endpoint.rsplit("/", 1)[0])
            return Route(op, pattern, action, collection, param, id_field, target=target)
        if _PARAM.search(op.path):  # a sub-collection such as /v1/routers/{id}/requests
            parent_match = _PARAM.search(op.path)
            assert parent_match is not None
            parent = endpoint_name(op.path[: parent_match.start()].rstrip("/"))
            action = "sublist" if op.is_read else "generic"
            return Route(op, pattern, action, endpoint_name(op.path), parent_match.group(1),
                         parent=parent)
        collection = endpoint_name(op.path)
        action = _COLLECTION_ACTIONS.get(op.kind, "generic")
        if collection == UPLOAD_COLLECTION and not op.is_read:
            action = "upload"
        elif collection == ORGANIZATION and op.is_read:
            action = "organization"
        return Route(op, pattern, action, collection)

    def _seed(self) -> None:
        """One example record for collections the API fills but no operation creates."""
        created = {r.collection for r in self.routes if r.action == "create"}
        created |= self._task_collections
        for route in self.routes:
            if route.collection in created or route.collection in self.state.resources:
                continue
            if route.action == "get":
                schema = route.success[1]
            elif route.action == "list" and route.collection not in self._item_schema:
                schema = self._list_item_schema(route)
            else:
                continue
            if schema is None:
                continue
            data = example(schema, self._context(schema, route))
            if not isinstance(data, dict):
                continue
            record_id = data.get(route.id_field)
            record_id = record_id if isinstance(record_id, str) else str(uuid.uuid4())
            self.state.add_record(route.collection, record_id, data)

    @staticmethod
    def _list_item_schema(route: Route) -> Any:
        schema = route.success[1] or {}
        return ((flatten_object(schema)[0].get("data") or {}).get("items")) or None

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], list[str]]:
        """The route for (method, path), its path parameters, and the methods the path allows."""
        allowed = []
        for route in self._by_prefix.get(_prefix(path), self._any_prefix):
            found = route.pattern.match(path)
            if found is None:
                continue
            if route.op.method != method:
                allowed.append(route.op.method)
                continue
            return route, {name: found.group(group) for name, group in route.params}, allowed
        return None, {}, allowed

    # ------------------------------------------------------------------ helpers

    def _context(self, schema: Any, route: Route | None = None) -> Context:
        kind = output_kind(route.op.endpoint) if route else "image"
        extension = media.KINDS[kind][0]
        base = self.base_url()
        return Context(schema if isinstance(schema, Mapping) else {},
                       lambda _hint: f"{base}{FILES_PREFIX}{EXAMPLE_FILE_ID}/0.{extension}")

    def shape(self, data: Any, schema: Any, route: Route | None = None) -> Any:
        """``data`` conformed to ``schema`` (unchanged when there is no schema)."""
        if schema is None:
            return data
        if self._accepts(schema, data):  # what conform would keep whole: skip its walk
            return data
        return conform(data, schema, self._context(schema, route))

    def _accepts(self, schema: Any, data: Any) -> bool:
        """Whether ``schema`` already accepts ``data``, by a validator compiled once per
        schema (jsonschema-rs: ~1 µs where :func:`conform`'s walk takes ~90 µs on a task);
        ``False`` when none compiles, so :func:`conform` decides."""
        found = self._validators.get(id(schema))
        if found is None:
            from runway_dynamic.validation import _compile

            found = self._validators[id(schema)] = (schema, _compile(schema))
        validator = found[1]
        if validator is None:
            return False
        try:
            return bool(validator.is_valid(data))
        except Exception:  # a value it cannot read: conform judges
            return False

    def error(self, route: Route | None, status: int, message: str,
              issues: list[dict[str, Any]] | None = None,
              headers: dict[str, str] | None = None) -> Response:
        """A Runway-shaped error body (``{"error", "issues"?}``), fitted to the spec's schema."""
        body: dict[str, Any] = {"error": message}
        if issues is not None:
            body["issues"] = issues
        schema = route.op.responses.get(str(status)) if route else None
        if schema is not None:
            body = self.shape(body, schema, route)
        return json_response(status, body, headers)

    # ------------------------------------------------------------------ entry point

    def handle(self, request: Request) -> Response:
        """Answer one request: faults first, then routing, auth, validation and the action."""
        started = self._begin(request)
        if isinstance(started, Response):
            return started
        record, fault = started
        if fault.delay:
            time.sleep(fault.delay)
        return self._finish(request, record, fault)

    async def ahandle(self, request: Request) -> Response:
        """:meth:`handle` on an event loop: a ``delay`` fault does not hold up other requests."""
        started = self._begin(request)
        if isinstance(started, Response):
            return started
        record, fault = started
        if fault.delay:
            await asyncio.sleep(fault.delay)
        return self._finish(request, record, fault)

    def is_upload(self, method: str, path: str) -> bool:
        """Whether this request carries a file to an upload slot (the server streams it)."""
        return method in ("POST", "PUT") and path.startswith(UPLOAD_PREFIX)

    def renders_media(self, method: str, path: str) -> bool:
        """Whether answering may take long (rendering an output file; a server runs it on a
        worker thread so that other requests are not held up)."""
        return method in ("GET", "HEAD") and path.startswith(FILES_PREFIX)

    def _begin(self, request: Request) -> tuple[RequestRecord, Fault] | Response:
        """Log the request and decide its fault (or answer a malformed fault header)."""
        record = self.state.log(RequestRecord(
            request.method, request.path, request.query, _safe_headers(request.headers),
            _logged_body(request), "; ".join(request.fault_headers) or None))
        try:
            specs = self.faults + [parse_fault(text) for text in request.fault_headers]
        except FaultSyntaxError as exc:
            response = self.error(None, 400, f"invalid {FAULT_HEADER} header: {exc}")
            record.status = response.status
            return response
        return record, effective_fault(specs, self.counters)

    def _finish(self, request: Request, record: RequestRecord, fault: Fault) -> Response:
        path = request.path
        if fault.drop == "before":
            return Response(0, drop=True)
        if fault.status is not None:
            route, _, _ = self.match(request.method, path)
            headers = {"Retry-After": _seconds(fault.retry_after)} if fault.retry_after else {}
            known = fault.status in {s.value for s in HTTPStatus}
            phrase = HTTPStatus(fault.status).phrase if known else "Error"
            response = self.error(route, fault.status, f"{phrase} (sandbox fault injected)",
                                  headers=headers)
        elif path.startswith(SANDBOX_PREFIX + "/"):
            response = self._sandbox_route(request, path)
        else:
            response = self._api(request, path, fault)
        if fault.retry_after is not None and "Retry-After" not in response.headers:
            response.headers["Retry-After"] = _seconds(fault.retry_after)
        if fault.drop == "after":
            return Response(response.status, drop=True)
        record.status = response.status
        return response

    def _api(self, request: Request, path: str, fault: Fault) -> Response:
        route, params, allowed = self.match(request.method, path)
        if route is None:
            if allowed:
                return self.error(None, 405, f"{request.method} is not allowed on {path}; "
                                  f"use {', '.join(sorted(set(allowed)))}",
                                  headers={"Allow": ", ".join(sorted(set(allowed)))})
            return self.error(None, 404, f"no operation at {path}")
        op = route.op
        if self.require_auth:
            scheme, _, token = (request.header("Authorization") or "").partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return self.error(route, 401, "Missing or invalid API key: send "
                                  "'Authorization: Bearer <key>'")
        for name, value in op.constant_headers.items():
            given = request.header(name)
            if given != value:
                got = "it is missing" if given is None else f"got {given!r}"
                return self.error(route, 400, f"the {name} header must be {value!r}; {got}",
                                  [{"code": "invalid_header", "path": [name],
                                    "message": f"expected {value!r}"}])
        problems, query = self._check_params(route, params, request.query)
        if problems:
            return self.error(route, 400, "Validation of parameters failed", problems)
        body: Any = None
        if op.variants:
            body, failure = self._read_body(route, request)
            if failure is not None:
                return failure
        handler = getattr(self, f"_do_{route.action}")
        response: Response = handler(route, params, query, body, fault)
        return response

    # ------------------------------------------------------------------ validation

    def _check_params(
        self, route: Route, params: dict[str, str], raw_query: dict[str, list[str]]
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        issues: list[dict[str, Any]] = []
        query: dict[str, Any] = {}
        for param in route.op.parameters:
            if param.location == "path":
                value: Any = params.get(param.name)
            elif param.location == "query":
                values = raw_query.get(param.name)
                if not values:
                    if "default" in param.schema:
                        query[param.name] = param.schema["default"]
                    elif param.required:
                        issues.append({"code": "missing_parameter", "path": [param.name],
                                       "message": f"query parameter {param.name!r} is required"})
                    continue
                value = _coerce(values[-1], param.schema)
                query[param.name] = value
            else:
                continue
            if not matches(value, param.schema):
                issues.append({"code": "invalid_parameter", "path": [param.name],
                               "message": f"{param.location} parameter {param.name!r} is "
                                          f"not valid: {value!r}"})
        return issues, query

    def _read_body(self, route: Route, request: Request) -> tuple[Any, Response | None]:
        op = route.op
        if not request.body.strip():
            if op.body_required:
                return None, self.error(route, 400, "a JSON request body is required",
                                        [{"code": "invalid_type", "path": [],
                                          "message": "expected an object, received nothing"}])
            body: Any = {}
        else:
            try:
                body = orjson.loads(request.body)
            except orjson.JSONDecodeError as exc:
                return None, self.error(route, 400, "the request body is not valid JSON",
                                        [{"code": "invalid_json", "path": [], "message": str(exc)}])
        issues = []
        for p in self.spec.validator.iter_problems(op.endpoint, body, method=op.method):
            if p.kind == UNKNOWN_MODEL:  # the client sends it with a warning; Runway refuses
                issues.append(self._unknown_model_issue(op, body))
            elif p.is_error:
                issues.append({"code": p.kind, "path": issue_path(p.field), "message": p.message})
        if isinstance(body, Mapping):
            for where, text in _walk_strings(body):
                if text.startswith("runway://") and self.state.resolve_uri(text) is None:
                    issues.append({"code": "unknown_runway_uri", "path": list(where),
                                   "message": f"{text!r} names no completed upload in this "
                                              "sandbox; upload the file first (POST /v1/uploads)"})
        if issues:
            return None, self.error(route, 400, "Validation of body failed", issues)
        return body, None

    @staticmethod
    def _unknown_model_issue(op: Operation, body: Any) -> dict[str, Any]:
        """The issue for a model id the spec does not list for this endpoint."""
        name = op.discriminator or "model"
        value = body.get(name) if isinstance(body, Mapping) else None
        return {"code": UNKNOWN_MODEL, "path": [name],
                "message": f"Invalid {name} {value!r} for {op.endpoint}. Expected one of: "
                           + ", ".join(op.models)}

    # ------------------------------------------------------------------ tasks

    def _kind(self, route: Route, body: Mapping[str, Any]) -> str:
        op = route.op
        key = body.get(op.discriminator) if op.discriminator else None
        cache_key = (op.endpoint, key if isinstance(key, str) else None)
        if cache_key not in self._kinds:
            variant = op.variant(cache_key[1]) or (op.variants[0] if op.variants else None)
            fields = tuple(f.name for f in variant.fields) if variant else ()
            self._kinds[cache_key] = output_kind(op.endpoint, fields)
        return self._kinds[cache_key]

    def _new_task(
        self, route: Route, body: Mapping[str, Any], fault: Fault, collection: str
    ) -> Task:
        """A new task, admitted under the organization's limits (:class:`LimitReached`)."""
        count = next((body[n] for n in _OUTPUT_COUNT_FIELDS if isinstance(body.get(n), int)), 1)
        duration = body.get("duration")
        seconds = float(duration) if isinstance(duration, (int, float)) and not isinstance(
            duration, bool) else 5.0
        outputs = max(1, min(MAX_OUTPUTS, int(count)))
        credits = float(round(seconds * 5 * outputs))
        lane = _lane(route, body)
        created = time.monotonic()
        queued = self.state.reserve(lane, credits, self.task_seconds, self.limits, created)
        task = Task(
            created=created,
            id=str(uuid.uuid4()),
            collection=collection,
            endpoint=route.op.endpoint,
            body=orjson.loads(orjson.dumps(body)),  # a deep copy: JSON in, 5x cheaper
            kind=self._kind(route, body),
            ratio=parse_ratio(body),
            outputs=outputs,
            seconds=self.task_seconds,
            credits=credits,
            throttled=queued + (fault.throttled_seconds or 0.0),
            fail_code=fault.fail_code,
            media_seconds=max(0.5, min(2.0, seconds)),
        )
        return self.state.add_task(task)

    def _refused(self, route: Route, refusal: LimitReached) -> Response:
        """A create refused by a limit: 429 for the daily cap, 400 for the credit balance."""
        if refusal.kind == "daily":
            headers = {"Retry-After": _seconds(round(refusal.retry_after or 0))}
            return self.error(route, 429, refusal.message, headers=headers)
        return self.error(route, 400, refusal.message,
                          [{"code": "insufficient_credits", "path": [],
                            "message": refusal.message}])

    def _do_task(self, route: Route, params: dict[str, str], query: dict[str, Any],
                 body: Any, fault: Fault) -> Response:
        try:
            task = self._new_task(route, body or {}, fault, TASK_COLLECTION)
        except LimitReached as refusal:
            return self._refused(route, refusal)
        status, schema = route.success
        data = {"id": task.id, "estimatedCost": {"credits": task.credits}}
        return json_response(status, self.shape(data, schema, route))

    def _do_invoke(self, route: Route, params: dict[str, str], query: dict[str, Any],
                   body: Any, fault: Fault) -> Response:
        parent = params.get(route.id_param or "", "")
        if self.state.record(route.collection, parent) is None:
            return self.error(route, 404, f"no {route.collection} with id {parent!r}")
        assert route.target is not None
        try:
            task = self._new_task(route, body or {}, fault, route.target)
        except LimitReached as refusal:
            return self._refused(route, refusal)
        status, schema = route.success
        return json_response(status, self.shape({"id": task.id}, schema, route))

    def output_urls(self, task: Task) -> list[str]:
        extension = media.KINDS[task.kind][0]
        base = self.base_url()
        return [f"{base}{FILES_PREFIX}{task.id}/{n}.{extension}" for n in range(task.outputs)]

    def task_view(self, task: Task) -> dict[str, Any]:
        """The task as the API shows it now (before fitting to a response schema)."""
        status, progress = task.phase()
        data: dict[str, Any] = {
            "id": task.id,
            "createdAt": iso(task.created_wall),
            "status": status,
        }
        if status in ("PENDING", "THROTTLED", "RUNNING"):
            data["estimatedCost"] = {"credits": task.credits}
        else:
            data["cost"] = {"credits": int(task.credits) if status != "CANCELLED" else 0}
        if status == "RUNNING":
            data["progress"] = round(progress or 0.0, 4)
        if status == "SUCCEEDED":
            urls = self.output_urls(task)
            data["output"] = urls if task.collection == TASK_COLLECTION else {
                _output_node_id(task.id): urls}
        if status == "FAILED":
            assert task.fail_code is not None
            data["failure"] = failure_message(task.fail_code)
            data["failureCode"] = task.fail_code
        return data

    # ------------------------------------------------------------------ resources

    def _view(self, route: Route, record: Any) -> dict[str, Any]:
        """A record's data with its lifecycle status brought up to date."""
        data = dict(record.data)
        schema = self._item_schema.get(route.collection)
        states = _status_states(schema)
        if states and data.get("status") in states:
            status = lifecycle_status(states, time.monotonic() - record.created, self.task_seconds)
            if status:
                data["status"] = status
        return data

    def _show(self, route: Route, record: Any, schema: Any) -> Any:
        shown = self.shape(self._view(route, record), schema, route)
        if isinstance(shown, Mapping) and schema is self._item_schema.get(route.collection):
            self.state.remember(record, shown)
        return shown

    def _do_create(self, route: Route, params: dict[str, str], query: dict[str, Any],
                   body: Any, fault: Fault) -> Response:
        record_id = str(uuid.uuid4())
        stamp = now_iso()
        data = {**copy.deepcopy(body or {}), "id": record_id, "createdAt": stamp,
                "updatedAt": stamp}
        record = self.state.add_record(route.collection, record_id, data)
        item_schema = self._item_schema.get(route.collection)
        if item_schema is not None:  # settle the invented values once, then show them
            first = self.shape(self._initial_view(route, record), item_schema, route)
            if isinstance(first, Mapping):
                self.state.remember(record, first)
        status, schema = route.success
        return json_response(status, self._show(route, record, schema))

    def _initial_view(self, route: Route, record: Any) -> dict[str, Any]:
        data = dict(record.data)
        states = _status_states(self._item_schema.get(route.collection))
        if states:
            data["status"] = lifecycle_status(states, 0.0, self.task_seconds) or states[0]
        return data

    def _do_get(self, route: Route, params: dict[str, str], query: dict[str, Any],
                body: Any, fault: Fault) -> Response:
        record_id = params.get(route.id_param or "", "")
        status, schema = route.success
        if route.collection in self._task_collections:
            task = self.state.task(record_id, route.collection)
            if task is None:
                return self.error(route, 404, f"Task {record_id} not found"
                                  if route.collection == TASK_COLLECTION
                                  else f"no {route.collection} item with id {record_id!r}")
            return json_response(status, self.shape(self.task_view(task), schema, route))
        record = self.state.record(route.collection, record_id)
        if record is None:
            return self.error(route, 404, f"no {route.collection} item with id {record_id!r}")
        return json_response(status, self._show(route, record, schema))

    def _do_update(self, route: Route, params: dict[str, str], query: dict[str, Any],
                   body: Any, fault: Fault) -> Response:
        record_id = params.get(route.id_param or "", "")
        changes = dict(body or {})
        current = self.state.record(route.collection, record_id)
        if current is None:
            return self.error(route, 404, f"no {route.collection} item with id {record_id!r}")
        if "updatedAt" in current.data:
            changes["updatedAt"] = now_iso()
        record = self.state.update_record(route.collection, record_id, changes)
        status, schema = route.success
        if schema is None:
            return Response(status, b"", None)
        return json_response(status, self._show(route, record, schema))

    def _do_delete(self, route: Route, params: dict[str, str], query: dict[str, Any],
                   body: Any, fault: Fault) -> Response:
        record_id = params.get(route.id_param or "", "")
        status, schema = route.success
        if route.collection in self._task_collections:
            if self.state.task(record_id, route.collection) is None:
                return self.error(route, 404, f"Task {record_id} not found")
            self.state.cancel_or_delete_task(record_id)
        elif not self.state.delete_record(route.collection, record_id):
            return self.error(route, 404, f"no {route.collection} item with id {record_id!r}")
        if schema is None:
            return Response(status, b"", None)
        return json_response(status, self.shape({"id": record_id}, schema, route))

    def _do_list(self, route: Route, params: dict[str, str], query: dict[str, Any],
                 body: Any, fault: Fault) -> Response:
        return self._page(route, self.state.records(route.collection), query)

    def _do_sublist(self, route: Route, params: dict[str, str], query: dict[str, Any],
                    body: Any, fault: Fault) -> Response:
        parent_id = params.get(route.id_param or "", "")
        if route.parent and self.state.record(route.parent, parent_id) is None:
            return self.error(route, 404, f"no {route.parent} item with id {parent_id!r}")
        key = _PARAM.sub(lambda m: params.get(m.group(1), ""), route.collection)
        return self._page(route, self.state.records(key), query)

    def _page(self, route: Route, records: list[Any], query: dict[str, Any]) -> Response:
        status, schema = route.success
        sort_key = query.get("sort")
        reverse = query.get("order", "desc") != "asc"
        records.sort(key=lambda r: (str(r.data.get(sort_key, "")) if sort_key else "", r.sequence),
                     reverse=reverse)
        cursor = query.get("cursor")
        start = 0
        if cursor is not None:
            if not (isinstance(cursor, str) and cursor.startswith("o") and cursor[1:].isdigit()):
                return self.error(route, 400, f"invalid cursor {cursor!r}",
                                  [{"code": "invalid_cursor", "path": ["cursor"],
                                    "message": "use the nextCursor of a previous page"}])
            start = int(cursor[1:])
        limit = query.get("limit")
        limit = limit if isinstance(limit, int) and limit > 0 else len(records) or 1
        page = records[start:start + limit]
        more = start + limit < len(records)
        item_schema = self._list_item_schema(route)
        items = [self.shape(self._view(route, r), item_schema, route) for r in page]
        data = {"data": items, "hasMore": more, "nextCursor": f"o{start + limit}" if more else None}
        return json_response(status, self.shape(data, schema, route))

    # ------------------------------------------------------------------ special cases

    def _do_upload(self, route: Route, params: dict[str, str], query: dict[str, Any],
                   body: Any, fault: Fault) -> Response:
        filename = str((body or {}).get("filename") or "upload.bin")
        problem = self.media.type_problem(filename)
        if problem is not None:
            return self.error(route, 400, "Validation of body failed",
                              [{"code": "unsupported_media_type", "path": ["filename"],
                                "message": problem}])
        upload = self.state.add_upload(
            filename, lambda upload_id, name: f"runway://sandbox/uploads/{upload_id}/{quote(name)}")
        data = {
            "uploadUrl": f"{self.base_url()}{UPLOAD_PREFIX}{upload.id}",
            "fields": {"key": f"uploads/{upload.id}/{filename}", "x-sandbox-upload": upload.id},
            "runwayUri": upload.runway_uri,
        }
        status, schema = route.success
        return json_response(status, self.shape(data, schema, route))

    def _do_organization(self, route: Route, params: dict[str, str], query: dict[str, Any],
                         body: Any, fault: Fault) -> Response:
        limits = self.limits
        models = {m: {"maxConcurrentGenerations": _limit(limits.concurrency),
                      "maxDailyGenerations": _limit(limits.daily)} for m in self.spec.models()}
        usage = {lane: {"dailyGenerations": self.state.daily_generations(lane)}
                 for lane in self.state.lanes() if lane in models}
        credits = _limit(limits.credits)
        data = {"tier": {"maxMonthlyCreditSpend": credits, "models": models},
                "creditBalance": max(0, int(credits - self.state.spent)),
                "usage": {"models": usage}}
        status, schema = route.success
        return json_response(status, self.shape(data, schema, route))

    def _do_generic(self, route: Route, params: dict[str, str], query: dict[str, Any],
                    body: Any, fault: Fault) -> Response:
        status, schema = route.success
        if schema is None:
            return Response(status, b"", None)
        return json_response(status, example(schema, self._context(schema, route)))

    # ------------------------------------------------------------------ /_sandbox routes

    def task_listing(self) -> dict[str, Any]:
        """Every task the sandbox holds, oldest first, with the body it was created from:
        what the Runway dashboard shows a person who must find a task whose id was lost."""
        with self.state.lock:
            tasks = sorted(self.state.tasks.values(), key=lambda t: t.created)
        return {"data": [{"id": t.id, "endpoint": t.endpoint, "model": t.model,
                          "status": t.status, "createdAt": iso(t.created_wall), "body": t.body}
                         for t in tasks]}

    def stats(self) -> dict[str, Any]:
        """Counts for tests and benchmarks in another process (``created`` never drops)."""
        with self.state.lock:
            statuses = [t.status for t in self.state.tasks.values()]
            requests = len(self.state.requests)
        by_status: dict[str, int] = {}
        for status in statuses:
            by_status[status] = by_status.get(status, 0) + 1
        return {"created": self.state.created_tasks, "tasks": len(statuses),
                "byStatus": by_status, "requests": requests, "creditsSpent": self.state.spent}

    def _sandbox_route(self, request: Request, path: str) -> Response:
        if path.startswith(FILES_PREFIX) and request.method in ("GET", "HEAD"):
            return self._file(path[len(FILES_PREFIX):])
        if path == TASKS_PATH and request.method == "GET":
            return json_response(200, self.task_listing())
        if path == STATS_PATH and request.method == "GET":
            return json_response(200, self.stats())
        if path.startswith(UPLOAD_PREFIX) and request.method in ("POST", "PUT"):
            return self._receive_upload(path[len(UPLOAD_PREFIX):], request)
        return self.error(None, 404, f"no sandbox resource at {path}")

    def _file(self, rest: str) -> Response:
        match = re.fullmatch(r"([^/]+)/(\d+)\.(\w+)", rest)
        kinds = {ext: kind for kind, (ext, _) in media.KINDS.items()}
        if match is None or match.group(3) not in kinds:
            return self.error(None, 404, "no such file")
        owner, index, extension = match.group(1), int(match.group(2)), match.group(3)
        kind = kinds[extension]
        if owner == EXAMPLE_FILE_ID:
            width, height = media.size_for_ratio(None, kind)
            data = media.render(kind, width, height)
        else:
            task = self.state.task(owner)
            finished = task is not None and task.status == "SUCCEEDED"
            if task is None or not finished or index >= task.outputs or kind != task.kind:
                return self.error(None, 404, "no such output (unknown task, not finished, or "
                                  "deleted)")
            width, height = media.size_for_ratio(task.ratio, kind)
            data = media.render(kind, width, height, task.media_seconds)
        return Response(200, data, media.KINDS[kind][1])

    def _receive_upload(self, upload_id: str, request: Request) -> Response:
        upload = self.state.uploads.get(upload_id)
        if upload is None:
            return self.error(None, 404, f"no upload slot {upload_id!r}")
        form = request.form
        if form is None:  # a request built in memory (tests); a server streams the form
            form = read_form(request.body, request.header("Content-Type") or "",
                             self.state.upload_dir(), max_file_bytes=self.upload_max_bytes)
        try:
            return self._store_upload(upload, form)
        finally:
            form.discard()  # whatever was not kept

    def _store_upload(self, upload: Any, form: Form) -> Response:
        if form.too_large:
            size = (f"the upload is {human_size(form.declared_size)}" if form.declared_size
                    else "the file is larger than that")
            message = (f"{size}; an upload takes at most {human_size(self.upload_max_bytes)} "
                       "(sandbox)")
            return self.error(None, 413, message, [{"code": "file_too_large", "path": ["file"],
                                                    "message": message}])
        if form.error is not None:
            return self.error(None, 400, form.error)
        expected = {"key": f"uploads/{upload.id}/{upload.filename}", "x-sandbox-upload": upload.id}
        wrong = [name for name, value in expected.items() if form.fields.get(name) != value]
        if wrong:
            return self.error(None, 400, "the form must repeat the fields of POST /v1/uploads; "
                              f"missing or changed: {', '.join(wrong)}")
        stored = form.file()
        if stored is None:
            return self.error(None, 400, "the form has no 'file' part")
        declared = stored.content_type
        specific = declared and declared.split(";")[0].strip() != "application/octet-stream"
        problem = self.media.type_problem(upload.filename, declared if specific else None)
        if problem is not None:
            return self.error(None, 400, problem, [{"code": "unsupported_media_type",
                                                    "path": ["file"], "message": problem}])
        self.state.receive_upload(upload.id, stored.path, stored.size, declared,
                                  form.fields.get("metadata"))
        form.files = {name: f for name, f in form.files.items() if f is not stored}
        return Response(204, b"", None)


def _lane(route: Route, body: Mapping[str, Any]) -> str:
    """What a limit counts per: the model, else the endpoint (as Runway counts per model)."""
    op = route.op
    model = body.get(op.discriminator) if op.discriminator else None
    return model if isinstance(model, str) else op.endpoint


def _limit(value: float | None) -> int:
    return UNLIMITED if value is None else int(value)


def _status_states(schema: Any) -> list[str]:
    """The ``status`` values a response's branches pin with ``const`` (its lifecycle)."""
    if not isinstance(schema, Mapping):
        return []
    out = []
    for branch in schema.get("oneOf") or schema.get("anyOf") or ():
        sub = ((branch or {}).get("properties") or {}).get("status") or {}
        if "const" in sub:
            out.append(str(sub["const"]))
    return out


def _coerce(text: str, schema: Mapping[str, Any]) -> Any:
    """A query string value as the type its schema wants (``"50"`` → 50)."""
    kind = schema.get("type")
    try:
        if kind == "integer":
            return int(text)
        if kind == "number":
            return float(text)
    except ValueError:
        return text
    if kind == "boolean" and text in ("true", "false"):
        return text == "true"
    return text


def _seconds(value: float | None) -> str:
    if value is None:
        return "0"
    return str(int(value)) if float(value).is_integer() else str(value)


def _safe_headers(headers: Mapping[str, str]) -> Headers:
    """Headers for the log: the Authorization value is kept redacted as ``redact`` shows keys
    (its last four characters at most: enough to tell which key was sent), never whole."""
    if not isinstance(headers, Headers):
        return Headers((key, _redacted(key, value)) for key, value in headers.items())
    safe = Headers.lowered(headers.items())  # only these two differ from the request's
    for name in _REDACTED:
        value = dict.get(safe, name)
        if value is not None:
            dict.__setitem__(safe, name, _redacted(name, value))
    return safe


def _redacted(name: str, value: str) -> str:
    from runway_dynamic._http import redact

    lowered = name.lower()
    if lowered == "authorization":
        scheme, _, secret = value.partition(" ")
        return f"{scheme} {redact(secret)}" if secret else redact(scheme)
    return "<redacted>" if lowered == "cookie" else value


def _output_node_id(task_id: str) -> str:
    """A stable node id for an invocation's outputs, shaped as the spec's uuid (version 4:
    the response schema's pattern rejects other versions, and conforming would drop it)."""
    return str(uuid.UUID(bytes=uuid.uuid5(uuid.NAMESPACE_URL, task_id).bytes, version=4))


def _logged_body(request: Request) -> Any:
    content_type = (request.header("Content-Type") or "").lower()
    if not request.body:
        return None
    if "json" in content_type:
        try:
            return orjson.loads(request.body)
        except orjson.JSONDecodeError:
            return request.body.decode("utf-8", "replace")
    return {"bytes": len(request.body), "contentType": content_type or None}
