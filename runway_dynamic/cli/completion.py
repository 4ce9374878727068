"""Shell completion: ``runway completion bash|zsh|fish`` prints a script that calls back
``runway __complete WORDS...``, answered here from the cached index (no typer app built).

Completes command names (static and derived from the spec), a command's flags, and flag
values the spec closes: ``--model`` ids, ``--ratio`` values (of the chosen model when
``--model`` is given), enums of query parameters and body fields. When nothing fits (a
file path, free text) the scripts fall back to the shell's file completion.
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
    try:
        found = complete(list(words), invocation)
    except Exception:  # completion must never print a traceback into the user's prompt
        return 0
    for candidate in found:
        echo(candidate)
    return 0


def complete(words: list[str], invocation: Invocation) -> list[str]:
    """Candidates for the last word of ``words`` (the words after ``runway``)."""
    if not words:
        words = [""]
    *done, current = words
    index = 0
    while index < len(done) and done[index].startswith("-"):
        if done[index] == "--spec" and index + 1 < len(done):
            invocation.spec_option = done[index + 1]
            index += 1
        index += 1
    if done and done[-1] == "--spec" and index >= len(done):
        return []  # a path: let the shell complete files
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
    if rest and rest[-1].startswith("--") and rest[-1] in flags:
        values = flags[rest[-1]]
        if values is None:
            return []
        return _starting(values(rest), current)
    if current.startswith("-"):
        return _starting(sorted(flags), current)
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


ValueSource = Any  # Callable[[list[str]], list[str]] | None


def _flags_of(path: tuple[str, ...], invocation: Invocation,
              rest: Sequence[str] = ()) -> dict[str, ValueSource]:
    """``{flag: value source or None}`` of the command at ``path`` (``rest``: the words
    after it, which name the operation of ``runway call`` and the workflow of ``wf``)."""
    from runway_dynamic.cli import _registry
    from runway_dynamic.cli._command_names import GENERATION_COMMANDS, REFERENCE_ALIASES

    catalog = invocation.spec().catalog
    if path in GENERATION_COMMANDS:
        from runway_dynamic.cli import generate

        endpoint = GENERATION_COMMANDS[path]
        operation = catalog.model_operation(endpoint) or catalog.operation(endpoint, "POST")
        if operation is None:
            return {}
        return _operation_flags(generate.command_options(operation, aliases=True), operation)
    static = next((c for c in _registry.COMMANDS if c.path == path), None)
    if static is None or static.target.endswith("resources:build"):
        from runway_dynamic.cli import resources

        operation = resources.command_table(catalog).get(
            REFERENCE_ALIASES.get(path, path))  # type: ignore[arg-type]
        if operation is None:
            return {}
        return _operation_flags(resources.command_options(operation), operation)
    if path == ("call",):
        return _call_flags(invocation, rest)
    if path == ("wf",):
        from runway_dynamic.cli.workflow_cmd import wf_options
        from runway_dynamic.creative import workflows

        name = next((w for w in rest if not w.startswith("-")), None)
        entry = workflows.get(name) if name else None
        return dict.fromkeys(wf_options(entry)[0].names())
    if not static.dynamic:
        return _static_flags(static)
    return {}


def _call_flags(invocation: Invocation, rest: Sequence[str]) -> dict[str, ValueSource]:
    """``runway call ENDPOINT``'s options: what its builder makes for that operation."""
    from runway_dynamic.cli import call

    token, method = call.peek(list(rest))
    try:
        operation = (call.resolve(invocation.spec().catalog, token, method)[0]
                     if token is not None else None)
    except UsageError:  # no such endpoint (yet): the options every call has
        operation = None
    options = call.command_options(operation)
    if operation is None:
        return dict.fromkeys(options.names())
    return _operation_flags(options, operation)


def _operation_flags(options: CommandOptions, operation: Any) -> dict[str, ValueSource]:
    """The options the command really has (its builder's), with what their values are."""
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


def _static_flags(command: Any) -> dict[str, ValueSource]:
    """Option names of a static typer command, read from its signature (no app built)."""
    out: dict[str, ValueSource] = {"--help": None}
    try:
        function = command.load()
        parameters = inspect.signature(function, eval_str=True).parameters.values()
    except Exception:
        return out
    for parameter in parameters:
        for meta in getattr(parameter.annotation, "__metadata__", ()):
            decls = [getattr(meta, "default", None), *(getattr(meta, "param_decls", None) or ())]
            for decl in decls:
                if not isinstance(decl, str):
                    continue
                for name in str(decl).split("/"):
                    if name.startswith("--"):
                        out[name] = None
    return out
