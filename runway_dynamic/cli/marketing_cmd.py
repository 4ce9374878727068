"""``runway marketing-studio``: the reference CLI's marketing verbs on our engine."""

from __future__ import annotations

from typing import Annotated

import typer

from runway_dynamic.cli._context import Invocation, current, echo, emit_json
from runway_dynamic.cli._creative import JsonOption
from runway_dynamic.cli._registry import Built

#: The command ``marketing-studio avatars list`` stands for.
AVATARS_LIST = ("avatars", "list")


def avatars_list(invocation: Invocation, args: list[str]) -> Built:
    """``marketing-studio avatars list`` is the avatar list command itself (same flags)."""
    from runway_dynamic.cli import resources

    invocation.path = AVATARS_LIST
    built: Built = resources.build(invocation, args)
    return built


def webproducts_fetch(
    url: Annotated[str, typer.Option("--url", metavar="URL", show_default=False,
                                     help="A product page (http or https).")],
    max_bytes: Annotated[int, typer.Option(
        "--max-bytes", metavar="N", help="Refuse pages larger than this.")] = 3 * 1024 * 1024,
    timeout: Annotated[float, typer.Option(
        "--timeout", metavar="SECONDS", help="Give up reading the page after this long.")
    ] = 15.0,
    json: JsonOption = False,
) -> int:
    """Read a product page's title, description, images, price and brand (no API call)."""
    from runway_dynamic.creative.webproducts import fetch_product

    product = fetch_product(url, max_bytes=max_bytes, time_limit=timeout,
                            boundary=current().boundary)
    if current().wants_json(json):
        emit_json(product)
        return 0
    price = product.get("price") or {}
    for label, value in (("title", product["title"]), ("brand", product["brand"]),
                         ("price", " ".join(str(v) for v in (price.get("amount"),
                                                              price.get("currency")) if v)),
                         ("description", product["description"]), ("url", product["url"])):
        if value:
            echo(f"{label}: {value}")
    for image in product["images"]:
        echo(f"image: {image}")
    return 0
