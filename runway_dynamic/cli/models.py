"""``runway models``, ``models schema`` and ``models ratios``: what the spec offers."""

from __future__ import annotations

from typing import Annotated

import typer

from runway_dynamic._exceptions import RunwayError
from runway_dynamic.catalog import Catalog, Variant, closest_ratios, ratio_aspect
from runway_dynamic.cli._context import Invocation, current, echo, emit_json, warn
from runway_dynamic.naming import closest

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


class NotInSpecError(RunwayError):
    """A model or ratio the spec does not know (exit 1), with the closest known names."""

    def __init__(self, kind: str, name: str, suggestions: list[str], message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.name = name
        self.suggestions = suggestions

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "kind": self.kind, "name": self.name,
                "suggestions": self.suggestions}


#: The widest a listing line gets, terminal or not (a model id is never cut).
LISTING_COLUMNS = 80


def list_models(json: JsonOption = False) -> int:
    """List the model endpoints, the command that serves each, and their model ids."""
    import shutil

    from runway_dynamic.cli._help_text import wrap

    invocation = current()
    catalog = invocation.spec().catalog
    table = {endpoint: catalog.models(endpoint) for endpoint in catalog.endpoints()}
    commands = _serving_commands(invocation, table)
    if invocation.wants_json(json):
        emit_json({"endpoints": table, "commands": commands})
        return 0
    columns = min(LISTING_COLUMNS, shutil.get_terminal_size((LISTING_COLUMNS, 24)).columns)
    for endpoint, models in table.items():
        echo(f"{endpoint} (runway {commands[endpoint]})")
        # ", " is the only place a line may break: at a model boundary
        echo("\n".join(wrap(", ".join(models), columns, initial_indent="    ",
                             subsequent_indent="    ")))
    return 0


def _serving_commands(invocation: Invocation, endpoints: dict[str, list[str]]
                      ) -> dict[str, str]:
    """Each model endpoint's command: its generation command, else the command the spec's
    operation gets (``runway call ENDPOINT`` works for all)."""
    from runway_dynamic.cli import _registry
    from runway_dynamic.cli._command_names import GENERATION_COMMANDS

    out: dict[str, str] = {}
    for words, endpoint in GENERATION_COMMANDS.items():
        out.setdefault(endpoint, " ".join(words))
    catalog = invocation.spec().catalog
    by_help = {c.help: " ".join(c.path) for c in _registry.derived(invocation)}
    for endpoint in endpoints:
        if endpoint not in out:
            op = catalog.model_operation(endpoint)
            found = by_help.get(f"{op.method} {op.path}") if op is not None else None
            out[endpoint] = found or f"call {endpoint}"
    return {endpoint: out[endpoint] for endpoint in endpoints}


def schema(
    model: Annotated[str, typer.Argument(metavar="MODEL", help="A model id, e.g. gen4.5.",
                                         show_default=False)],
    json: JsonOption = False,
) -> int:
    """Show a model's required and optional fields and ratios, per endpoint.

    Fields are listed by their spec name with the CLI flag of `runway call` beside each.
    """
    spec = current().spec()
    catalog = spec.catalog
    typed, model = model, catalog.resolve_model(model)
    if model != typed:
        warn(f"model {typed} is {model}")
    endpoints = sorted(catalog.endpoints_for(model))
    if not endpoints:
        raise _unknown_model(catalog, model)
    if current().wants_json(json):
        out = {}
        for endpoint in endpoints:
            variant = catalog.variant(endpoint, model)
            operation = catalog.model_operation(endpoint)
            assert variant is not None and operation is not None
            # What the text shows, as data: each field's type, enum, default, limits and
            # media facts (from the catalog alone: no command is built for --json).
            fields = [f.to_dict() for f in sorted(variant.fields, key=lambda f: f.name)]
            out[endpoint] = {
                "method": operation.method,
                "required": sorted(variant.required),
                "optional": sorted(variant.optional),
                "ratios": sorted(variant.known_ratios or ()),
                "ratiosOpen": variant.ratios_open,
                "fields": fields,
            }
        emit_json({"model": model, "endpoints": out})
        return 0
    echo(_schema_text(catalog, model, endpoints))
    return 0


def _unknown_model(catalog: Catalog, model: str) -> NotInSpecError:
    near = catalog.closest_models(model)
    hint = f"; closest known ids: {', '.join(near)}" if near else ""
    return NotInSpecError(
        "model", model, near,
        f"unknown model {model!r}{hint}. Run 'runway models' for every model id.",
    )


def _schema_text(catalog: Catalog, model: str, endpoints: list[str]) -> str:
    from runway_dynamic.cli._flags import describe_field
    from runway_dynamic.cli.call import command_options

    required_on: dict[str, list[str]] = {}
    for endpoint in endpoints:
        variant = catalog.variant(endpoint, model)
        assert variant is not None
        for name in variant.required:
            required_on.setdefault(name, []).append(endpoint)
    union = [
        name if len(on) == len(endpoints) else f"{name} ({', '.join(on)} only)"
        for name, on in sorted(required_on.items())
    ]
    noun = "endpoint" if len(endpoints) == 1 else "endpoints"
    lines = [f"{model}: {len(endpoints)} {noun} ({', '.join(endpoints)})",
             f"required: {', '.join(union)}"]
    for endpoint in endpoints:
        variant = catalog.variant(endpoint, model)
        operation = catalog.model_operation(endpoint)
        assert variant is not None and operation is not None
        options = command_options(operation)  # the flags of `runway call ENDPOINT`
        fields = sorted(variant.fields, key=lambda f: f.name)
        rows = [(f.name, options.flag_or_name(f.name), describe_field(f, ratios_listed=True),
                 f.required) for f in fields]
        name_width = max(len(r[0]) for r in rows) + 2
        flag_width = max(len(r[1]) for r in rows) + 2
        lines += ["", f"{operation.method} {endpoint}"]
        for title, wanted in (("required", True), ("optional", False)):
            chosen = [r for r in rows if r[3] is wanted]
            lines.append(f"  {title}:" + ("" if chosen else " (none)"))
            lines += [f"    {n.ljust(name_width)}{flag.ljust(flag_width)}{text}"
                      for n, flag, text, _ in chosen]
        ratios = variant.known_ratios
        if ratios is None:
            lines.append("  ratios: (none: this model takes no ratio enum)")
        else:
            lines.append(f"  ratios: {', '.join(sorted(ratios))}{_open_mark(variant)}")
    return "\n".join(lines)


def ratios(
    ratio: Annotated[str | None, typer.Argument(
        metavar="[RATIO]", help="A ratio such as 1280:720: show which models accept it.",
        show_default=False)] = None,
    json: JsonOption = False,
) -> int:
    """Show the ratio matrix, or which models accept one ratio.

    Without RATIO: every endpoint's models and the ratios each accepts (models without a
    ratio enum show none; an open enum's ratios are marked: other values pass too). With
    RATIO: the models, per endpoint, that name it; if none does, the closest ratios by
    aspect (distance of log(width/height)) and the models whose open ratio takes any text.
    """
    catalog = current().spec().catalog
    as_json = current().wants_json(json)
    open_ratios = _open_ratio_models(catalog)
    if ratio is None:
        matrix = {
            endpoint: {m: sorted(_known_ratios(catalog, endpoint, m))
                       for m in catalog.models(endpoint)}
            for endpoint in catalog.endpoints()
        }
        if as_json:
            emit_json({"endpoints": matrix, "open": open_ratios})
        else:
            echo(_matrix_text(matrix, open_ratios))
        return 0
    accepting = {e: sorted(ms) for e, ms in sorted(catalog.models_accepting(ratio).items())}
    if accepting:
        if as_json:
            emit_json({"ratio": ratio, "endpoints": accepting})
        else:
            echo(f"{ratio} is accepted by:")
            width = max(len(e) for e in accepting) + 2
            for endpoint, models in accepting.items():
                echo(f"  {endpoint.ljust(width)}{', '.join(models)}")
        return 0
    known = catalog.all_ratios()
    near = closest_ratios(ratio, known) if ratio_aspect(ratio) is not None else closest(
        ratio, known)
    if as_json:
        emit_json({"ratio": ratio, "endpoints": {}, "closest": near, "open": open_ratios})
        return 1
    hint = f"; closest ratios: {', '.join(near)}" if near else ""
    if open_ratios:
        takers = "; ".join(f"{e}: {', '.join(ms)}" for e, ms in open_ratios.items())
        hint += f"; open ratios (any value passes, unchecked): {takers}"
    raise NotInSpecError("ratio", ratio, near, f"no model lists ratio {ratio!r}{hint}")


def _known_ratios(catalog: Catalog, endpoint: str, model: str) -> tuple[str, ...]:
    variant = catalog.variant(endpoint, model)
    return (variant.known_ratios or ()) if variant is not None else ()


def _open_ratio_models(catalog: Catalog) -> dict[str, list[str]]:
    """``{endpoint: [models]}`` whose ratio is an open enum (named values, others pass)."""
    out: dict[str, list[str]] = {}
    for endpoint in catalog.endpoints():
        for model in catalog.models(endpoint):
            variant = catalog.variant(endpoint, model)
            if variant is not None and variant.ratios_open:
                out.setdefault(endpoint, []).append(model)
    return out


def _open_mark(variant: Variant) -> str:
    return " (open: suggestions; other values accepted)" if variant.ratios_open else ""


def _matrix_text(matrix: dict[str, dict[str, list[str]]],
                 open_ratios: dict[str, list[str]]) -> str:
    lines: list[str] = []
    for endpoint, by_model in matrix.items():
        if lines:
            lines.append("")
        lines.append(endpoint)
        width = max(len(m) for m in by_model) + 2
        for model, accepted in by_model.items():
            shown = ", ".join(accepted) if accepted else "(no ratio enum)"
            if model in open_ratios.get(endpoint, ()):
                shown += " (open: other values accepted)"
            lines.append(f"  {model.ljust(width)}{shown}")
    return "\n".join(lines)
