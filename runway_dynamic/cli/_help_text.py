"""Wrapping help text without ever splitting a flag, a command name or a model id.

textwrap's default breaks after a hyphen inside a word, so help printed
``--allow-unknown-`` / ``model`` on two lines and a reader copied half a flag. Every
wrapped help text goes through here: :func:`wrap` for the tables we render ourselves,
:func:`help_command_class` for the help typer (its vendored click) renders.
"""

from __future__ import annotations

import re
import textwrap
from functools import cache
from typing import Any

#: A non-breaking hyphen: textwrap only breaks at ASCII hyphens and whitespace, so a word
#: whose inner hyphens are held as this stays whole; :func:`_release` turns them back.
_HELD = "\u2011"
_INNER_HYPHEN = re.compile(r"(?<=\S)-(?=\S)")


def wrap(text: str, width: int, **options: Any) -> list[str]:
    """``textwrap.wrap`` that breaks lines only at spaces."""
    return textwrap.wrap(text, width=width, break_on_hyphens=False, break_long_words=False,
                         **options)


def _hold(text: str) -> str:
    return _INNER_HYPHEN.sub(_HELD, text)


def _release(text: str) -> str:
    return text.replace(_HELD, "-")


@cache
def help_command_class() -> type[Any]:
    """typer's command class whose help formatter keeps hyphenated words whole.

    Built on first use so that paths printing no typer help never import typer's
    formatter; the formatter holds inner hyphens before click wraps and releases them
    when the help is read back, so widths and layout are click's own.
    """
    from typer._click.core import Context
    from typer._click.formatting import HelpFormatter
    from typer.core import TyperCommand

    class _Formatter(HelpFormatter):
        def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
            super().write_usage(_hold(prog), _hold(args), prefix)

        def write_text(self, text: str) -> None:
            super().write_text(_hold(text))

        def write_dl(self, rows: Any, col_max: int = 30, col_spacing: int = 2) -> None:
            super().write_dl([(first, _hold(second)) for first, second in rows],
                             col_max, col_spacing)

        def getvalue(self) -> str:
            return _release(super().getvalue())

    class _Context(Context):
        formatter_class = _Formatter

    class _Command(TyperCommand):
        context_class = _Context

    return _Command
