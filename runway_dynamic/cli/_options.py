"""The option namespace of one command: its own options first, then one flag per spec field.

Every command whose options come from the spec (``runway call``, the generation commands,
the resource commands, ``runway wf``) is built here, and this is the only place that decides
which flag sets which field — help, pre-flight messages, completion and errors all ask it::

    options = CommandOptions(own=[METHOD, BODY, DRY_RUN, JSON, LIST], arguments=[ENDPOINT])
    options.claim(operation)                  # a flag for every parameter and body field
    options.flag_for(("promptText",))         # '--prompt-text'
    options.label(("referenceImages", 0))     # 'referenceImages[0] (--reference-images)'
    command = options.command(run)            # a typer-ready function calling run(values)

The rule, in order: the global options (``_context.GLOBAL_OPTIONS``) and the options the command
really has (its :class:`Own` options) are reserved first; then fields claim their natural
kebab-case name, body fields first (they are what people type most), then path, query and
header parameters. A name already taken gets its location as a prefix (``--body-json``,
``--query-limit``), then a number. A boolean takes its ``--no-`` form too. Short aliases
(``--prompt`` for ``promptText``) come last and only where nothing else wants the name.

A body field that is an object gets dotted flags below its own, one per leaf of its shapes
(:mod:`runway_dynamic.shapes`), leaf names in kebab case: ``--voice.preset-id``,
``--speech.voice.id``. Their values are put together by :meth:`CommandOptions.merge_nested`
(the shape's constant, such as ``type``, filled in), over ``--voice JSON`` and ``--body``; a
problem at a nested path is named by the dotted flag that sets it.

Each of the tool's own options has one meaning on every command: ``-o``/``--output`` is
always the path written, ``--format`` always the output format, ``--body`` always the
request body (see the module constants).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer

from runway_dynamic._constants import DEFAULT_WAIT_TIMEOUT, RESUBMIT_BACKOFF
from runway_dynamic._exceptions import ShapeError, UsageError
from runway_dynamic._problems import FieldPath, render_path
from runway_dynamic.catalog import Field, Operation
from runway_dynamic.cli._context import GLOBAL_OPTIONS
from runway_dynamic.cli._flags import FieldOption, NestedOption, value_for
from runway_dynamic.naming import kebab, short_aliases

if TYPE_CHECKING:
    from runway_dynamic._problems import Problem

#: Where a field's value goes, in name-claiming order (body fields get natural names first).
LOCATIONS = ("body", "path", "query", "header")
_DISPLAY_ORDER = ("path", "query", "header", "body")


# --------------------------------------------------------------------------- own options


class Own:
    """One of the tool's own options (or arguments): its Python name, its typer declaration,
    and the default the command function sees."""

    __slots__ = ("annotation", "default", "param")

    def __init__(self, param: str, annotation: Any, default: Any = None) -> None:
        self.param = param
        self.annotation = annotation
        self.default = default

    @property
    def info(self) -> Any:
        return self.annotation.__metadata__[0]

    @property
    def is_argument(self) -> bool:
        return isinstance(self.info, typer.models.ArgumentInfo)

    @property
    def names(self) -> tuple[str, ...]:
        """Every option string it takes (``--wait``, ``--no-wait``, ``-o``…), dashes kept."""
        if self.is_argument:
            return ()
        info = self.info
        decls = [d for d in (info.default, *(info.param_decls or ())) if isinstance(d, str)]
        return tuple(name for decl in decls for name in decl.split("/") if name.startswith("-"))

    def parameter(self) -> inspect.Parameter:
        kind = (inspect.Parameter.POSITIONAL_OR_KEYWORD if self.is_argument
                else inspect.Parameter.KEYWORD_ONLY)
        return inspect.Parameter(self.param, kind, default=self.default,
                                 annotation=self.annotation)


def option(param: str, *decls: str, type: Any, default: Any = None, **settings: Any) -> Own:
    """An own option made for one command (a help or metavar that depends on the spec)."""
    settings.setdefault("show_default", False)
    return Own(param, Annotated[type, typer.Option(*decls, **settings)], default)


def argument(param: str, *, type: Any = str | None, default: Any = None,
             **settings: Any) -> Own:
    """A positional argument (``ENDPOINT``, ``PROMPT``, a path parameter)."""
    settings.setdefault("show_default", False)
    return Own(param, Annotated[type, typer.Argument(**settings)], default)


JSON = Own("json", Annotated[bool, typer.Option(
    "--json", help="JSON output (and JSON errors on stderr).")], False)
BODY = Own("body", Annotated[str | None, typer.Option(
    "--body", metavar="JSON|@FILE|-", show_default=False,
    help="Request body as JSON, @file or - (stdin); flags merge over it.")])
DRY_RUN = Own("dry_run", Annotated[bool, typer.Option(
    "--dry-run", help="Print the exact request and exit; nothing is sent or uploaded, no key "
                      "is needed.")], False)
METHOD = Own("method", Annotated[str | None, typer.Option(
    "--method", metavar="METHOD", show_default=False,
    help="HTTP method, when the endpoint has several (default: the only one, or GET).")])
LIST = Own("list_all", Annotated[bool, typer.Option(
    "--list", help="List every operation of the spec and exit.")], False)
#: The output format of commands that print API data; ``-o`` is never the format.
FORMAT = Own("format", Annotated[str | None, typer.Option(
    "--format", metavar="json|yaml|table", show_default=False,
    help="Output format (default: table on a terminal, else JSON).")])
#: Generation commands and ``call`` on a model endpoint: send an id close to a listed one.
ALLOW_UNKNOWN_MODEL = Own("allow_unknown_model", Annotated[bool, typer.Option(
    "--allow-unknown-model", help="Send a model id the spec does not list even when it is "
                                  "close to one it does (refused as a typo otherwise).")],
    False)
ALL_PAGES = Own("all_pages", Annotated[bool, typer.Option(
    "--all", help="Fetch every page and print all items.")], False)
ENDPOINT = argument("endpoint", metavar="ENDPOINT",
                    help="API path without /v1/, e.g. text_to_video, tasks/{id}.")


def run_options() -> tuple[Own, ...]:
    """``--wait``, ``--download``, ``-o``, ``--output-dir``… of commands that create a task
    (declared once, in :mod:`runway_dynamic.cli._run`, for static commands too)."""
    from runway_dynamic.cli import _run

    return (
        Own("wait", _run.WaitOption, False),
        Own("download", _run.DownloadOption, False),
        Own("output", _run.OutputOption, None),
        Own("output_dir", _run.OutputDirOption, None),
        Own("timeout", _run.TimeoutOption, DEFAULT_WAIT_TIMEOUT),
        Own("poll_interval", _run.PollIntervalOption, None),
        Own("retry_on_internal_error", _run.RetryInternalOption, 0),
        Own("retry_backoff_seconds", _run.RetryBackoffOption, RESUBMIT_BACKOFF),
    )


def extend(inner: Callable[..., int], run: Callable[[dict[str, Any]], int], *,
           arguments: Sequence[Own] = (), own: Sequence[Own] = (),
           drop: Sequence[str] = ()) -> Callable[..., int]:
    """A command that takes what the built command ``inner`` takes (less the parameters
    in ``drop``), with ``arguments`` first and ``own`` options last, handing every value
    to ``run`` (``history rerun ID`` wraps the command that made the entry). ``own``
    options keep names ``inner`` does not have."""
    taken = {name for p in inspect.signature(inner).parameters.values()
             for name in _option_names(p.annotation)}
    params = [a.parameter() for a in arguments]
    params += [p for p in inspect.signature(inner).parameters.values() if p.name not in drop]
    params += [o.parameter() for o in own if not set(o.names) & taken]

    def command(**values: Any) -> int:
        return run(values)

    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params}
    return command


def _option_names(annotation: Any) -> tuple[str, ...]:
    metadata = getattr(annotation, "__metadata__", ())
    if not metadata or isinstance(metadata[0], typer.models.ArgumentInfo):
        return ()
    return Own("_", annotation).names


# --------------------------------------------------------------------------- aliases


class Alias:
    """A short flag (``--prompt``) standing for a body field (``promptText``) per model."""

    __slots__ = ("fields", "flag", "param")

    def __init__(self, name: str, fields: tuple[str, ...], index: int) -> None:
        self.flag = "--" + name
        self.fields = fields
        self.param = f"alias_{index}"


# --------------------------------------------------------------------------- the builder


class CommandOptions:
    """The options of one command, in the order help shows them: arguments, spec fields
    (path, query, header parameters, then the body: discriminator, required, optional),
    short aliases, named run-time inputs, then the command's own options."""

    def __init__(self, *, own: Sequence[Own] = (), arguments: Sequence[Own] = ()) -> None:
        self.own = list(own)
        self.arguments = list(arguments)
        self.fields: list[FieldOption] = []
        #: Dotted flags for leaves of object fields (``--voice.preset-id``), by field order.
        self.nested: list[NestedOption] = []
        self.aliases: list[Alias] = []
        #: Options for what the command reads at run time (a workflow's inputs).
        self.named: list[Own] = []
        #: Argument parameter → the path parameter it fills (see claim_path_arguments).
        self.path_parameters: dict[str, str] = {}
        #: The operation whose fields were claimed (what completion asks for their values).
        self.operation: Operation | None = None
        self._taken: set[str] = set(GLOBAL_OPTIONS)
        for item in self.own:
            self._taken.update(name.lstrip("-") for name in item.names)

    # ---- claiming

    def claim(self, operation: Operation, *, locations: Iterable[str] = LOCATIONS,
              aliases: bool = False) -> list[FieldOption]:
        """A flag for every field of ``operation`` at ``locations`` (the union over its
        variants), by the module's rule; with ``aliases``, the short aliases too."""
        self.operation = operation
        wanted = set(locations)
        found: dict[str, list[FieldOption]] = {loc: [] for loc in LOCATIONS}
        for param in operation.parameters:
            if param.location == "header" and param.constant is not None:
                continue  # pinned by the spec (X-Runway-Version); sent automatically
            if param.location in wanted:
                found[param.location].append(
                    FieldOption(param.name, param.location, {None: param.as_field()}))
        if "body" in wanted:
            body: dict[str, dict[str | None, Field]] = {}
            if operation.discriminator:
                body[operation.discriminator] = {}
            for variant in operation.variants:
                for field in variant.fields:
                    body.setdefault(field.name, {})[variant.key] = field
            found["body"] = [FieldOption(n, "body", f) for n, f in body.items() if f]
        for location in LOCATIONS:
            for item in found[location]:
                item.flag = "--" + self._claim(kebab(item.name), location,
                                               boolean=item.kind == "boolean")
        ordered = [item for loc in _DISPLAY_ORDER[:-1] for item in found[loc]]
        body_items = found["body"]
        first = [f for f in body_items if f.name == operation.discriminator]
        ordered += first + [f for f in body_items if f.required_for and f not in first]
        ordered += [f for f in body_items if not f.required_for and f not in first]
        start = len(self.fields)
        for index, item in enumerate(ordered, start=start):
            item.param = f"flag_{index}"
        self.fields += ordered
        for item in found["body"]:
            self._claim_nested(item)
        if aliases:
            self._claim_aliases(operation)
        return ordered

    def _claim_nested(self, parent: FieldOption) -> None:
        """A dotted flag for every leaf of ``parent``'s object shapes, over its variants."""
        from runway_dynamic import shapes

        per_path: dict[tuple[str, ...], dict[str | None, shapes.Leaf]] = {}
        for key, field in parent.fields.items():
            if field.kind not in ("object", "any"):
                continue
            for leaf in shapes.leaves(field.schema):
                per_path.setdefault(leaf.path, {})[key] = leaf
        for path, found in per_path.items():
            item = NestedOption(parent, path, found)
            name = parent.flag[2:] + "." + ".".join(kebab(p) for p in path)
            item.flag = "--" + self._claim(name, "body", boolean=item.kind == "boolean")
            item.param = f"nested_{len(self.nested)}"
            self.nested.append(item)

    def claim_path_arguments(self, operation: Operation) -> None:
        """The path parameters as positional arguments, in path order (``avatars get ID``)."""
        names = [seg[1:-1] for seg in operation.endpoint.split("/")
                 if seg.startswith("{") and seg.endswith("}")]
        for name in names:
            param = f"path_{len(self.path_parameters)}"
            self.arguments.append(argument(
                param, type=str, default=inspect.Parameter.empty,
                metavar=kebab(name).upper().replace("-", "_"),
                help=f"The {name} in {operation.path}."))
            self.path_parameters[param] = name

    def claim_named(self, param: str, wanted: str, *, prefix: str, type: Any,
                    **settings: Any) -> str:
        """An option for something the command reads at run time (a registered workflow's
        inputs), named by the same rule: ``--WANTED``, else ``--PREFIX-WANTED``."""
        flag = "--" + self._claim(wanted, prefix)
        self.named.append(option(param, flag, type=type, **settings))
        return flag

    def _claim(self, name: str, location: str, *, boolean: bool = False) -> str:
        def free(candidate: str) -> bool:
            return candidate not in self._taken and not (
                boolean and f"no-{candidate}" in self._taken)

        candidate = name or location
        if not free(candidate):
            candidate = f"{location}-{name}"
            number = 2
            while not free(candidate):
                candidate = f"{location}-{name}-{number}"
                number += 1
        self._taken.add(candidate)
        if boolean:
            self._taken.add(f"no-{candidate}")
        return candidate

    def _claim_aliases(self, operation: Operation) -> None:
        body_names = {f.name for f in self.fields if f.location == "body"}
        lists = {f.name for f in self.fields if f.location == "body" and f.kind == "array"}
        found = short_aliases(
            ([f.name for f in v.fields if f.name in body_names] for v in operation.variants),
            self._taken, lists)
        for name, fields in found.items():
            self._taken.add(name)
            self.aliases.append(Alias(name, fields, len(self.aliases)))

    def redeclare(self, replacement: Own) -> None:
        """Replace the own option with the same parameter (a help text that names flags
        claimed since); its names must not change."""
        for index, item in enumerate(self.own):
            if item.param == replacement.param:
                assert item.names == replacement.names, (item.names, replacement.names)
                self.own[index] = replacement

    # ---- asking: field → flag

    def field_option(self, name: str, location: str = "body") -> FieldOption | None:
        return next((f for f in self.fields if f.location == location and f.name == name),
                    None)

    def flag_for(self, path: str | FieldPath, location: str = "body") -> str | None:
        """The flag that sets the field at ``path`` (or the field it is inside of)."""
        parts = (path,) if isinstance(path, str) else tuple(path)
        if not parts:
            return None
        found = self.field_option(str(parts[0]), location)
        if found is None:
            return None
        below: list[str] = []
        for part in parts[1:]:
            if not isinstance(part, str):
                break  # inside a list: the list's flag sets it
            below.append(part)
        best, depth = found.flag, 0
        for item in self.nested:
            if (item.name == found.name and item.location == location
                    and depth < len(item.leaf) <= len(below)
                    and tuple(below[: len(item.leaf)]) == item.leaf):
                best, depth = item.flag, len(item.leaf)
        return best

    def flag_or_name(self, name: str) -> str:
        """The flag of a body field, or its spec name when no flag sets it (``--body``)."""
        return self.flag_for(name) or name

    def shown_flag(self, name: str) -> str:
        """What help shows for a body field: its short alias when it has one, else its flag."""
        alias = next((a.flag for a in self.aliases if name in a.fields), None)
        return alias or self.flag_for(name) or name

    def label(self, path: str | FieldPath, location: str = "body") -> str:
        """``promptText (--prompt-text)``: the spec name for scripts, the flag for people."""
        parts = (path,) if isinstance(path, str) else tuple(path)
        flag = self.flag_for(parts, location)
        where = render_path(parts)
        return f"{where} ({flag})" if flag else where

    def names(self) -> list[str]:
        """Every option string the command accepts (completion offers exactly these)."""
        out: list[str] = []
        for item in [*self.fields, *self.nested]:
            out.append(item.flag)
            if item.kind == "boolean":
                out.append("--no-" + item.flag[2:])
        out += [a.flag for a in self.aliases]
        for own in [*self.named, *self.own]:
            out += own.names
        return out

    # ---- problems, as the command line says them

    def describe(self, problem: Problem) -> dict[str, Any]:
        """A problem as the CLI reports it: its message with flags, and the flag it names."""
        def flag_of(path: FieldPath) -> str | None:
            return self.flag_for(path, problem.location)

        out: dict[str, Any] = {"kind": problem.kind, "severity": problem.severity,
                               "field": problem.field, "flag": flag_of(problem.path),
                               "message": problem.render(flag_of)}
        if problem.details.get("nearMiss") and problem.is_error and any(
                o.param == ALLOW_UNKNOWN_MODEL.param for o in self.own):
            out["message"] += f" ({ALLOW_UNKNOWN_MODEL.names[0]} sends it as given)"
        rest = problem.to_dict()
        for key in ("kind", "severity", "field", "message"):
            rest.pop(key, None)
        out.update(rest)
        return out

    # ---- building the typer command

    def parameters(self) -> list[inspect.Parameter]:
        """Keyword-only parameters typer turns into options (spec flags default to ``None``:
        only what the user sets is sent)."""
        out = [a.parameter() for a in self.arguments]
        keys = list(dict.fromkeys(k for f in self.fields for k in f.fields))
        by_name = {f.name: f for f in self.fields if f.location == "body"}
        kw = inspect.Parameter.KEYWORD_ONLY
        children: dict[str, list[NestedOption]] = {}
        for child in self.nested:
            children.setdefault(child.name, []).append(child)
        for top in self.fields:
            below = children.get(top.name, []) if top.location == "body" else []
            for item in [top, *below]:
                boolean = item.kind == "boolean"
                decl = f"{item.flag}/--no-{item.flag[2:]}" if boolean else item.flag
                metavar = item.metavar_override or (None if boolean else item.metavar())
                text = item.help_override or item.help(keys)
                if item is top and below:
                    said = item.describe()
                    text = (text[: -len(said)] if text.endswith(said) else text + " ")
                    text += _shapes_help(top, below)
                info = typer.Option(decl, help=text, show_default=False, metavar=metavar)
                out.append(inspect.Parameter(
                    item.param, kw, default=None,
                    annotation=Annotated[item.python_type() | None, info]))
        for alias in self.aliases:
            targets = [by_name[n] for n in alias.fields]
            types = {t.python_type() for t in targets}
            kind: Any = types.pop() if len(types) == 1 else str
            info = typer.Option(alias.flag, show_default=False, metavar=targets[0].metavar(),
                                help="Short for " + " or ".join(t.flag for t in targets) + ".")
            out.append(inspect.Parameter(alias.param, kw, default=None,
                                         annotation=Annotated[kind | None, info]))
        out += [own.parameter() for own in [*self.named, *self.own]]
        return out

    def command(self, run: Callable[[dict[str, Any]], int]) -> Callable[..., int]:
        """A function typer can register: its signature is :meth:`parameters`; calling it
        hands every value (keyed by parameter name) to ``run``. It carries these options
        as ``command.options`` (completion reads the values of its flags there)."""
        params = self.parameters()

        def command(**values: Any) -> int:
            return run(values)

        command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in params}
        command.options = self  # type: ignore[attr-defined]
        return command

    # ---- reading values back

    def given(self, values: Mapping[str, Any]) -> dict[FieldOption, Any]:
        """The field options the user set (``None`` is "not given"; dotted flags are
        :meth:`merge_nested`'s)."""
        return {f: values[f.param] for f in self.fields if values.get(f.param) is not None}

    def value(self, item: FieldOption, raw: Any, variant_key: str | None) -> Any:
        """The JSON value of a flag the user set, for the selected variant; a value that
        fits several shapes of an object field says which flags choose one."""
        try:
            return value_for(item, raw, variant_key)
        except ShapeError as exc:
            raise UsageError(exc.render(self.flag_for)) from None

    def nested_given(self, values: Mapping[str, Any]) -> dict[NestedOption, Any]:
        """The dotted flags the user set."""
        return {f: values[f.param] for f in self.nested if values.get(f.param) is not None}

    def merge_nested(self, body: dict[str, Any], values: Mapping[str, Any],
                     variant_key: str | None) -> dict[str, Any]:
        """``body`` with the dotted flags given merged into their fields (over what
        ``--body`` or the field's own flag gave), each shape's constants filled in."""
        from runway_dynamic import shapes

        given = self.nested_given(values)
        if not given:
            return body
        out = dict(body)
        groups: dict[str, list[tuple[NestedOption, Any]]] = {}
        for item, raw in given.items():
            groups.setdefault(item.name, []).append((item, raw))
        for name, items in groups.items():
            parent = items[0][0].parent
            field = parent.fields.get(variant_key) or parent.first
            try:
                leaf_values = {item.leaf: shapes.value_from_text(
                    item.schema_for(variant_key), raw, item.flag, (name, *item.leaf))
                    for item, raw in items}
                out[name] = shapes.assemble(field.schema, out.get(name), leaf_values, (name,))
            except ShapeError as exc:
                raise UsageError(exc.render(self.flag_for)) from None
        return out


def _shapes_help(parent: FieldOption, children: Sequence[NestedOption]) -> str:
    """What an object field takes, by shape: JSON, one value, or its dotted flags."""
    from runway_dynamic.shapes import object_shapes

    by_shape: dict[str, list[str]] = {}
    common: list[str] = []
    for child in children:
        if len(child.leaf) != 1 or child.is_tag:
            continue
        labels = child.shape_labels()
        if not labels:
            common.append(child.flag)
        for label in labels:
            by_shape.setdefault(label, []).append(child.flag)
    filled = [s.primary for f in parent.fields.values() for s in object_shapes(f.schema)
              if s.primary is not None]
    text = "An object: JSON"
    if filled:
        text += f", one value for its {' or '.join(dict.fromkeys(filled))}"
    text += ", or its flags"
    if len(by_shape) > 1:
        text += ", by shape: " + "; ".join(f"{label}: {' '.join(flags)}"
                                            for label, flags in by_shape.items())
        tag = next((c.flag for c in children if c.is_tag and len(c.leaf) == 1), None)
        text += f" ({tag} is filled in)" if tag else ""
    else:
        text += " " + " ".join(common or next(iter(by_shape.values()), []))
    return text + "."
