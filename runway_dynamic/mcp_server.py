"""An MCP server exposing the spec's tools and a ``runway://models`` resource.

Built on the low-level ``Server`` of the official ``mcp`` SDK (``pip install
'runway-dynamic[mcp]'``), so every tool's ``inputSchema`` is exactly the one
:mod:`runway_dynamic.tools` derives from the catalog. Pre-flight and API errors come back
as tool results with ``isError`` and a text naming the argument and the fix; a long
task reports MCP progress notifications when the client sent a ``progressToken``.

::

    python -m runway_dynamic.mcp_server                       # stdio, key from RUNWAY_API_KEY
    python -m runway_dynamic.mcp_server --http --port 8765    # streamable HTTP on 127.0.0.1

The API key is read from ``--api-key`` or the usual environment/config (see
:mod:`runway_dynamic.auth`); it is never echoed in results, errors or logs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from runway_dynamic._exceptions import RunwayError, UsageError
from runway_dynamic._version import __version__
from runway_dynamic.tools import Progress, Toolbox, models_overview, render_error, tool_error

if TYPE_CHECKING:
    from mcp.server.lowlevel import Server

    from runway_dynamic.client import AsyncRunwayClient
    from runway_dynamic.history import HistoryStore
    from runway_dynamic.spec import Spec

SERVER_NAME = "runway-dynamic"
MODELS_URI = "runway://models"
DEFAULT_HTTP_HOST = "127.0.0.1"
DEFAULT_HTTP_PORT = 8765
HTTP_PATH = "/mcp"

logger = logging.getLogger("runway_dynamic.mcp")

_INSTRUCTIONS = (
    "Tools that generate media with Runway. Pick a model from a tool's `model` enum (or read "
    "runway://models, or call runway_models_schema) and pass the fields that model takes. "
    "Arguments are checked before anything is sent: an error result names the field to fix "
    "and the values it accepts. Generation calls wait for the task and return output URLs; "
    "if a wait runs out, continue with runway_task_wait. Pass local files through "
    "runway_upload first."
)


def _require_mcp() -> None:
    try:
        import mcp  # noqa: F401
    except ImportError:  # pragma: no cover - the extra is installed in tests
        raise UsageError(
            "the MCP server needs the mcp package: pip install 'runway-dynamic[mcp]'"
        ) from None


def build_server(
    spec: Spec,
    client: AsyncRunwayClient,
    *,
    endpoints: Sequence[str] | None = None,
    wait_timeout: float | None = None,
) -> Server[Any]:
    """The low-level MCP server for ``spec``, calling Runway through ``client``."""
    _require_mcp()
    import anyio
    import mcp_types as types
    from mcp.server.lowlevel import Server

    toolbox = Toolbox(spec, endpoints)
    listed = [types.Tool.model_validate(t) for t in toolbox.export("mcp")]
    timeout_kw: dict[str, Any] = {} if wait_timeout is None else {"timeout": wait_timeout}

    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=listed)

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        send, receive = anyio.create_memory_object_stream[Progress](math.inf)
        reporter = _ProgressReporter(ctx)

        async def pump() -> None:
            async with receive:
                async for event in receive:
                    await reporter.report(event)

        result: dict[str, Any] | None = None
        failure: BaseException | None = None
        async with anyio.create_task_group() as group:
            group.start_soon(pump)
            with send:  # closing it ends the pump once the call is over
                try:
                    result = await toolbox.acall(
                        params.name, params.arguments or {}, client=client,
                        on_progress=send.send_nowait, **timeout_kw,
                    )
                except Exception as exc:  # every failure becomes a tool result
                    failure = exc
        if isinstance(failure, RunwayError):
            return _error_result(types, failure)
        if failure is not None or result is None:
            logger.error("tool %s crashed", params.name, exc_info=failure)
            return types.CallToolResult(
                content=[types.TextContent(type="text", text=(
                    f"internal error in {params.name}: {type(failure).__name__}; the call may "
                    "or may not have reached Runway. Report this as a bug."))],
                is_error=True,
            )
        await reporter.finish(result)
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=json.dumps(result, indent=2))],
            structured_content=result,
        )

    async def list_resources(ctx: Any, params: Any) -> types.ListResourcesResult:
        return types.ListResourcesResult(resources=[types.Resource(
            uri=MODELS_URI, name="models", mime_type="application/json",
            description="Runway endpoints and their models, and per model the required and "
            "optional fields and ratios of each endpoint (from the loaded spec).",
        )])

    async def read_resource(ctx: Any, params: types.ReadResourceRequestParams) -> Any:
        if str(params.uri) != MODELS_URI:
            from mcp.shared.exceptions import MCPError

            raise MCPError(code=types.INVALID_PARAMS,
                           message=f"unknown resource {params.uri}; this server has {MODELS_URI}")
        text = json.dumps(models_overview(spec), indent=2)
        return types.ReadResourceResult(contents=[
            types.TextResourceContents(uri=MODELS_URI, mime_type="application/json", text=text)
        ])

    return Server(
        SERVER_NAME,
        version=__version__,
        instructions=_INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_resources=list_resources,
        on_read_resource=read_resource,
    )


def _error_result(types: Any, exc: RunwayError) -> Any:
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=render_error(exc))],
        structured_content=tool_error(exc),
        is_error=True,
    )


class _ProgressReporter:
    """MCP progress for one call: 0-100, strictly increasing (as the protocol asks)."""

    def __init__(self, ctx: Any) -> None:
        self._ctx = ctx
        self._last = -1.0
        self._task: str | None = None

    async def report(self, event: Progress) -> None:
        self._task = event.task_id
        value = round(100.0 * event.progress, 1) if event.progress is not None else 0.0
        if value <= self._last:
            return
        self._last = value
        await self._send(value, f"task {event.task_id}: {event.status} after "
                                f"{event.elapsed:.1f}s")

    async def finish(self, result: dict[str, Any]) -> None:
        if self._task is not None and result.get("done") and self._last < 100.0:
            self._last = 100.0
            await self._send(100.0, f"task {self._task}: {result.get('status')}")

    async def _send(self, value: float, message: str) -> None:
        try:
            await self._ctx.session.report_progress(value, 100.0, message)
        except Exception:  # progress is best effort; the call goes on
            logger.debug("progress notification not delivered", exc_info=True)


# --------------------------------------------------------------------------- running


def _make_client(
    spec: Spec, base_url: str | None, api_key: str | None, poll_interval: float | None,
    sealed: bool = False, history: HistoryStore | None = None,
) -> AsyncRunwayClient:
    from runway_dynamic.client import AsyncRunwayClient

    extra: dict[str, Any] = {} if poll_interval is None else {"poll_interval": poll_interval}
    return AsyncRunwayClient(api_key, base_url=base_url, spec=spec, sealed=sealed,
                             history=history, **extra)


async def serve_stdio(
    spec: Spec,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    endpoints: Sequence[str] | None = None,
    wait_timeout: float | None = None,
    poll_interval: float | None = None,
    sealed: bool = False,
    history: HistoryStore | None = None,
) -> None:
    """Serve over stdin/stdout until the client closes the connection."""
    _require_mcp()
    from mcp.server.stdio import stdio_server

    async with _make_client(spec, base_url, api_key, poll_interval, sealed,
                            history) as client:
        server = build_server(spec, client, endpoints=endpoints, wait_timeout=wait_timeout)
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())


async def serve_http(
    spec: Spec,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    host: str = DEFAULT_HTTP_HOST,
    port: int = DEFAULT_HTTP_PORT,
    endpoints: Sequence[str] | None = None,
    wait_timeout: float | None = None,
    poll_interval: float | None = None,
    sealed: bool = False,
    history: HistoryStore | None = None,
) -> None:
    """Serve streamable HTTP at ``http://host:port/mcp``; loopback hosts only.

    The endpoint has no authentication of its own and spends the Runway key, so it must
    not be reachable from other machines.
    """
    _require_mcp()
    check_loopback(host)
    import uvicorn

    async with _make_client(spec, base_url, api_key, poll_interval, sealed,
                            history) as client:
        server = build_server(spec, client, endpoints=endpoints, wait_timeout=wait_timeout)
        app = server.streamable_http_app(streamable_http_path=HTTP_PATH, host=host)
        config = uvicorn.Config(app, host=host, port=port, log_level="warning")
        await uvicorn.Server(config).serve()


def check_loopback(host: str) -> None:
    """Refuse to listen anywhere but this machine."""
    from runway_dynamic.boundary import is_loopback_host

    if not is_loopback_host(host):
        raise UsageError(
            f"--host {host} is not a loopback address; the MCP HTTP endpoint has no "
            "authentication and spends your Runway key, so it listens on 127.0.0.1, ::1 or "
            "localhost only"
        )


def serve(
    spec: Spec,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    http: bool = False,
    host: str = DEFAULT_HTTP_HOST,
    port: int = DEFAULT_HTTP_PORT,
    endpoints: Sequence[str] | None = None,
    wait_timeout: float | None = None,
    poll_interval: float | None = None,
    sealed: bool = False,
    history: HistoryStore | None = None,
) -> None:
    """Run the server (blocking): stdio by default, streamable HTTP with ``http=True``.

    ``sealed``: the client is a sandbox client (loopback only; see runway_dynamic.boundary).
    ``history``: where the tool calls' creates are recorded (see runway_dynamic.history).
    """
    import anyio

    if http:
        check_loopback(host)
    # Ctrl-C is how a foreground server is stopped: a normal end (exit 0), as for
    # `runway sandbox serve`, not an interrupted command.
    with contextlib.suppress(KeyboardInterrupt):
        if http:
            anyio.run(lambda: serve_http(spec, base_url=base_url, api_key=api_key, host=host,
                                         port=port, endpoints=endpoints,
                                         wait_timeout=wait_timeout, poll_interval=poll_interval,
                                         sealed=sealed, history=history))
        else:
            anyio.run(lambda: serve_stdio(spec, base_url=base_url, api_key=api_key,
                                          endpoints=endpoints, wait_timeout=wait_timeout,
                                          poll_interval=poll_interval, sealed=sealed,
                                          history=history))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m runway_dynamic.mcp_server``: the same server without the CLI."""
    parser = argparse.ArgumentParser(
        prog="python -m runway_dynamic.mcp_server",
        description="Serve Runway generation tools over MCP (stdio, or streamable HTTP).",
    )
    parser.add_argument("--spec", help="spec path or URL (default: RUNWAY_SPEC, pulled, bundled)")
    parser.add_argument("--base-url", help="API base URL (default: RUNWAY_BASE_URL or the spec's)")
    parser.add_argument("--api-key", help="API key (default: RUNWAY_API_KEY or saved config); "
                        "prefer the environment: arguments are visible to other processes")
    parser.add_argument("--http", action="store_true", help="serve streamable HTTP on loopback")
    parser.add_argument("--host", default=DEFAULT_HTTP_HOST, help="loopback address for --http")
    parser.add_argument("--port", type=int, default=DEFAULT_HTTP_PORT, help="port for --http")
    parser.add_argument("--endpoints", nargs="*", help="only these generation endpoints")
    parser.add_argument("--wait-timeout", type=float, help="seconds a call waits for its task")
    parser.add_argument("--poll-interval", type=float, help="seconds between task polls")
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("RUNWAY_LOG_LEVEL", "WARNING"), stream=sys.stderr)
    from runway_dynamic.spec import load_spec

    try:
        spec = load_spec(args.spec)
        serve(spec, base_url=args.base_url, api_key=args.api_key, http=args.http,
              host=args.host, port=args.port, endpoints=args.endpoints,
              wait_timeout=args.wait_timeout, poll_interval=args.poll_interval)
    except RunwayError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
