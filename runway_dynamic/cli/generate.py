"""Generation commands (``video``, ``image``, ``text-to-speech``…, ``avatar video``) and the
``generate PROMPT --kind KIND`` router, synthesised from the spec.

:data:`runway_dynamic.cli._command_names.GENERATION_COMMANDS` maps a command to its model endpoint;
everything else comes from the catalog: ``--model`` and its choices (an id the spec does
not know is still sent, with a pre-flight warning), one flag per field of any of the
endpoint's models (the flags of ``runway call``), the short aliases of
:func:`runway_dynamic.naming.short_alias` (``--prompt``, ``--image``, ``--video``…), and the
help listing each model's required and accepted flags.

Without ``--model`` the model follows one rule, :data:`DEFAULT_MODEL_RULE`: the
``default-model.<command>`` (or ``.<endpoint>``) setting of ``runway config`` if set; else
the first model the spec lists. The flags given never switch it, so a command's cost does
not shift as a flag is added; when they do not fit it, pre-flight fails and names the models
that take everything given, with the command line that uses one. The command says on stderr
which model it used and why.

``--soul-id ID`` (repeatable) exists on a command when one of its models has a
reference-image field (:func:`runway_dynamic.creative._facts.reference_slot`): the soul-id's
photos go into the chosen model's field after any references given by flag, up to its
``maxItems``. The registry (:mod:`runway_dynamic.creative.soul_id`) is imported only then.

Local files in media fields are inlined or uploaded; pre-flight runs before anything is
sent; submitting, waiting, downloading and retrying are :mod:`runway_dynamic.cli._run`'s.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any

from runway_dynamic._constants import RATIO_PROPERTY
from runway_dynamic._exceptions import UsageError
from runway_dynamic._problems import WARNING, Problem, errors, says
from runway_dynamic.catalog import Catalog, Operation, Variant
from runway_dynamic.cli._command_names import (
    GENERATE_KIND_ALIASES,
    GENERATE_KINDS,
    GENERATION_COMMANDS,
)
from runway_dynamic.cli._context import PROG, Invocation, current
from runway_dynamic.cli._help_text import wrap
from runway_dynamic.cli._options import (
    ALLOW_UNKNOWN_MODEL,
    BODY,
    DRY_RUN,
    JSON,
    Alias,
    CommandOptions,
    Own,
    argument,
    option,
    run_options,
)
from runway_dynamic.cli._registry import Built

if TYPE_CHECKING:
    from runway_dynamic.cli._flags import FieldOption
    from runway_dynamic.creative._facts import ReferenceSlot
    from runway_dynamic.spec import Spec

#: How the model is chosen without --model (help text and docs say it in these words).
DEFAULT_MODEL_RULE = (
    "the default-model.{command} setting of 'runway config' if set; otherwise the first "
    "model the spec lists for {endpoint} ({first}). The flags you give never change it: "
    "when they do not fit it, pre-flight stops and names the models that take them all")


# --------------------------------------------------------------------------- flags


def command_options(operation: Operation, *, aliases: bool = False,
                    kinds: Sequence[str] | None = None,
                    command: Sequence[str] | None = None) -> CommandOptions:
    """The options of a task-creating command for ``operation``: ``--soul-id`` where a model
    takes reference images, ``--body``, the run options, ``--dry-run``, ``--json`` (and the
    router's ``--kind`` with ``kinds``) are reserved; then a flag for every query, header and
    body field; then, with ``aliases``, the short flags (``--prompt``…).

    Completion asks this function too, so it offers exactly these names.
    """
    own: list[Own] = []
    slots = soul_id_fields(operation)
    if slots:
        own.append(_soul_id_option(slots))
    own += [BODY, *run_options(), DRY_RUN, JSON]
    if operation.is_model_endpoint:
        own.append(ALLOW_UNKNOWN_MODEL)
    if kinds is not None:
        own.append(option("kind", "--kind", type=str | None, metavar="|".join(kinds),
                          help="What to generate."))
    options = CommandOptions(own=own)
    options.claim(operation, locations=("body", "query", "header"), aliases=aliases)
    if operation.is_model_endpoint and operation.discriminator:
        model = options.field_option(operation.discriminator)
        if model is not None:
            model.metavar_override = "MODEL"
            model.help_override = (
                f"The model (default: "
                f"{_default_short(operation, _config_name(operation, command))}). One of: "
                f"{', '.join(operation.models)}; another id is sent as given, with a warning (one "
                f"close to a listed id is refused as a typo: see --allow-unknown-model).")
    if slots:
        options.redeclare(_soul_id_option(slots, options))
    return options


def _soul_id_option(slots: Sequence[str], options: CommandOptions | None = None) -> Own:
    where = " or ".join(options.flag_or_name(f) if options else f for f in slots)
    return option("soul_id", "--soul-id", type=list[str] | None, metavar="ID",
                  help="Attach a soul-id's photos ('runway soul-id') to the model's reference "
                       f"images ({where}), after those given by flag, up to what the model "
                       "takes. Repeatable.")


def choose_model(operation: Operation, command: str | None = None) -> tuple[str | None, str]:
    """The model by :data:`DEFAULT_MODEL_RULE`, and why: the same whatever flags are given,
    so the cost of a command never shifts as a flag is added."""
    from runway_dynamic import config

    endpoint = operation.endpoint
    for key in dict.fromkeys(filter(None, (command, endpoint))):
        configured = config.default_model(key)
        if configured:
            return configured, f"default-model.{key} in runway config"
    first = next((v.key for v in operation.variants if v.key is not None), None)
    if first is None:
        return None, "no model in the spec"
    return first, f"the first model the spec lists for {endpoint}"


def fitting_models(operation: Operation, given: Collection[str], ratio: str | None, *,
                   soul_id: bool = False) -> list[str]:
    """The models that take every field in ``given``, need no field beyond them, accept
    ``ratio`` and (with ``soul_id``) take reference images: what pre-flight offers when
    the default model does not fit."""
    asked_for = set(given) - {operation.discriminator or ""}
    covered = asked_for | {operation.discriminator or ""}
    found = []
    for variant in operation.variants:
        if variant.key is None:
            continue
        have = covered
        if soul_id:
            slot = reference_slot(variant)
            if slot is None:
                continue
            have = covered | {slot.field}
        if (asked_for <= set(variant.field_map) and set(variant.required) <= have
                and (ratio is None or accepts_ratio(variant, ratio))):
            found.append(variant.key)
    return found


def accepts_ratio(variant: Variant, ratio: str) -> bool:
    """The variant names ``ratio`` (closed set or open enum), or has a ratio field that
    names no values. An open enum that does not name it does not count: a mistyped ratio
    must not pick a model only because that model takes any text."""
    if variant.known_ratios is not None:
        return ratio in variant.known_ratios
    return RATIO_PROPERTY in variant.field_map


def reference_slot(variant: Variant) -> ReferenceSlot | None:
    """Where this model takes reference images (the creative commands' rule, from the schema)."""
    from runway_dynamic.creative._facts import reference_slot as slot_of

    return slot_of(variant)


def soul_id_fields(operation: Operation) -> list[str]:
    """The reference-image fields of the operation's models, in order; empty: no --soul-id."""
    fields: list[str] = []
    if not operation.is_model_endpoint:
        return fields
    for variant in operation.variants:
        slot = reference_slot(variant) if variant.key is not None else None
        if slot is not None and slot.field not in fields:
            fields.append(slot.field)
    return fields


# --------------------------------------------------------------------------- building


def build(invocation: Invocation, args: list[str]) -> Built:
    """The generation command named by ``invocation.path`` (or, when its flags name an
    input only another command of the same output takes, that command: :func:`route`)."""
    endpoint = GENERATION_COMMANDS[invocation.path]
    catalog = invocation.spec().catalog
    operation = _generation_operation(catalog, endpoint)
    if operation is None:
        raise UsageError(f"this spec has no {endpoint} endpoint, so '{PROG} "
                         f"{' '.join(invocation.path)}' is not available")
    own = command_options(operation, aliases=True, command=invocation.path)
    routed = route(invocation, operation, args, own=own)
    built = build_for_operation(invocation, routed, invocation.path, with_aliases=True,
                                options=own if routed is operation else None)
    built.elsewhere = _elsewhere(catalog, routed)
    return built


def _generation_operation(catalog: Catalog, endpoint: str) -> Operation | None:
    return catalog.model_operation(endpoint) or catalog.operation(endpoint, "POST")


def _siblings(catalog: Catalog, operation: Operation
              ) -> list[tuple[tuple[str, ...], Operation, CommandOptions]]:
    """The other generation commands that make what ``operation`` makes (the catalog's
    :attr:`~Operation.output_family`), one per endpoint, with the options each takes."""
    family = operation.output_family
    if family is None:
        return []
    found: dict[str, tuple[tuple[str, ...], Operation, CommandOptions]] = {}
    for path, endpoint in GENERATION_COMMANDS.items():
        if endpoint == operation.endpoint or endpoint in found:
            continue
        other = _generation_operation(catalog, endpoint)
        if other is not None and other.output_family == family:
            found[endpoint] = (path, other, command_options(other, aliases=True, command=path))
    return list(found.values())


def _given_flags(args: Sequence[str]) -> list[str]:
    """The ``--flags`` in ``args`` (before ``--``), once each."""
    out = []
    for arg in args:
        if arg == "--":
            break
        name = arg.split("=", 1)[0]
        if name.startswith("--"):
            out.append(name)
    return list(dict.fromkeys(out))


def route(invocation: Invocation, operation: Operation, args: Sequence[str],
          command: tuple[str, ...] | None = None, *,
          own: CommandOptions | None = None) -> Operation:
    """``video --image still.png`` is image-to-video: when the flags given name inputs the
    command does not take, and exactly one other generation endpoint that makes the same
    kind of output (video, image…) takes them all, run that one instead, and say so on
    stderr. Derived from the catalog; anything less clear is left to the option parser's
    error and its suggestions. ``command``: the command ``generate --kind`` stands for
    (``invocation.path`` is left alone then). ``own``: the command's options, when the
    caller has them already."""
    catalog = invocation.spec().catalog
    if own is None:
        own = command_options(operation, aliases=True, command=command or invocation.path,
                              kinds=() if command else None)
    given = set(_given_flags(args)) - {"--help", "--kind"}
    unknown = [flag for flag in _given_flags(args) if flag not in {*own.names(), "--help"}]
    if not unknown:
        return operation
    takers = [(path, other) for path, other, options in _siblings(catalog, operation)
              if given <= set(options.names())]
    if len(takers) != 1:
        return operation
    path, other = takers[0]
    was = " ".join(command or invocation.path)
    if command is None:
        invocation.path = path
    _note(invocation, f"{' and '.join(unknown)}: running '{PROG} {' '.join(path)}' "
                      f"({other.method} {other.path}), as {was} takes no such input")
    return other


def _elsewhere(catalog: Catalog, operation: Operation) -> Any:
    """For the unknown-option error: the sibling command that takes the flag as typed, else
    a close flag a sibling takes (giving that flag routes there, see :func:`route`)."""
    def where(typed: str) -> str | None:
        from runway_dynamic.naming import suggest_flags

        siblings = [(path, options.names())
                    for path, _other, options in _siblings(catalog, operation)]
        for path, names in siblings:
            if typed in names:
                return f"'{PROG} {' '.join(path)}' takes {typed}"
        for path, names in siblings:
            near = suggest_flags(typed, names, n=1)
            if near:
                return f"did you mean {near[0]} (it runs '{PROG} {' '.join(path)}')?"
        return None

    return where


def build_for_operation(invocation: Invocation, operation: Operation,
                        command: tuple[str, ...] | None, *, with_aliases: bool = False,
                        kinds: Sequence[str] | None = None,
                        options: CommandOptions | None = None) -> Built:
    """A task-creating command for ``operation`` (generation commands, ``X create``; with
    ``kinds``, the ``generate`` router's). Where there is a ``--prompt`` short flag, an
    optional PROMPT argument stands for it. ``options``: :func:`command_options` of these
    arguments, when the caller made them already. The help is made only when shown (it
    asks every sibling command for its flags)."""
    catalog = invocation.spec().catalog
    if options is None:
        options = command_options(operation, aliases=with_aliases, kinds=kinds,
                                  command=command)
    prompt_alias = None
    if kinds is not None or with_aliases:
        # `runway video "waves at night"`: the prompt may come first, as people type it
        prompt_alias = next((a.flag for a in options.aliases if a.flag == "--prompt"), None)
        if prompt_alias is not None:
            options.arguments.insert(0, argument("prompt", metavar="PROMPT",
                                                 help=f"The prompt (same as {prompt_alias})."))
    function = _command(operation, options, prompt_alias)
    made = options
    return Built(function, help=lambda: _help(catalog, operation, command, made),
                 epilog=lambda: _models_epilog(catalog, operation, made))


def _default_short(operation: Operation, command: str | None = None) -> str:
    model, source = choose_model(operation, command)
    return f"{model}, {source}" if model else source


def _help(catalog: Catalog, operation: Operation, command: tuple[str, ...] | None,
          own: CommandOptions | None = None) -> str:
    lines = [f"Create a task with {operation.method} {operation.path} and, with --wait or "
             "--download, follow it to the end."]
    if operation.is_model_endpoint and operation.models:
        rule = DEFAULT_MODEL_RULE.format(command=_config_name(operation, command),
                                         endpoint=operation.endpoint,
                                         first=operation.models[0])
        lines.append(f"--model picks the model; without it: {rule}. The command says which "
                     "it used. The flags are the union over the models, listed below with "
                     "what each requires. Media flags also take a local file (inlined or "
                     "uploaded).")
    lines.append("Only the flags you give are sent, merged over --body; pre-flight checks "
                 "the body against the spec before anything is sent.")
    routes = input_routes(catalog, operation, command, own)
    if routes:
        lines.append("Inputs this command does not take run the command that does: " + "; ".join(
            f"{flag} runs '{PROG} {' '.join(path)}'" for flag, path in routes.items()) + ".")
    return "\n\n".join(lines)


def input_routes(catalog: Catalog, operation: Operation, command: Sequence[str] | None,
                 options: CommandOptions | None = None) -> dict[str, tuple[str, ...]]:
    """The short flags (``--image``) this command lacks that exactly one other command of
    its output family takes: where :func:`route` sends them (what help says). ``options``:
    the command's own, when the caller has them."""
    if not command or tuple(command) not in GENERATION_COMMANDS:
        return {}
    if options is None:
        options = command_options(operation, aliases=True, command=command)
    own = set(options.names())
    takers: dict[str, list[tuple[str, ...]]] = {}
    for path, _other, sibling in _siblings(catalog, operation):
        for alias in sibling.aliases:
            if alias.flag not in own:
                takers.setdefault(alias.flag, []).append(path)
    return {flag: paths[0] for flag, paths in takers.items() if len(paths) == 1}


def _models_epilog(catalog: Catalog, operation: Operation,
                   options: CommandOptions) -> str | None:
    if not operation.is_model_endpoint:
        return None
    lines = ["\b", "Models (required flags; accepted ones after 'also'):"]
    width = max(len(m) for m in operation.models) + 2
    for variant in operation.variants:
        if variant.key is None:
            continue
        skip = {operation.discriminator}
        needs = [options.shown_flag(n) for n in variant.required if n not in skip]
        extra = [options.shown_flag(n) for n in variant.optional if n not in skip]
        text = " ".join(needs) or "(nothing)"
        if extra:
            text += "; also " + " ".join(extra)
        wrapped = wrap(text, max(40, 98 - width)) or [""]
        lines.append("  " + variant.key.ljust(width) + wrapped[0])
        lines += [" " * (width + 2) + part for part in wrapped[1:]]
    if options.aliases:
        lines += ["", "Short flags: " + ", ".join(
            f"{a.flag} = {' or '.join(options.flag_or_name(n) for n in a.fields)}"
            for a in options.aliases)]
    return "\n".join(lines)


def _command(operation: Operation, options: CommandOptions, prompt_alias: str | None) -> Any:
    def run(values: dict[str, Any]) -> int:
        values.pop("kind", None)  # the router's: it already chose this command
        prompt = values.pop("prompt", None)
        if prompt is not None and prompt_alias is not None:
            alias = next(a for a in options.aliases if a.flag == prompt_alias)
            if values.get(alias.param) is not None:
                raise UsageError(f"give the prompt once: as PROMPT or as {prompt_alias}")
            values[alias.param] = prompt
        return execute(current(), operation, options, values)

    return options.command(run)


# --------------------------------------------------------------------------- the router


def _peek_kind(args: list[str]) -> str | None:
    for index, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--kind" and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith("--kind="):
            return arg.partition("=")[2]
    return None


def build_router(invocation: Invocation, args: list[str]) -> Built:
    """``generate PROMPT --kind KIND``: the generation command of KIND, prompt positional."""
    kinds = list(GENERATE_KINDS)
    kind = _peek_kind(args)
    if kind is not None:
        kind = GENERATE_KIND_ALIASES.get(kind.lower(), kind)
    if kind is None:
        if any(a in ("-h", "--help") for a in args):
            return Built(_router_help_command(kinds), help=_router_help(kinds))
        raise UsageError(f"generate needs --kind ({'|'.join(kinds)}); e.g. "
                         f"{PROG} generate 'a red fox' --kind image")
    if kind not in GENERATE_KINDS:
        from runway_dynamic.naming import closest

        near = closest(kind, [*kinds, *GENERATE_KIND_ALIASES])
        hint = f"; did you mean {' or '.join(near)}?" if near else ""
        raise UsageError(f"unknown --kind {kind!r}{hint} Kinds: {', '.join(kinds)}")
    target = GENERATE_KINDS[kind]
    endpoint = GENERATION_COMMANDS[target]
    catalog = invocation.spec().catalog
    operation = catalog.model_operation(endpoint)
    if operation is None:
        raise UsageError(f"this spec has no {endpoint} endpoint for --kind {kind}")
    routed = route(invocation, operation, args, command=target)
    if routed is not operation:
        operation = routed
        target = next(p for p, e in GENERATION_COMMANDS.items() if e == routed.endpoint)
    built = build_for_operation(invocation, operation, target, with_aliases=True, kinds=kinds)
    if "prompt" not in inspect.signature(built.function).parameters:
        raise UsageError(f"{endpoint} has no prompt field; use '{PROG} {' '.join(target)}'")
    def help_text() -> str:
        return (f"Route to '{PROG} {' '.join(target)}' with PROMPT as --prompt.\n\n"
                + (built.help_text() or ""))

    return Built(built.function, help=help_text, epilog=built.epilog,
                 elsewhere=_elsewhere(catalog, operation))


def _router_help(kinds: list[str]) -> str:
    short = {kind: alias for alias, kind in GENERATE_KIND_ALIASES.items()}
    rows = "\n".join(f"  {(k + (f' ({short[k]})' if k in short else '')).ljust(22)}"
                     f"{PROG} {' '.join(GENERATE_KINDS[k])}" for k in kinds)
    return ("Generate from a prompt: a thin router onto the generation commands.\n\n"
            f"\b\n--kind picks the command:\n{rows}\n\n"
            f"Run '{PROG} generate --kind KIND --help' for that kind's models and flags. A "
            f"one-word prompt that names a 'generate' subcommand of the spec (video, image…) "
            f"runs that subcommand: give such a prompt as --prompt WORD.")


def _router_help_command(kinds: list[str]) -> Any:
    """A stand-in that only carries ``--help`` (no --kind given: nothing to build yet)."""
    options = CommandOptions(
        own=[option("kind", "--kind", type=str | None, metavar="|".join(kinds))],
        arguments=[argument("prompt", metavar="PROMPT")])
    return options.command(lambda _values: 0)


# --------------------------------------------------------------------------- running


def execute(invocation: Invocation, operation: Operation, options: CommandOptions,
            values: dict[str, Any]) -> int:
    """Build the body, pre-flight it, then print it (``--dry-run``) or submit it."""
    from runway_dynamic.cli import _clients, _run, call
    from runway_dynamic.uploads import placeholder_uploader, resolve_body_media

    invocation.json = invocation.wants_json(values.pop("json"))
    dry_run = values.pop("dry_run")
    allow_unknown = bool(values.pop("allow_unknown_model", False))
    running = _run.RunOptions.pop(values)  # --output-dir/--poll-interval: or runway config
    body_in = call.read_body(values.pop("body"))
    if body_in is not None and not isinstance(body_in, dict):
        raise UsageError("--body must be a JSON object")
    soul_ids: list[str] = list(values.pop("soul_id", None) or [])
    spec = invocation.spec()
    discriminator = operation.discriminator
    flags, aliases = options.fields, options.aliases
    by_name = {s.name: s for s in flags if s.location == "body"}

    chosen = None
    model_spec = by_name.get(discriminator) if discriminator else None
    if model_spec is not None and values.get(model_spec.param) is not None:
        chosen = str(values[model_spec.param])
    elif body_in and discriminator and isinstance(body_in.get(discriminator), str):
        chosen = body_in[discriminator]
    defaulted = False
    if operation.is_model_endpoint and chosen is None:
        name = _config_name(operation, invocation.path)
        chosen, source = choose_model(operation, name)
        defaulted = chosen is not None
        if chosen is not None:
            _note(invocation, f"model {chosen} ({source}; change with --model, or for good "
                              f"with 'runway config set default-model.{name} MODEL')")
    elif operation.is_model_endpoint and chosen is not None:
        resolved = spec.catalog.resolve_model(chosen)
        _note(invocation, f"model {resolved}" if resolved == chosen
              else f"model {chosen} is {resolved}")
        chosen = resolved
    if chosen is None and not discriminator and operation.variants:
        chosen = operation.variants[0].key
    variant = operation.variant(chosen)
    key = variant.key if variant is not None else chosen

    body: dict[str, Any] = dict(body_in or {})
    selected = key if variant is not None else None
    for spec_ in flags:
        raw = values.get(spec_.param)
        if raw is None or spec_.location != "body":
            continue
        body[spec_.name] = options.value(spec_, raw, selected)
    for alias in aliases:
        raw = values.get(alias.param)
        if raw is None:
            continue
        name = _alias_field(alias, variant, key)
        target = by_name[name]
        if values.get(target.param) is not None:
            raise UsageError(f"{alias.flag} and {target.flag} are the same field; give one")
        body[name] = options.value(target, raw, selected)
    body = options.merge_nested(body, values, selected)
    if discriminator and chosen is not None:
        body.pop(discriminator, None)
        body = {discriminator: chosen, **body}

    flag_of = options.flag_or_name
    if soul_ids:
        _attach_soul_ids(invocation, operation, variant, key, body, soul_ids, flag_of)

    checked = resolve_body_media(operation, key, body, placeholder_uploader, flag_of)
    problems = spec.preflight(operation.endpoint, checked, method=operation.method,
                              allow_unknown_model=allow_unknown)
    if defaulted and errors(problems):
        given, ratio = _given(flags, aliases, values, body_in or {})
        problems.append(_other_models(invocation, operation, chosen, given, ratio,
                                      bool(soul_ids)))
    call.report(operation, problems, options, invocation.json)
    if dry_run:
        return _dry_run(invocation, spec, operation, checked)
    with _clients.make_client(invocation, running, preflight=False) as client:
        final = resolve_body_media(operation, key, body, client.upload, flag_of)
        return _run.submit(invocation, client, operation.endpoint, final, running)


def _given(flags: list[FieldOption], aliases: list[Alias], values: dict[str, Any],
           body_in: dict[str, Any]) -> tuple[set[str], str | None]:
    """The body fields the user gave (any field an alias may stand for) and the ratio asked."""
    given = set(body_in)
    for spec_ in flags:
        if spec_.location == "body" and values.get(spec_.param) is not None:
            given.add(spec_.name)
    ratio = body_in.get(RATIO_PROPERTY)
    for spec_ in flags:
        if spec_.name == RATIO_PROPERTY and values.get(spec_.param) is not None:
            ratio = values[spec_.param]
    for alias in aliases:
        if values.get(alias.param) is not None:
            given.update(alias.fields)
            if RATIO_PROPERTY in alias.fields:
                ratio = values[alias.param]
    return given, ratio if isinstance(ratio, str) else None


def _attach_soul_ids(invocation: Invocation, operation: Operation, variant: Variant | None,
                     key: str | None, body: dict[str, Any], soul_ids: Sequence[str],
                     flag_of: Any) -> None:
    """Put the soul-ids' photos into the model's reference field of ``body`` (in place).

    References given by flag or --body come first; photos beyond the field's ``maxItems``
    are dropped with a note. Local paths are resolved later with every other media value.
    """
    from runway_dynamic.creative.soul_id import photos_for

    photos = photos_for(list(soul_ids))  # an unknown id is a UsageError (exit 2)
    takers = ", ".join(v.key for v in operation.variants
                       if v.key is not None and reference_slot(v) is not None)
    if variant is None:
        raise UsageError(f"--soul-id: model {key!r} is not in this spec, so where it takes "
                         f"reference images is unknown; models that take them: {takers}")
    slot = reference_slot(variant)
    if slot is None:
        raise UsageError(f"--soul-id: model {key} on {operation.endpoint} takes no reference "
                         f"images; models that do: {takers or 'none in this spec'}")
    current = body.get(slot.field)
    if slot.shape == "single":
        existing: list[Any] = [] if current is None else [current]
    else:
        existing = list(current) if isinstance(current, list) else (
            [] if current is None else [current])
    room = len(photos) if slot.max_items is None else max(0, slot.max_items - len(existing))
    taken = photos[:room]
    if taken:
        body[slot.field] = (slot.body_value(taken) if slot.shape == "single"
                            else existing + slot.body_value(taken))
    dropped = len(photos) - len(taken)
    if dropped:
        given = f", {len(existing)} given by flag" if existing else ""
        _note(invocation, f"{key} takes at most {slot.max_items} reference image(s) in "
                          f"{flag_of(slot.field)}{given}; {dropped} of the {len(photos)} "
                          f"soul-id photo(s) were not attached")


def _alias_field(alias: Alias, variant: Any, key: str | None) -> str:
    if variant is None or len(alias.fields) == 1:
        return alias.fields[0]
    for name in alias.fields:
        if name in variant.field_map:
            return name
    raise UsageError(f"{alias.flag} does not apply to model {key} (it stands for "
                     f"{' or '.join(alias.fields)})")


def _config_name(operation: Operation, command: Sequence[str] | None) -> str:
    """The name of this command's default-model setting: the generation command's words
    (``video``, ``avatar-video``), else the endpoint."""
    if command and tuple(command) in GENERATION_COMMANDS:
        return "-".join(command)
    return operation.endpoint


def _other_models(invocation: Invocation, operation: Operation, chosen: str | None,
                  given: Collection[str], ratio: str | None, soul_id: bool) -> Problem:
    """What to do when the flags do not fit the default model: the models that take them
    all, and the command line that uses the first (a note, not another error)."""
    import shlex

    fit = [m for m in fitting_models(operation, given, ratio, soul_id=soul_id) if m != chosen]
    if not fit:
        text = (f"no model of {operation.endpoint} takes every field you gave; "
                f"'runway models schema MODEL' shows what each takes")
    else:
        words = [PROG, *invocation.path, *invocation.args, "--model", fit[0]]
        text = (f"{chosen} is the default model; models that take everything you gave: "
                f"{', '.join(fit)}. For example: {shlex.join(words)}")
    return Problem("other_models", says(text), suggestions=tuple(fit), severity=WARNING)


def _note(invocation: Invocation, message: str) -> None:
    """An informational line on stderr (a JSON object with ``--json``; none when quiet)."""
    if invocation.quiet:
        return
    if invocation.json:
        import orjson

        sys.stderr.write(orjson.dumps({"info": message}).decode() + "\n")
    else:
        sys.stderr.write(f"{PROG}: {message}\n")


def _dry_run(invocation: Invocation, spec: Spec, operation: Operation, body: Any) -> int:
    from runway_dynamic._http import prepare_request
    from runway_dynamic.cli import call
    from runway_dynamic.cli._clients import api_key, base_url, request_headers

    prepared = prepare_request(operation, base_url=base_url(invocation),
                               api_key=api_key(invocation), body=body,
                               extra_headers=request_headers(invocation))
    call.show_request(prepared, invocation.json)
    return 0
