"""Wrapping help text without ever splitting a flag, a command name or a model id.

textwrap's default breaks after a hyphen inside a word, so help printed
``--allow-unknown-`` / ``model`` on two lines and a reader copied half a flag; and it cuts
a word longer than the column anywhere (``--co`` / ``ntent-moderation.public-figure-threshold``).
Every wrapped help text goes through here: :func:`wrap` for the tables we render
ourselves, :func:`help_command_class` for the help typer (its vendored click) renders. A
word longer than its column stays whole and overruns the line instead.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
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
    from typer._click import _textwrap
    from typer._click.core import Context
    from typer._click.formatting import HelpFormatter
    from typer.core import TyperCommand

    class _WholeWords(_textwrap.TextWrapper):
        # click's wrapper cuts a long word whatever break_long_words says; the standard
        # library's puts it whole on a line of its own when it is set to False.
        _handle_long_word = textwrap.TextWrapper._handle_long_word

        def __init__(self, *args: Any, **options: Any) -> None:
            super().__init__(*args, **{**options, "break_long_words": False})

    @contextmanager
    def whole_words() -> Iterator[None]:
        # click's wrap_text builds its TextWrapper from this module at each call and offers
        # no way to pass break_long_words; swapped only while our formatter writes.
        wrapper = _textwrap.TextWrapper
        _textwrap.TextWrapper = _WholeWords  # type: ignore[misc]
        try:
            yield
        finally:
            _textwrap.TextWrapper = wrapper  # type: ignore[misc]

    class _Formatter(HelpFormatter):
        def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
            with whole_words():
                super().write_usage(_hold(prog), _hold(args), prefix)

        def write_text(self, text: str) -> None:
            with whole_words():
                super().write_text(_hold(text))

        def write_dl(self, rows: Any, col_max: int = 30, col_spacing: int = 2) -> None:
            with whole_words():
                super().write_dl([(first, _hold(second)) for first, second in rows],
                                 col_max, col_spacing)

        def getvalue(self) -> str:
            return _release(super().getvalue())

    class _Context(Context):
        formatter_class = _Formatter

    class _Command(TyperCommand):
        context_class = _Context

    return _Command
