"""``runway mcp serve``: the MCP server over stdio, or streamable HTTP on loopback."""

from __future__ import annotations

from typing import Annotated

import typer

from runway_dynamic.cli._context import current


def serve(
    http: Annotated[bool, typer.Option(
        "--http", help="Serve streamable HTTP at http://HOST:PORT/mcp instead of stdio.")] = False,
    port: Annotated[int, typer.Option("--port", metavar="PORT",
                                      help="Port for --http.")] = 8765,
    host: Annotated[str, typer.Option(
        "--host", metavar="HOST",
        help="Loopback address for --http (127.0.0.1, ::1 or localhost only).")] = "127.0.0.1",
    base_url: Annotated[str | None, typer.Option(
        "--base-url", metavar="URL", show_default=False,
        help="API base URL (default: $RUNWAY_BASE_URL, then the spec's server).")] = None,
    endpoints: Annotated[list[str] | None, typer.Option(
        "--endpoints", metavar="ENDPOINT[,ENDPOINT…]", show_default=False,
        help="Offer only these generation endpoints as tools.")] = None,
    wait_timeout: Annotated[float | None, typer.Option(
        "--wait-timeout", metavar="SECONDS", show_default=False,
        help="How long a tool call waits for its task before answering with its id.")] = None,
    poll_interval: Annotated[float | None, typer.Option(
        "--poll-interval", metavar="SECONDS", show_default=False,
        help="Seconds between task polls.")] = None,
) -> int:
    """Serve the spec's tools and a runway://models resource over MCP.

    The API key is found as for every other command ($RUNWAY_API_KEY first); with the
    global --sandbox the tools run against an in-process sandbox (no key, nothing billed)
    for as long as the server runs. Tool errors
    (pre-flight, API, failed tasks) come back as MCP tool errors naming the field to fix;
    long tasks send progress notifications. Needs: pip install 'runway-dynamic[mcp]'.
    """
    from runway_dynamic.cli import _clients
    from runway_dynamic.mcp_server import check_loopback
    from runway_dynamic.mcp_server import serve as run_server

    invocation = current()
    if http:
        check_loopback(host)
    if base_url is not None:
        invocation.boundary.check_outbound(base_url, "mcp serve --base-url")
        from runway_dynamic.boundary import check_base_url

        check_base_url(base_url)
    url = base_url or _clients.base_url(invocation)
    key = _clients.require_api_key(invocation)
    wanted = [e for item in endpoints or () for e in item.split(",") if e.strip()] or None
    run_server(invocation.spec(), base_url=url, api_key=key, http=http, host=host, port=port,
               endpoints=wanted, wait_timeout=wait_timeout,
               poll_interval=_clients.poll_interval(invocation, poll_interval),
               sealed=invocation.boundary.sealed, history=_clients.history(invocation))
    return 0
