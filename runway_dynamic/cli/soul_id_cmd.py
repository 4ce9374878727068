"""``runway soul-id``: the local registry of reference photos (no API call)."""

from __future__ import annotations

from typing import Annotated

import typer

from runway_dynamic.cli._context import current, echo, emit_json
from runway_dynamic.cli._creative import JsonOption

IdArg = Annotated[str, typer.Argument(metavar="ID", show_default=False, help="A soul-id.")]


def create(
    name: Annotated[str, typer.Option("--name", metavar="NAME", show_default=False,
                                      help="Who the photos show.")],
    image: Annotated[list[str], typer.Option(
        "--image", metavar="PHOTO", show_default=False,
        help="A photo (repeatable); all are checked before anything is saved.")],
    variant: Annotated[str | None, typer.Option(
        "--variant", metavar="TEXT", show_default=False,
        help="A note on the look (kept with the id).")] = None,
    json: JsonOption = False,
) -> int:
    """Save reference photos under a new soul-id; prints the id."""
    from runway_dynamic.creative import soul_id

    made = soul_id.create(name, list(image), variant=variant)
    if current().wants_json(json):
        emit_json(made.to_dict())
    else:
        echo(made.id)
    return 0


def list_(json: JsonOption = False) -> int:
    """List the soul-ids (data dir and ~/.runway-cli/soul-ids)."""
    from runway_dynamic.creative import soul_id

    found = soul_id.list_all()
    if current().wants_json(json):
        emit_json([s.to_dict() for s in found])
        return 0
    for item in found:
        echo(f"{item.id}\t{item.name}\t{len(item.images)} photo(s)")
    return 0


def get(soul_id_: IdArg, json: JsonOption = False) -> int:
    """Show one soul-id and its photo paths."""
    from runway_dynamic.creative import soul_id

    found = soul_id.get(soul_id_)
    if current().wants_json(json):
        emit_json(found.to_dict())
    else:
        echo(f"{found.id}\t{found.name}")
        for path in found.image_paths:
            echo(str(path))
    return 0


def wait(soul_id_: IdArg, json: JsonOption = False) -> int:
    """Return at once: a local soul-id is ready as soon as it is created."""
    return get(soul_id_, json)


def delete(soul_id_: IdArg) -> int:
    """Delete a soul-id and its photos."""
    from runway_dynamic.creative import soul_id

    echo(str(soul_id.delete(soul_id_)))
    return 0
