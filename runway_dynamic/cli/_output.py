"""How resource commands print data: JSON, YAML, or a rich table/tree on a terminal.

The format is, in order: ``--format``, ``--json``, JSON when stdout is not a terminal
(pipes and scripts get JSON without asking), the ``output-format`` setting, a table.
Data goes to stdout only; rich is imported only when a table is actually drawn.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any

from runway_dynamic._exceptions import UsageError
from runway_dynamic.cli._context import emit_json, filtered, terminal_safe

FORMATS = ("json", "yaml", "table")
#: Columns a list table shows at most (the rest is in --format json).
_MAX_COLUMNS = 6
_MAX_CELL = 48


def choose_format(chosen: str | None, as_json: bool, *, isatty: bool | None = None) -> str:
    """The output format of this run (see the module docstring for the order)."""
    if chosen is not None:
        if chosen not in FORMATS:
            raise UsageError(f"--format must be one of {', '.join(FORMATS)}, got {chosen!r}")
        return chosen
    if as_json:
        return "json"
    tty = sys.stdout.isatty() if isatty is None else isatty
    if not tty:
        return "json"
    from runway_dynamic import config

    configured = config.get("output-format")
    return configured if configured in FORMATS else "table"


def render(data: Any, fmt: str) -> None:
    """Print ``data`` in ``fmt`` (``None``, e.g. a 204 answer, prints nothing)."""
    if data is None:
        return
    if fmt == "json":
        emit_json(data)  # filtered there
        return
    data = filtered(data)
    if fmt == "yaml":
        import yaml

        sys.stdout.write(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    else:
        _render_rich(data)


def list_items(data: Any) -> list[Any] | None:
    """The items of a list answer: the answer itself, or its one array property (``data``)."""
    if isinstance(data, list):
        return data
    if isinstance(data, Mapping):
        arrays = [v for v in data.values() if isinstance(v, list)]
        if len(arrays) == 1:
            return arrays[0]
    return None


def _cell(value: Any) -> str:
    """A value as table text: JSON for structures, cut to the column width, and stripped of
    terminal control sequences (the data comes from a server)."""
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        import orjson

        text = orjson.dumps(value).decode()
    else:
        text = terminal_safe(str(value))
    return text if len(text) <= _MAX_CELL else text[: _MAX_CELL - 1] + "…"


def columns(items: Sequence[Any]) -> list[str]:
    """The columns of a list table: scalar keys, ``id``/``name``/``status`` first."""
    seen: dict[str, int] = {}
    for item in items:
        if isinstance(item, Mapping):
            for key, value in item.items():
                if not isinstance(value, (dict, list)):
                    seen[key] = seen.get(key, 0) + 1
    preferred = [k for k in ("id", "name", "status") if k in seen]
    rest = [k for k in seen if k not in preferred]
    return (preferred + rest)[:_MAX_COLUMNS]


def _render_rich(data: Any) -> None:
    from rich.console import Console

    console = Console(file=sys.stdout, soft_wrap=False)
    items = list_items(data)
    if items is not None and all(isinstance(i, Mapping) for i in items):
        from rich.markup import escape
        from rich.table import Table

        names = columns(items)
        table = Table(show_edge=False, header_style="bold")
        for name in names:
            table.add_column(escape(terminal_safe(name)), overflow="fold")
        for item in items:
            table.add_row(*(escape(_cell(item.get(n))) for n in names))
        console.print(table)
        if isinstance(data, Mapping):
            extra = {k: v for k, v in data.items() if not isinstance(v, list) and v is not None}
            if extra:
                console.print(" ".join(f"{k}={_cell(v)}" for k, v in extra.items()),
                              style="dim", markup=False)
        return
    from rich.tree import Tree

    tree = Tree("[bold]result[/]")
    _grow(tree, data)
    console.print(tree)


def _grow(node: Any, value: Any) -> None:
    from rich.markup import escape

    if isinstance(value, Mapping):
        for key, sub in value.items():
            if isinstance(sub, (dict, list)) and sub:
                _grow(node.add(f"[bold]{escape(str(key))}[/]"), sub)
            else:
                node.add(f"[bold]{escape(str(key))}[/]: {escape(_cell(sub))}")
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            if isinstance(sub, (dict, list)) and sub:
                _grow(node.add(f"[dim]{index}[/]"), sub)
            else:
                node.add(escape(_cell(sub)))
    else:
        node.add(escape(_cell(value)))
