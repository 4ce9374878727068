"""HTTP for the sandbox: a plain ASGI 3 callable that hands every request to :class:`SandboxApp`.

:class:`~runway_dynamic.sandbox.app.SandboxApp` decides the answer; this module only
translates between ASGI messages and the app, and does what needs the connection. It is a
bare ASGI callable, not a framework app: the sandbox has one route (every path goes to the
app), and a framework's middleware stack, router and request/response objects were a fifth
of the sandbox's CPU per request (``benchmarks/bench_sandbox.py``).

* upload bodies are streamed to disk through :mod:`.multipart` as they arrive (a body whose
  ``Content-Length`` already exceeds the cap is refused before a byte of it is read), and
  other bodies are read up to :data:`MAX_BODY_BYTES`; a request answered before its whole
  body was read gets ``Connection: close``;
* a ``drop`` fault closes the connection without any response (ASGI has no message for
  that: the server's transport is closed, see :func:`_close_connection`);
* answers that render media run on a worker thread, everything else on the event loop;
* a bug in the sandbox is answered with a 500 (its traceback on stderr with ``verbose``),
  never with silence.
"""

from __future__ import annotations

import asyncio
import sys
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

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
_FAULT_HEADER = FAULT_HEADER.lower().encode("latin-1")
_NO_BODY_STATUSES = (204, 304)


class ClientDisconnect(Exception):
    """The client closed the connection before its request body was read."""


def build_asgi(app: SandboxApp, *, verbose: bool = False) -> ASGIApp:
    """The ASGI application serving ``app`` (hand it to uvicorn or any ASGI server)."""

    async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan and websockets are off in our server
            return
        try:
            response, complete = await _answer(app, scope, receive, verbose)
        except (ClientDisconnect, asyncio.CancelledError):
            # the client left, or the server is stopping: nobody is waiting for an answer
            await _close_connection(send, receive)
            return
        if response.drop:
            await _close_connection(send, receive)
            return
        await send({"type": "http.response.start", "status": response.status,
                    "headers": _raw_headers(response, complete)})
        await send({"type": "http.response.body", "body": response.body})

    return asgi


async def _answer(app: SandboxApp, scope: Scope, receive: Receive,
                  verbose: bool) -> tuple[Response, bool]:
    """The app's answer, and whether the request's whole body was read."""
    method: str = scope["method"]
    target = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
    query: bytes = scope.get("query_string") or b""
    if query:
        target += "?" + query.decode("latin-1")
    raw_headers: list[tuple[bytes, bytes]] = scope["headers"]
    headers = Headers.lowered((k.decode("latin-1").lower(), v.decode("latin-1"))
                              for k, v in raw_headers)
    faults = tuple(v.decode("latin-1") for k, v in raw_headers if k == _FAULT_HEADER)
    path = urlsplit(target).path
    body, form, complete = b"", None, True
    if app.is_upload(method, path):
        form, complete = await _read_form(app, headers, receive)
    else:
        read = await _read_body(headers, receive)
        if read is None:
            message = f"the request body is larger than {MAX_BODY_BYTES} bytes (sandbox)"
            return json_response(413, {"error": message}), False
        body = read
    sandbox_request = Request(method, target, headers, body, faults, form)
    try:
        if app.renders_media(method, path):
            loop = asyncio.get_running_loop()
            response = await loop.run_in_executor(None, app.handle, sandbox_request)
        else:
            response = await app.ahandle(sandbox_request)
    except Exception as exc:  # never leave a client hanging on a sandbox bug
        if verbose:
            traceback.print_exc(file=sys.stderr)
        response = json_response(500, {"error": f"sandbox error: {type(exc).__name__}: {exc}"})
    return response, complete


def _raw_headers(response: Response, complete: bool) -> list[tuple[bytes, bytes]]:
    """The response's headers as ASGI sends them: its own, then ``Content-Length`` and
    ``Content-Type`` unless it set them (none on a 204)."""
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1"))
           for k, v in response.headers.items()]
    if not complete:  # the rest of the body is still on its way: end the connection after
        raw = [h for h in raw if h[0] != b"connection"]
        raw.append((b"connection", b"close"))
    status = response.status
    if response.headers:
        names = {k.lower() for k in response.headers}
        length, kind = "content-length" not in names, "content-type" not in names
    else:
        length = kind = True
    if length and status >= 200 and status not in _NO_BODY_STATUSES:
        raw.append((b"content-length", str(len(response.body)).encode("latin-1")))
    content_type = response.content_type if status != 204 else None
    if content_type is not None and kind:
        if content_type.startswith("text/") and "charset=" not in content_type.lower():
            content_type += "; charset=utf-8"
        raw.append((b"content-type", content_type.encode("latin-1")))
    return raw


def _declared_length(headers: Headers) -> int | None:
    try:
        return int(headers["content-length"])
    except (KeyError, ValueError):
        return None


async def _chunks(receive: Receive) -> AsyncIterator[bytes]:
    """The request body's chunks as they arrive (:class:`ClientDisconnect` if the client
    leaves first)."""
    while True:
        message = await receive()
        if message["type"] == "http.request":
            chunk = message.get("body", b"")
            if chunk:
                yield chunk
            if not message.get("more_body", False):
                return
        elif message["type"] == "http.disconnect":
            raise ClientDisconnect()


async def _read_body(headers: Headers, receive: Receive) -> bytes | None:
    """The whole body, or ``None`` when it is larger than :data:`MAX_BODY_BYTES`."""
    declared = _declared_length(headers)
    if declared is not None and declared > MAX_BODY_BYTES:
        return None
    message = await receive()  # most bodies come in one message: no generator for them
    if message["type"] == "http.request" and not message.get("more_body", False):
        only: bytes = message.get("body", b"")
        return only if len(only) <= MAX_BODY_BYTES else None
    if message["type"] == "http.disconnect":
        raise ClientDisconnect()
    first: bytes = message.get("body", b"")
    chunks, size = [first], len(first)
    async for chunk in _chunks(receive):
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            break
    return b"".join(chunks) if size <= MAX_BODY_BYTES else None


async def _read_form(app: SandboxApp, headers: Headers, receive: Receive) -> tuple[Form, bool]:
    """The upload form, streamed to disk; whether the whole body was read."""
    declared = _declared_length(headers)
    limit = app.upload_max_bytes
    if declared is not None and declared > limit + FORM_ROOM:
        return Form(too_large=True, declared_size=declared), False
    reader = FormReader(headers.get("content-type", ""), app.state.upload_dir(),
                        max_file_bytes=limit)
    reader.form.declared_size = declared
    if reader.done:
        return reader.finish(), False
    async for chunk in _chunks(receive):
        reader.feed(chunk)
        if reader.done:
            return reader.finish(), False
    return reader.finish(), True


async def _close_connection(send: Send, receive: Receive) -> None:
    """Close the client's connection without a response, then wait until the server has
    seen it closed (so that nothing is sent on it and nothing is logged).

    ASGI cannot express "no response"; uvicorn's ``send`` belongs to the request cycle that
    owns the connection's transport, so closing that transport is what a dropped
    connection is. Other servers get a 500 instead (a failing test, not a silent change).
    """
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None or not hasattr(transport, "close"):
        raise RuntimeError("this ASGI server gives no way to drop a connection")
    transport.close()
    while (await receive())["type"] != "http.disconnect":
        pass
