"""``runway account``: the organization at a glance, the whole answer with ``--all``.

The command is the spec's organization operation (``organization get``) with one more
option; the summary is :mod:`runway_dynamic.cli._summary`, which reads the answer's shape
rather than Runway's field names, so a new limit or figure shows up without a change here.
"""

from __future__ import annotations

import sys
from typing import Any

from runway_dynamic.cli._context import Invocation, current, terminal_safe
from runway_dynamic.cli._options import extend, option
from runway_dynamic.cli._registry import Built

#: The derived command ``account`` stands for.
ORGANIZATION = ("organization", "get")

EVERYTHING = option(
    "everything", "--all", type=bool, default=False,
    help="Print the whole answer (every model's limits) instead of the summary.")


def build(invocation: Invocation, args: list[str]) -> Built:
    from runway_dynamic.cli import call, resources

    operation = resources.resolve(invocation.spec().catalog, ORGANIZATION)
    options = resources.command_options(operation)
    inner = options.command(lambda values: 0)

    def run(values: dict[str, Any]) -> int:
        everything = values.pop("everything")
        whole = (everything or values["dry_run"] or values["format"] is not None
                 or current().wants_json(values["json"]))
        if whole:
            if everything and values["format"] is None and not values["json"]:
                values["format"] = "yaml" if sys.stdout.isatty() else "json"
            return resources.execute(current(), operation, options, {}, values, None)
        values.pop("format")
        return call.execute(current(), operation, options, {}, values, render=_print_summary)

    help_text = (f"{operation.method} {operation.path}, summarised: credits, tier, and per "
                 "model what is used and what is left. --all prints the whole answer "
                 f"(--json: as JSON). Same request as 'runway {' '.join(ORGANIZATION)}'.")
    return Built(extend(inner, run, own=[EVERYTHING]), help=help_text)


def _print_summary(data: Any) -> None:
    from runway_dynamic.cli._summary import summarize

    for line in summarize(data):
        sys.stdout.write(terminal_safe(line) + "\n")
    sys.stdout.write("(runway account --all: the whole answer; --json: as JSON)\n")
