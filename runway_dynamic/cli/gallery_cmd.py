"""``runway gallery create``: one HTML page of generated media (no API call)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from runway_dynamic.cli._context import echo


def create(
    input: Annotated[str, typer.Option(
        "--input", metavar="DIR", help="Folder with the outputs.")] = ".",
    output: Annotated[str | None, typer.Option(
        "-o", "--output", metavar="FILE", show_default=False,
        help="The page to write (default: DIR/gallery.html).")] = None,
    recursive: Annotated[bool, typer.Option(
        "--recursive", help="Include sub-folders.")] = False,
    title: Annotated[str | None, typer.Option(
        "--title", metavar="TEXT", show_default=False, help="Page title.")] = None,
    metadata: Annotated[str | None, typer.Option(
        "--metadata", metavar="PLAN", show_default=False,
        help="A short-video or recipe plan: keyframe and clip side by side per shot/job, "
             "with model, ratio, prompt and a regenerate command.")] = None,
    from_history: Annotated[bool, typer.Option(
        "--from-history", help="One tile per history entry whose outputs were saved "
                               "(--download), with its prompt and 'runway history rerun ID'.")
    ] = False,
    since: Annotated[str | None, typer.Option(
        "--since", metavar="WHEN", show_default=False,
        help="With --from-history: entries since WHEN (1d, 12h, 2026-11-30).")] = None,
) -> int:
    """Write a self-contained HTML gallery of images, videos and audio; prints its path."""
    from runway_dynamic._exceptions import UsageError
    from runway_dynamic.creative.gallery import create_gallery

    entries = None
    if from_history:
        if metadata is not None:
            raise UsageError("give --from-history or --metadata, not both")
        from runway_dynamic.cli.history_cmd import filters, open_store

        with open_store() as store:
            entries = store.entries(filters(None, None, None, since, None, None))
    elif since is not None:
        raise UsageError("--since goes with --from-history")
    page = create_gallery(Path(input).expanduser(), Path(output).expanduser() if output else None,
                          recursive=recursive, title=title,
                          metadata=Path(metadata).expanduser() if metadata else None,
                          entries=entries, since=since)
    echo(str(page))
    return 0
