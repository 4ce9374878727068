"""The ``runway`` command line.

``main()`` is a small dispatcher: it reads the global options and the command path from
argv itself, then builds a typer app holding only the invoked command (see
:mod:`runway_dynamic.cli._dispatch`). Start-up cost is what one typer command costs, no
matter how many commands exist or how many operations the spec has.
"""

from __future__ import annotations

from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI on ``argv`` and return the exit code.

    Called without ``argv`` (the ``runway`` console script, ``python -m runway_dynamic``)
    it reads ``sys.argv`` and, once everything is flushed and the exit handlers have run,
    ends the process at once: tearing down typer's and the catalog's objects one by one
    costs a fifth of the run time and does nothing useful. Called with ``argv`` (tests,
    embedding) it simply returns.
    """
    from runway_dynamic.cli._dispatch import run

    code = run(argv)
    if argv is None:
        from runway_dynamic.cli._dispatch import fast_exit

        fast_exit(code)
    return code


__all__ = ["main"]
