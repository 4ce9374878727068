"""``runway RESOURCE VERB``: a command for every operation of the spec, derived at run time.

Names come from :func:`runway_dynamic.naming.command_names` (``avatars list``,
``voices preview``, ``workflows run``…); the reference CLI's singular groups
(``avatar list``, ``workflow invocation``, ``account``) are registry aliases onto them
(:data:`runway_dynamic.naming.REFERENCE_ALIASES`). Only the invoked operation's command is
built: the registry lists the names from the catalog, the factory :func:`build` makes one.

Path parameters are positional arguments; query parameters and body fields are the typed
flags of ``runway call`` (:mod:`runway_dynamic.cli._flags`), merged over ``--body``. A list
that pages with a cursor takes ``--all`` and follows the cursor field its answer names. An
operation that creates a task takes the run options of :mod:`runway_dynamic.cli._run`
(``--wait``, ``--download``…) and runs like a generation command.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any

from runway_dynamic._exceptions import UsageError
from runway_dynamic.catalog import CREATES_TASK, LISTS, Catalog, Operation, flatten_object
from runway_dynamic.cli._context import Invocation, current
from runway_dynamic.cli._registry import Built
from runway_dynamic.naming import REFERENCE_ALIASES, command_names, kebab

if TYPE_CHECKING:
    from runway_dynamic.cli._flags import FlagSpec

#: Options of every resource command besides the spec-derived flags.
RESOURCE_OPTIONS = frozenset({"body", "dry-run", "json", "output", "all"})


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


def _path_params(operation: Operation) -> list[str]:
    names = [seg[1:-1] for seg in operation.endpoint.split("/")
             if seg.startswith("{") and seg.endswith("}")]
    return names


def resource_flags(operation: Operation, extra_reserved: frozenset[str] = frozenset()
                   ) -> list[FlagSpec]:
    """The operation's flags without its path parameters (those are positional)."""
    from runway_dynamic.cli._flags import RESERVED, operation_flags

    flags = operation_flags(operation, RESERVED | RESOURCE_OPTIONS | extra_reserved)
    return [f for f in flags if f.location != "path"]


def build(invocation: Invocation, args: list[str]) -> Built:
    """The command for ``invocation.path`` (only this operation's flags are made)."""
    spec = invocation.spec()
    catalog = spec.catalog
    operation = resolve(catalog, invocation.path)
    if operation.kind == CREATES_TASK:
        from runway_dynamic.cli import generate

        return generate.build_for_operation(invocation, operation, None)
    flags = resource_flags(operation)
    pages = paging(operation)
    function = _command(operation, flags, pages)
    return Built(function, help=_help(invocation.path, operation, pages))


def _help(path: tuple[str, ...], operation: Operation, pages: Paging | None) -> str:
    lines = [f"{operation.method} {operation.path}"]
    canonical = REFERENCE_ALIASES.get(path)
    if canonical is not None:
        lines.append(f"Same as 'runway {' '.join(canonical)}'.")
    if pages is not None:
        lines.append(f"Pages with --{kebab(pages.cursor)}; --all follows {pages.next} to the "
                     "last page and prints every item.")
    lines.append("Output: a table on a terminal, JSON when piped or with --json; "
                 "--output json|yaml|table chooses.")
    return "\n\n".join(lines)


def _command(operation: Operation, flags: list[FlagSpec], pages: Paging | None) -> Any:
    import typer

    from runway_dynamic.cli._flags import typer_parameters

    positional = [
        inspect.Parameter(
            f"path_{index}", inspect.Parameter.POSITIONAL_OR_KEYWORD,
            annotation=Annotated[str, typer.Argument(
                metavar=kebab(name).upper().replace("-", "_"), show_default=False,
                help=f"The {name} in {operation.path}.")])
        for index, name in enumerate(_path_params(operation))
    ]
    variant_keys = [v.key for v in operation.variants]
    kw = inspect.Parameter.KEYWORD_ONLY
    own = [
        *positional,
        *typer_parameters(flags, variant_keys),
    ]
    if operation.variants:
        own.append(inspect.Parameter("body", kw, default=None, annotation=Annotated[
            str | None, typer.Option("--body", metavar="JSON|@FILE|-",
                                     help="Request body as JSON, @file or - (stdin); flags "
                                          "merge over it.")]))
    if pages is not None:
        own.append(inspect.Parameter("all_pages", kw, default=False, annotation=Annotated[
            bool, typer.Option("--all", help="Fetch every page and print all items.")]))
    own += [
        inspect.Parameter("output", kw, default=None, annotation=Annotated[
            str | None, typer.Option("--output", "-o", metavar="json|yaml|table",
                                     show_default=False,
                                     help="Output format (default: table on a terminal, "
                                          "else JSON).")]),
        inspect.Parameter("dry_run", kw, default=False, annotation=Annotated[
            bool, typer.Option("--dry-run", help="Print the exact request and exit; nothing "
                                                 "is sent and no key is needed.")]),
        inspect.Parameter("json", kw, default=False, annotation=Annotated[
            bool, typer.Option("--json", help="JSON output (and JSON errors on stderr).")]),
    ]
    names = _path_params(operation)

    def command(**values: Any) -> int:
        path_values = {name: values.pop(f"path_{i}") for i, name in enumerate(names)}
        return execute(current(), operation, flags, path_values, values, pages)

    command.__signature__ = inspect.Signature(own)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in own}
    return command


# --------------------------------------------------------------------------- running


def execute(invocation: Invocation, operation: Operation, flags: list[FlagSpec],
            path_values: Mapping[str, str], values: dict[str, Any],
            pages: Paging | None) -> int:
    """Send the request through ``runway call``'s path and print the answer."""
    from runway_dynamic.cli import _output, call

    fmt = _output.choose_format(values.pop("output"), invocation.wants_json(values["json"]))
    fetch_all = bool(values.pop("all_pages", False))
    values.setdefault("body", None)
    if not (fetch_all and pages is not None) or values["dry_run"]:
        return call.execute(invocation, operation, flags, path_values, values,
                            render=lambda data: _output.render(data, fmt))
    cursor_flag = next((f for f in flags if f.location == "query" and f.name == pages.cursor),
                       None)
    collected: list[Any] = []
    pages_seen: list[Any] = []
    seen_cursors: set[str] = set()
    while True:
        code = call.execute(invocation, operation, flags, path_values, dict(values),
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
