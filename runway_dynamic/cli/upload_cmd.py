"""``runway upload create FILE``: upload a local file; print its ``runway://`` URI."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from runway_dynamic.cli._clients import make_client
from runway_dynamic.cli._context import current, echo, emit_json


def create(
    file: Annotated[str, typer.Argument(metavar="FILE", show_default=False,
                                        help="The file to upload.")],
    metadata: Annotated[str | None, typer.Option(
        "--metadata", metavar="TEXT", show_default=False,
        help="Text sent with the file as the upload's metadata (e.g. a JSON object).")] = None,
    json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> int:
    """Upload a local file; prints its runway:// URI.

    Give the URI to any media flag. The upload is ephemeral (the spec's upload type).
    """
    from runway_dynamic.uploads import check_readable

    invocation = current()
    invocation.json = invocation.wants_json(json)
    path = Path(file).expanduser()
    size = check_readable(path, "upload create")
    with make_client(invocation) as client:
        uri = client.upload(path, metadata=metadata)
    if invocation.json:
        emit_json({"uri": uri, "file": str(path), "bytes": size})
    else:
        echo(uri)
    return 0
