"""``runway help exit-codes``: what each exit status of ``runway`` means."""

from __future__ import annotations

from runway_dynamic.cli._context import echo
from runway_dynamic.cli._run import EXIT_CODES_TEXT


def exit_codes() -> int:
    """What each exit status of runway means."""
    echo("Exit codes of runway:")
    echo(EXIT_CODES_TEXT)
    return 0
