"""HTTP for the sandbox: a Starlette app that hands every request to :class:`SandboxApp`.

Starlette parses the request; :class:`~runway_dynamic.sandbox.app.SandboxApp` decides the
answer. This module only translates between the two, and does what needs the connection:

* upload bodies are streamed to disk through :mod:`.multipart` as they arrive (a body whose
  ``Content-Length`` already exceeds the cap is refused before a byte of it is read), and
  other bodies are read up to :data:`MAX_BODY_BYTES`; a request answered before its whole
  body was read gets ``Connection: close``;
* a ``drop`` fault closes the connection without any response (ASGI has no message for
  that: the server's transport is closed, see :func:`_close_connection`);
* answers that render media run on a worker thread, everything else on the event loop.
"""

from __future__ import annotations

import asyncio
import sys
import traceback
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect
from starlette.requests import Request as HTTPRequest
from starlette.responses import Response as HTTPResponse
from starlette.routing import Route

from runway_dynamic.sandbox.app import Headers, Request, Response, SandboxApp, json_response
from runway_dynamic.sandbox.faults import HEADER as FAULT_HEADER
from runway_dynamic.sandbox.multipart import Form, FormReader

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: A JSON body larger than this is refused with 413 (bounds the memory one request takes;
#: the largest body the spec allows, several 16 MB data URIs, fits many times over).
MAX_BODY_BYTES = 128 * 1024 * 1024
#: Room for an upload form's fields and boundaries around its file, in ``Content-Length``.
FORM_ROOM = 1024 * 1024
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_SEND_KEY = "runway_sandbox.send"  # the server's own ``send``, kept for closing connections
_FAULT_HEADER = FAULT_HEADER.lower().encode("latin-1")


def build_asgi(app: SandboxApp, *, verbose: bool = False) -> ASGIApp:
    """The ASGI application serving ``app`` (hand it to uvicorn or any ASGI server)."""

    async def endpoint(request: HTTPRequest) -> HTTPResponse:
        try:
            return await _answer(app, request, verbose)
        except (ClientDisconnect, asyncio.CancelledError):
            # the client left, or the server is stopping: nobody is waiting for an answer
            await _close_connection(request)
            return HTTPResponse(status_code=204)

    starlette = Starlette(routes=[Route("/{path:path}", endpoint, methods=METHODS)])

    async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope[_SEND_KEY] = send
        await starlette(scope, receive, send)

    return asgi


async def _answer(app: SandboxApp, request: HTTPRequest, verbose: bool) -> HTTPResponse:
    scope = request.scope
    method: str = scope["method"]
    target = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
    if scope.get("query_string"):
        target += "?" + scope["query_string"].decode("latin-1")
    raw_headers: list[tuple[bytes, bytes]] = scope["headers"]
    headers = Headers((k.decode("latin-1"), v.decode("latin-1")) for k, v in raw_headers)
    faults = tuple(v.decode("latin-1") for k, v in raw_headers if k == _FAULT_HEADER)
    path = urlsplit(target).path
    body, form, complete = b"", None, True
    if app.is_upload(method, path):
        form, complete = await _read_form(app, request)
    else:
        read = await _read_body(request)
        if read is None:
            message = f"the request body is larger than {MAX_BODY_BYTES} bytes (sandbox)"
            return _http(json_response(413, {"error": message}), complete=False)
        body = read
    sandbox_request = Request(method, target, headers, body, faults, form)
    try:
        if app.renders_media(method, path):
            response = await run_in_threadpool(app.handle, sandbox_request)
        else:
            response = await app.ahandle(sandbox_request)
    except Exception as exc:  # never leave a client hanging on a sandbox bug
        if verbose:
            traceback.print_exc(file=sys.stderr)
        response = json_response(500, {"error": f"sandbox error: {type(exc).__name__}: {exc}"})
    if response.drop:
        await _close_connection(request)
        return HTTPResponse(status_code=204)  # never sent: the connection is gone
    return _http(response, complete=complete)


def _http(response: Response, *, complete: bool) -> HTTPResponse:
    headers = dict(response.headers)
    if not complete:  # the rest of the body is still on its way: end the connection after
        headers["Connection"] = "close"
    media_type = response.content_type if response.status != 204 else None
    return HTTPResponse(response.body, response.status, headers, media_type=media_type)


def _declared_length(request: HTTPRequest) -> int | None:
    try:
        return int(request.headers["content-length"])
    except (KeyError, ValueError):
        return None


async def _read_body(request: HTTPRequest) -> bytes | None:
    """The whole body, or ``None`` when it is larger than :data:`MAX_BODY_BYTES`."""
    declared = _declared_length(request)
    if declared is not None and declared > MAX_BODY_BYTES:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def _read_form(app: SandboxApp, request: HTTPRequest) -> tuple[Form, bool]:
    """The upload form, streamed to disk; whether the whole body was read."""
    declared = _declared_length(request)
    limit = app.upload_max_bytes
    if declared is not None and declared > limit + FORM_ROOM:
        return Form(too_large=True, declared_size=declared), False
    reader = FormReader(request.headers.get("content-type", ""), app.state.upload_dir(),
                        max_file_bytes=limit)
    reader.form.declared_size = declared
    if reader.done:
        return reader.finish(), False
    async for chunk in request.stream():
        reader.feed(chunk)
        if reader.done:
            return reader.finish(), False
    return reader.finish(), True


async def _close_connection(request: HTTPRequest) -> None:
    """Close the client's connection without a response, then wait until the server has
    seen it closed (so that nothing is sent on it and nothing is logged).

    ASGI cannot express "no response"; uvicorn's ``send`` belongs to the request cycle that
    owns the connection's transport, so closing that transport is what a dropped
    connection is. Other servers get a 500 instead (a failing test, not a silent change).
    """
    send = request.scope.get(_SEND_KEY)
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None or not hasattr(transport, "close"):
        raise RuntimeError("this ASGI server gives no way to drop a connection")
    transport.close()
    receive = request.receive
    while (await receive())["type"] != "http.disconnect":
        pass
