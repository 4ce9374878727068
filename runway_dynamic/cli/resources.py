"""``runway RESOURCE VERB``: a command for every operation of the spec, derived at run time.

Names come from :func:`runway_dynamic.cli._command_names.command_names` (``avatars list``,
``voices preview``, ``workflows run``…); the reference CLI's singular groups
(``avatar list``, ``workflow invocation``) are registry aliases onto them
(:data:`runway_dynamic.cli._command_names.REFERENCE_ALIASES`). Only the invoked operation's
command is built: the registry lists the names from the catalog, the factory :func:`build`
makes one.

Path parameters are positional arguments; query parameters and body fields are typed
flags named by the command builder (:mod:`runway_dynamic.cli._options`), merged over
``--body``. A list that pages with a cursor takes ``--all`` and follows the cursor field its
answer names; ``--format`` chooses JSON, YAML or a table. An operation that creates a task
takes the run options of :mod:`runway_dynamic.cli._run` (``--wait``, ``--download``…) and
runs like a generation command.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runway_dynamic._exceptions import UsageError
from runway_dynamic.catalog import LISTS, Catalog, Operation, flatten_object
from runway_dynamic.cli._command_names import REFERENCE_ALIASES, command_names
from runway_dynamic.cli._context import Invocation, current
from runway_dynamic.cli._options import (
    ALL_PAGES,
    BODY,
    DRY_RUN,
    FORMAT,
    JSON,
    CommandOptions,
)
from runway_dynamic.cli._registry import Built
from runway_dynamic.cli._run import runs_task

# --------------------------------------------------------------------------- the table


def command_table(catalog: Catalog) -> dict[tuple[str, str], Operation]:
    """``{(resource, verb): operation}`` for every operation of the spec, spec order."""
    names = command_names(
        (op.method, op.endpoint, [p.name for p in op.params("query")])
        for op in catalog.operations
    )
    return {names[(op.method, op.endpoint)]: op for op in catalog.operations}


def resolve(catalog: Catalog, path: tuple[str, ...]) -> Operation:
    """The operation behind a command path (a derived name or a reference alias)."""
    canonical = REFERENCE_ALIASES.get(path, path)
    table = command_table(catalog)
    found = table.get(canonical)  # type: ignore[arg-type]
    if found is None:
        from runway_dynamic.naming import closest

        names = [" ".join(p) for p in table]
        near = closest(" ".join(canonical), names)
        hint = f"; did you mean {' or '.join(near)}?" if near else ""
        raise UsageError(f"this spec has no operation for '{' '.join(canonical)}'{hint} "
                         "(runway --help lists the spec's commands)")
    return found


# --------------------------------------------------------------------------- paging


class Paging:
    """How a list pages: the cursor parameter, the answer's next-cursor and items fields."""

    __slots__ = ("cursor", "has_more", "items", "next")

    def __init__(self, cursor: str, next_field: str, items: str | None,
                 has_more: str | None) -> None:
        self.cursor = cursor
        self.next = next_field
        self.items = items
        self.has_more = has_more


def paging(operation: Operation) -> Paging | None:
    """The operation's paging, read from its query parameters and success schema.

    The cursor is the query parameter named ``cursor`` (or ending in ``Cursor``/``Token``);
    the next cursor is the answer's string property that names it (``nextCursor``); the
    items are the answer's one array property.
    """
    if operation.kind != LISTS:
        return None
    cursors = [p.name for p in operation.params("query")
               if p.name.lower() in ("cursor", "pagetoken", "page_token")
               or p.name.endswith(("Cursor", "Token"))]
    if not cursors:
        return None
    cursor = cursors[0]
    properties, _ = flatten_object(operation.success_schema() or {})
    stem = cursor.lower().replace("_", "")
    nexts = [name for name in properties if name != cursor and stem in name.lower()]
    if not nexts:
        return None
    arrays = [name for name, sub in properties.items() if sub.get("type") == "array"]
    booleans = [name for name, sub in properties.items()
                if sub.get("type") == "boolean" and "more" in name.lower()]
    return Paging(cursor, nexts[0], arrays[0] if len(arrays) == 1 else None,
                  booleans[0] if booleans else None)


# --------------------------------------------------------------------------- building


def command_options(operation: Operation) -> CommandOptions:
    """The options of an operation's command: path parameters as arguments, a flag for every
    query parameter and body field, then ``--body``, ``--all``, ``--format``… where they
    apply. An operation that creates a task gets a generation-style command."""
    if runs_task(operation):
        from runway_dynamic.cli import generate

        return generate.command_options(operation)
    own = [BODY] if operation.variants else []
    if paging(operation) is not None:
        own.append(ALL_PAGES)
    options = CommandOptions(own=[*own, FORMAT, DRY_RUN, JSON])
    options.claim_path_arguments(operation)
    options.claim(operation, locations=("body", "query", "header"))
    return options


def build(invocation: Invocation, args: list[str]) -> Built:
    """The command for ``invocation.path`` (only this operation's flags are made)."""
    operation = resolve(invocation.spec().catalog, invocation.path)
    if runs_task(operation):
        from runway_dynamic.cli import generate

        return generate.build_for_operation(invocation, operation, None)
    options = command_options(operation)
    pages = paging(operation)
    return Built(_command(operation, options, pages),
                 help=_help(invocation.path, operation, options, pages))


def _help(path: tuple[str, ...], operation: Operation, options: CommandOptions,
          pages: Paging | None) -> str:
    lines = [f"{operation.method} {operation.path}"]
    canonical = REFERENCE_ALIASES.get(path)
    if canonical is not None:
        lines.append(f"Same as 'runway {' '.join(canonical)}'.")
    if pages is not None:
        lines.append(f"Pages with {options.flag_for(pages.cursor, 'query')}; --all follows "
                     f"{pages.next} to the last page and prints every item.")
    lines.append("Output: a table on a terminal, JSON when piped or with --json; "
                 "--format json|yaml|table chooses.")
    return "\n\n".join(lines)


def _command(operation: Operation, options: CommandOptions, pages: Paging | None) -> Any:
    names = [a.param for a in options.arguments]
    params = options.path_parameters

    def run(values: dict[str, Any]) -> int:
        path_values = {params[p]: values.pop(p) for p in names}
        return execute(current(), operation, options, path_values, values, pages)

    return options.command(run)


# --------------------------------------------------------------------------- running


def execute(invocation: Invocation, operation: Operation, options: CommandOptions,
            path_values: Mapping[str, str], values: dict[str, Any],
            pages: Paging | None) -> int:
    """Send the request through ``runway call``'s path and print the answer."""
    from runway_dynamic.cli import _output, call

    fmt = _output.choose_format(values.pop("format"), invocation.wants_json(values["json"]))
    fetch_all = bool(values.pop("all_pages", False))
    if not (fetch_all and pages is not None) or values["dry_run"]:
        return call.execute(invocation, operation, options, path_values, values,
                            render=lambda data: _output.render(data, fmt))
    cursor_flag = options.field_option(pages.cursor, "query")
    collected: list[Any] = []
    pages_seen: list[Any] = []
    seen_cursors: set[str] = set()
    while True:
        code = call.execute(invocation, operation, options, path_values, dict(values),
                            render=pages_seen.append)
        if code:
            return code
        page = pages_seen[-1] if pages_seen else None
        items = _output.list_items(page)
        if items is None or not isinstance(page, Mapping):
            _output.render(page, fmt)
            return 0
        collected += items
        following = page.get(pages.next)
        more = page.get(pages.has_more) if pages.has_more else True
        if not following or more is False or following in seen_cursors or cursor_flag is None:
            break
        seen_cursors.add(str(following))
        values[cursor_flag.param] = following
    first = pages_seen[0]
    merged = {**first, **{k: v for k, v in pages_seen[-1].items() if k != pages.items}}
    if pages.items:
        merged[pages.items] = collected
    _output.render(merged, fmt)
    return 0
