"""Help that wrapping only re-spaces: no flag, command name or model id cut in two."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from runway_dynamic.cli._help_text import help_command_class

#: Wide enough that click wraps nothing.
UNWRAPPED = 100_000


def assert_only_rewrapped(render: Callable[[], str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The help as printed and the same help unwrapped hold the same words.

    Wrapping may only change whitespace; a word cut at a hyphen (``--allow-unknown-`` /
    ``model``) or anywhere in a word longer than its column (``--co`` / ``ntent-…``) shows
    up as a different sequence of words.
    """
    printed = render()
    context = help_command_class().context_class
    formatter = context.formatter_class

    used: list[bool] = []

    class Unwrapped(formatter):  # type: ignore[misc, valid-type]
        def __init__(self, **_: Any) -> None:
            super().__init__(width=UNWRAPPED, max_width=UNWRAPPED)
            used.append(True)

    with monkeypatch.context() as patch:
        patch.setattr(context, "formatter_class", Unwrapped)
        whole = render()
    assert used and whole.split(), "the help was not rendered by the CLI's help formatter"
    for shown, meant in zip(printed.split(), whole.split(), strict=False):
        assert shown == meant, f"help cuts {meant!r} into {shown!r}…"
    assert len(printed.split()) == len(whole.split())
