"""Shell completion: ``runway completion bash|zsh|fish`` prints a script that calls back
``runway __complete WORDS...``, answered here from the cached index (no typer app built).

Completes command names (static and derived from the spec), the flags the command really
takes (read from the command the dispatcher would build, so a flag any builder adds is
offered and nothing else is), and flag values: ``--model`` ids, ``--ratio`` values (of the
chosen model when ``--model`` is given), enums of query parameters and body fields, and
the choices of the tool's own options (recipe modes, ``--kind``, ``--format``…), and
``--profile`` names. When nothing fits (a file path, free text) the scripts fall back to
the shell's file completion.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from runway_dynamic._constants import MODEL_PROPERTY, RATIO_PROPERTY
from runway_dynamic._exceptions import UsageError
from runway_dynamic.cli._context import GLOBAL_OPTIONS, Invocation, echo

if TYPE_CHECKING:
    from runway_dynamic.cli._options import CommandOptions

SHELLS = ("bash", "zsh", "fish")
_GLOBAL_OPTIONS = tuple("--" + name for name in GLOBAL_OPTIONS)

_BASH = r"""# runway completion for bash: eval "$(runway completion bash)"
_runway_complete() {
    local line="${COMP_LINE:0:COMP_POINT}" cur
    local -a words
    read -ra words <<< "$line"
    if [[ "$line" =~ [[:space:]]$ ]]; then words+=(""); fi
    cur="${words[${#words[@]}-1]}"
    local IFS=$'\n'
    COMPREPLY=($(command runway __complete "${words[@]:1}" 2>/dev/null))
    # bash splits words at ':' (ratios such as 1280:720): drop what it already typed.
    if [[ "$cur" == *:* && "$COMP_WORDBREAKS" == *:* ]]; then
        local prefix="${cur%"${cur##*:}"}" i
        for i in "${!COMPREPLY[@]}"; do COMPREPLY[$i]="${COMPREPLY[$i]#"$prefix"}"; done
    fi
}
complete -o default -F _runway_complete runway
"""

_ZSH = r"""#compdef runway
# runway completion for zsh: eval "$(runway completion zsh)"
_runway() {
    local -a candidates
    candidates=("${(@f)$(command runway __complete "${(@)words[2,CURRENT]}" 2>/dev/null)}")
    if (( ${#candidates} )) && [[ -n "${candidates[1]}" ]]; then
        compadd -Q -- "${candidates[@]}"
    else
        _files
    fi
}
compdef _runway runway
"""

_FISH = r"""# runway completion for fish: runway completion fish | source
function __runway_complete
    set -l words (commandline -opc) (commandline -ct)
    command runway __complete $words[2..-1] 2>/dev/null
end
complete -c runway -a '(__runway_complete)'
"""

_SCRIPTS = {"bash": _BASH, "zsh": _ZSH, "fish": _FISH}


def script(shell: str) -> str:
    """The completion script of ``shell``."""
    if shell not in _SCRIPTS:
        raise UsageError(f"unknown shell {shell!r}; choose one of {', '.join(SHELLS)}")
    return _SCRIPTS[shell]


# --------------------------------------------------------------------------- answering


def run(words: Sequence[str], invocation: Invocation) -> int:
    """``runway __complete WORDS...``: print one candidate per line; never fails loudly."""
    invocation.quiet = True  # building a command says nothing (a route taken) at the prompt
    try:
        found = complete(list(words), invocation)
    except Exception:  # completion must never print a traceback into the user's prompt
        return 0
    for candidate in found:
        echo(candidate)
    return 0


#: Global options followed by a value (the value is not a command word).
_GLOBAL_WITH_VALUE = ("--spec", "--api-key", "--profile", "--runway-version", "-H", "--header",
                      "--filter")


def complete(words: list[str], invocation: Invocation) -> list[str]:
    """Candidates for the last word of ``words`` (the words after ``runway``)."""
    if not words:
        words = [""]
    *done, current = words
    index = 0
    while index < len(done) and done[index].startswith("-"):
        if done[index] in _GLOBAL_WITH_VALUE and index + 1 < len(done):
            if done[index] == "--spec":
                invocation.spec_option = done[index + 1]
            elif done[index] == "--profile":
                from runway_dynamic import _paths

                _paths.use_profile(done[index + 1])
            index += 1
        index += 1
    if done and done[-1] in _GLOBAL_WITH_VALUE and index >= len(done):
        return _starting(_profiles(), current) if done[-1] == "--profile" else []
    done = done[index:]
    if not done and current.startswith("-"):
        return _starting(_GLOBAL_OPTIONS, current)
    paths = _command_paths(invocation)
    matched = _longest(paths, done)
    if not current.startswith("-") and (not done or not done[-1].startswith("-")):
        below = sorted({p[len(done)] for p in paths
                        if len(p) > len(done) and p[: len(done)] == tuple(done)})
        if below:
            return _starting(below, current)
    if matched is None:
        return []
    rest = done[len(matched):]
    flags = _flags_of(matched, invocation, rest)
    if rest and rest[-1].startswith("-") and flags.get(rest[-1], NO_VALUE) is not NO_VALUE:
        values = flags[rest[-1]]
        if values is None:
            return []
        return _starting(values(rest), current)
    if current.startswith("-"):
        return _starting(sorted(flags), current)
    return []


def _profiles() -> list[str]:
    """The profiles that have a folder (``--profile <TAB>``)."""
    from runway_dynamic import _paths

    folder = _paths.config_dir() / "profiles"
    try:
        return sorted(p.name for p in folder.iterdir() if p.is_dir())
    except OSError:
        return []


def _starting(candidates: Iterable[str], prefix: str) -> list[str]:
    return [c for c in candidates if c.startswith(prefix)]


def _longest(paths: Iterable[tuple[str, ...]], words: Sequence[str]) -> tuple[str, ...] | None:
    best: tuple[str, ...] | None = None
    for path in paths:
        if tuple(words[: len(path)]) == path and (best is None or len(path) > len(best)):
            best = path
    return best


def _command_paths(invocation: Invocation) -> list[tuple[str, ...]]:
    from runway_dynamic.cli import _registry

    paths = [c.path for c in _registry.COMMANDS]
    try:
        from runway_dynamic.cli.resources import command_table

        paths += list(command_table(invocation.spec().catalog))
    except Exception:  # a broken spec still completes the static commands
        pass
    return [p for p in paths if not p[0].startswith("_")]


ValueSource = Any  # Callable[[list[str]], list[str]] | None | NO_VALUE


class _NoValue:
    """Marks an option that takes no value (``--wait``): the next word is another flag."""


NO_VALUE = _NoValue()


def _flags_of(path: tuple[str, ...], invocation: Invocation,
              rest: Sequence[str] = ()) -> dict[str, ValueSource]:
    """``{flag: value source or None}``: the parameters of the very command the dispatcher
    would run for ``path`` and ``rest`` (the words after it: they name ``call``'s operation,
    ``wf``'s workflow, ``generate``'s kind, and take ``video --image`` to image-to-video).

    Nothing is kept by hand: the names are the command's own (so any flag a builder adds
    appears); the values come from the spec for spec fields (models, ratios of the chosen
    model, enums) and, for the tool's options, from an enum type or a metavar that lists
    the choices (``--mode hero_banner|lifestyle``: :func:`_metavar_choices`).
    """
    function = _command_function(path, invocation, rest)
    if function is None:
        return {}
    out = _signature_flags(function)
    options = getattr(function, "options", None)
    operation = getattr(options, "operation", None)
    if options is not None and operation is not None:
        spec_values = _operation_flags(options, operation)
        out.update({flag: found for flag, found in spec_values.items()
                    if flag in out and found is not None})
    return out


def _command_function(path: tuple[str, ...], invocation: Invocation,
                      rest: Sequence[str]) -> Any:
    """The typer function the dispatcher would build for ``path`` (when these words name
    nothing it can build, the command built without them: ``call`` without an endpoint;
    ``generate`` without ``--kind`` offers its ``--kind``)."""
    from runway_dynamic.cli import _registry

    command, size = _registry.match(list(path))
    if command is None or size != len(path) or command.path != path:
        command, size = _registry.match(list(path), _registry.derived(invocation))
    if command is None or command.path != path:
        return None
    target = command.load()
    if not command.dynamic:
        return target
    invocation.path = command.path
    for words in (list(rest), []):  # the words may name nothing yet: the generic command
        try:
            built: _registry.Built = target(invocation, words)
        except UsageError:
            continue
        return built.function
    if path == ("generate",):
        from runway_dynamic.cli.generate import _router_help_command

        return _router_help_command(_generate_kinds())
    return None


def _generate_kinds() -> list[str]:
    from runway_dynamic.cli._command_names import GENERATE_KIND_ALIASES, GENERATE_KINDS

    return [*GENERATE_KINDS, *GENERATE_KIND_ALIASES]


def _signature_flags(function: Any) -> dict[str, ValueSource]:
    """Every option of a typer function, read from its signature (no app built), with the
    values its type or metavar names."""
    from runway_dynamic.cli._options import Own

    out: dict[str, ValueSource] = {"--help": NO_VALUE}
    try:
        parameters = inspect.signature(function, eval_str=True).parameters.values()
    except Exception:
        return out
    for parameter in parameters:
        metadata = getattr(parameter.annotation, "__metadata__", ())
        if not metadata or not hasattr(metadata[0], "param_decls"):
            continue
        own = Own(parameter.name, parameter.annotation)
        if own.is_argument:
            continue
        choices = _metavar_choices(getattr(metadata[0], "metavar", None)) or _enum_choices(
            parameter.annotation)
        source: ValueSource = (lambda _words, found=choices: list(found)) if choices else None
        if _is_switch(parameter.annotation):
            source = NO_VALUE
        for name in own.names:
            out[name] = source
    return out


def _is_switch(annotation: Any) -> bool:
    """A ``bool`` option (``--wait/--no-wait``, ``--json``) takes no value."""
    import typing

    kind = typing.get_args(annotation)[0] if typing.get_args(annotation) else annotation
    return kind is bool or set(typing.get_args(kind)) == {bool, type(None)}


def _metavar_choices(metavar: str | None) -> list[str] | None:
    """``hero_banner|lifestyle|flat_lay`` → its words: a metavar of two or more lower-case
    words joined by ``|`` lists an option's values (``JSON|@FILE|-`` and ``PATH|URL`` name
    kinds of value, in capitals, and are left alone)."""
    if not metavar or "|" not in metavar:
        return None
    words = metavar.split("|")
    if all(w and w == w.lower() and w.replace("_", "").replace("-", "").replace(".", "")
           .isalnum() for w in words):
        return words
    return None


def _enum_choices(annotation: Any) -> list[str] | None:
    """The values of an :class:`enum.Enum` option type."""
    import enum
    import typing

    for kind in (annotation, *typing.get_args(annotation)):
        for inner in (kind, *typing.get_args(kind)):
            if isinstance(inner, type) and issubclass(inner, enum.Enum):
                return [str(member.value) for member in inner]
    return None


def _operation_flags(options: CommandOptions, operation: Any) -> dict[str, ValueSource]:
    """The spec fields' flags of a built command, with what their values are."""
    out: dict[str, ValueSource] = dict.fromkeys(options.names())
    model_flag = (options.flag_for(operation.discriminator)
                  if operation.discriminator else None)
    for item in [*options.fields, *options.nested]:  # dotted flags too (--voice.preset-id)
        if item.kind != "boolean":
            out[item.flag] = _values_for(item, operation, model_flag)
    by_name = {f.name: f for f in options.fields if f.location == "body"}
    for alias in options.aliases:
        out[alias.flag] = _values_for(by_name[alias.fields[0]], operation, model_flag)
    return out


def _values_for(spec: Any, operation: Any, model_flag: str | None) -> ValueSource:
    """What a flag's value completes to: models, ratios (per model chosen with
    ``model_flag``, the flag that sets the model on this command), enums."""
    if spec.name == operation.discriminator == MODEL_PROPERTY:
        return lambda _words: list(operation.models)
    if spec.name == RATIO_PROPERTY:
        def ratios(words: list[str]) -> list[str]:
            chosen = _value_after(words, model_flag) if model_flag else None
            variants = [v for v in operation.variants if chosen in (None, v.key)]
            found = [r for v in variants for r in (v.known_ratios or ())]
            return list(dict.fromkeys(found))
        return ratios
    choices = spec.suggestions()  # closed sets, and an open enum's known values
    if choices is not None:
        return lambda _words: [str(c) for c in choices]
    return None


def _value_after(words: Sequence[str], flag: str) -> str | None:
    for index, word in enumerate(words[:-1]):
        if word == flag:
            return words[index + 1]
        if word.startswith(flag + "="):
            return word.partition("=")[2]
    return None
