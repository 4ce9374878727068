"""The dispatcher: global options and the command path from argv, then one typer command.

Why not one big typer app: typer builds every registered command (and, for ``call``, every
operation's flags) before it parses anything. Here only the invoked command is built, so
``runway models schema gen4.5`` costs what a one-command typer app costs, plus the warm
index load. Top-level and group help are rendered from the registry without importing any
command module.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Sequence
from typing import Any

from runway_dynamic._constants import EXIT_INTERRUPTED
from runway_dynamic._exceptions import RunwayError, UsageError
from runway_dynamic.cli import _registry
from runway_dynamic.cli._context import (
    GLOBAL_OPTION_TABLE,
    GLOBAL_OPTIONS,
    PROG,
    Invocation,
    current,
    echo,
    raise_on_sigterm,
    report_error,
    set_current,
    signal_exit_code,
)

HELP_NAMES = ("-h", "--help")
_TYPER_SETTINGS: dict[str, Any] = {"help_option_names": list(HELP_NAMES), "max_content_width": 100}

SUMMARY = "Runway's generative-media API from the command line, driven by its OpenAPI spec."

_GLOBAL_HELP = tuple(
    (f"{option.short + ', ' if option.short else ''}--{option.name}"
     f"{' ' + option.metavar if option.metavar else ''}", option.help)
    for option in GLOBAL_OPTION_TABLE)


class Globals:
    __slots__ = ("api_key", "filter", "headers", "help", "json", "no_history", "profile",
                 "runway_version", "sandbox", "spec", "version")

    def __init__(self) -> None:
        self.spec: str | None = None
        self.filter: str | None = None
        self.api_key: str | None = None
        self.profile: str | None = None
        self.runway_version: str | None = None
        self.headers: list[tuple[str, str]] = []
        self.sandbox = False
        self.no_history = False
        self.json = False
        self.version = False
        self.help = False


def _option_value(arg: str, args: Sequence[str], index: int) -> tuple[str, int]:
    """The value of ``--name=VALUE`` or ``--name VALUE`` (empty when missing), and the index
    of the last token it used."""
    if "=" in arg:
        return arg.partition("=")[2], index
    if index + 1 < len(args):
        return args[index + 1], index + 1
    return "", index


def parse_globals(args: Sequence[str]) -> tuple[Globals, list[str]]:
    """Split leading global options from the command and its arguments."""
    found = Globals()
    index = 0
    while index < len(args):
        arg = args[index]
        if not arg.startswith("-") or arg == "-":
            break
        if arg == "--":
            index += 1
            break
        if arg in HELP_NAMES:
            found.help = True
        elif arg == "--version":
            found.version = True
        elif arg == "--json":
            found.json = True
        elif arg == "--sandbox":
            found.sandbox = True
        elif arg == "--no-history":
            found.no_history = True
        elif arg == "--api-key" or arg.startswith("--api-key="):
            value, index = _option_value(arg, args, index)
            if not value.strip():
                raise UsageError("--api-key needs a KEY (or leave it out: see 'runway auth')")
            found.api_key = value
        elif arg == "--filter" or arg.startswith("--filter="):
            found.filter, index = _option_value(arg, args, index)
        elif arg == "--profile" or arg.startswith("--profile="):
            value, index = _option_value(arg, args, index)
            from runway_dynamic._paths import check_profile

            found.profile = check_profile(value)
        elif arg == "--runway-version" or arg.startswith("--runway-version="):
            value, index = _option_value(arg, args, index)
            if not value.strip() or any(ch in value for ch in "\r\n"):
                raise UsageError("--runway-version needs a version, e.g. 2024-11-06")
            found.runway_version = value.strip()
        elif arg in ("-H", "--header") or arg.startswith(("--header=", "-H")):
            if arg.startswith("-H") and len(arg) > 2:
                value = arg[2:]
            else:
                value, index = _option_value(arg, args, index)
            from runway_dynamic._http import parse_header_line

            found.headers.append(parse_header_line(value))
        elif arg == "--spec" or arg.startswith("--spec="):
            value, index = _option_value(arg, args, index)
            if not value:
                raise UsageError(
                    "--spec needs a PATH or URL, e.g. runway --spec ./openapi.json models")
            found.spec = value
        else:
            from runway_dynamic.naming import suggest_flags

            names = [left.split()[0].rstrip(",") for left, _ in _GLOBAL_HELP]
            near = suggest_flags(arg, [n for n in names if n.startswith("--")], n=1)
            hint = f"did you mean {near[0]}? " if near else ""
            raise UsageError(
                f"unknown global option {arg!r}; {hint}global options are "
                f"{', '.join(names)} (a command's own options go after the command: "
                f"{PROG} COMMAND --help)"
            )
        index += 1
    return found, list(args[index:])


def run(argv: Sequence[str] | None = None) -> int:
    """Parse, dispatch and map every error to one message and an exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    invocation = Invocation()
    set_current(invocation)
    # Start-up allocates many long-lived objects (typer, the catalog) and no garbage
    # cycles; collecting while they are made is wasted time. Re-enabled before the
    # command itself runs (run_command), so long-running commands collect as usual.
    gc.disable()
    _process[:] = [argv is None]
    if argv is None:
        raise_on_sigterm()  # the console script: SIGTERM stops it like Ctrl-C, exit 143
    try:
        return _run(args, invocation)
    except RunwayError as exc:
        report_error(exc.to_dict(), str(exc))
        return exc.exit_code
    except KeyboardInterrupt as exc:
        code = signal_exit_code(exc)
        word = "terminated" if code != EXIT_INTERRUPTED else "interrupted"
        sys.stderr.write(f"{PROG}: {word}\n")
        return code
    except BrokenPipeError:
        # The reader went away (`runway models | head`): not an error worth a traceback.
        sys.stderr = open(_devnull(), "w")  # noqa: SIM115 - silences the interpreter's flush
        return 0
    finally:
        gc.enable()


#: ``[True]`` while :func:`run` serves a process of its own (the console script), not a
#: caller in the same process (tests, embedding).
_process: list[bool] = []


def _collect_from_here() -> None:
    """Turn the garbage collector back on for the command itself.

    In a process of its own, what start-up made (typer, the catalog, the command: held
    until exit) is first moved out of the collector's sight (``gc.freeze``); otherwise
    the first collection walks all of it, some 4 ms of a dry-run. Not for a caller in the
    same process, whose garbage would then never be collected.
    """
    if _process[:1] == [True]:
        gc.freeze()
    gc.enable()


def fast_exit(code: int) -> None:
    """End the process now, skipping the interpreter's object-by-object teardown.

    Exit handlers still run and both streams are flushed. Falls back to a normal return
    when other threads are alive (they would be killed) or ``RUNWAY_NO_FAST_EXIT`` is set.
    """
    import os
    import threading

    if os.environ.get("RUNWAY_NO_FAST_EXIT") or threading.active_count() > 1:
        return
    import atexit

    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):
        pass
    os._exit(code)


def _devnull() -> str:
    import os

    return os.devnull


def _run(args: list[str], invocation: Invocation) -> int:
    if args[:1] == ["__complete"]:  # shell completion: answered without any typer app
        from runway_dynamic.cli.completion import run as complete

        return complete(args[1:], invocation)
    options, rest = parse_globals(args)
    invocation.json = options.json
    invocation.spec_option = options.spec
    invocation.api_key = options.api_key
    invocation.sandbox = options.sandbox
    invocation.history = not options.no_history
    invocation.argv = tuple(args)
    invocation.runway_version = options.runway_version
    invocation.headers = tuple(options.headers)
    if options.profile is not None:
        from runway_dynamic import _paths

        _paths.use_profile(options.profile)
    if options.version:
        from runway_dynamic._version import __version__

        echo(f"{PROG} (runway-dynamic) {__version__}")
        return 0
    if not rest:
        echo(top_level_help())
        return 0
    if options.help:
        rest.append("--help")
    command, size = _registry.match(rest)
    if _registry.may_be_derived(rest, size):
        command, size = _registry.match(rest, _registry.derived(invocation))
    if command is None:
        return _no_command(rest, _registry.derived(invocation))
    invocation.path = command.path
    tail = rest[size:]
    tail, invocation.filter = _take_filter(tail, options.filter)
    invocation.args = tuple(tail)
    options_part = tail[: tail.index("--")] if "--" in tail else tail
    if "--json" in options_part:
        invocation.json = True  # so that errors raised before typer parses are JSON too
    if options.sandbox and not any(a in HELP_NAMES for a in options_part):
        from runway_dynamic.cli.sandbox_cmd import sandbox_session

        with sandbox_session(invocation):
            return run_command(command, tail, invocation)
    return run_command(command, tail, invocation)


def _take_filter(tail: list[str], given: str | None) -> tuple[list[str], str | None]:
    """``--filter EXPR`` wherever it is (before ``--``), taken out of the command's
    arguments and checked now: a bad expression is exit 2 before anything is sent."""
    expr = given
    out: list[str] = []
    index = 0
    while index < len(tail):
        arg = tail[index]
        if arg == "--":
            out += tail[index:]
            break
        if arg == "--filter" or arg.startswith("--filter="):
            expr, index = _option_value(arg, tail, index)
        else:
            out.append(arg)
        index += 1
    if expr is None:
        return out, None
    if not expr.strip():
        raise UsageError("--filter needs a JMESPath expression, e.g. --filter 'data[].id'")
    import jmespath
    from jmespath.exceptions import JMESPathError

    try:
        jmespath.compile(expr)
    except JMESPathError as exc:
        raise UsageError(f"--filter {expr!r} is not a JMESPath expression: "
                         f"{str(exc).splitlines()[0].rstrip(': ')}") from None
    return out, expr


def _listing_or_none(invocation: Invocation) -> list[_registry.Command] | None:
    """The spec's commands for the top-level listing; ``None`` when the spec cannot load."""
    try:
        return _registry.listing(invocation)
    except RunwayError:
        return None


def _no_command(rest: list[str], extra: Sequence[_registry.Command] = ()) -> int:
    from runway_dynamic.naming import closest

    word = rest[0]
    prefix = (word,)
    if _registry.children(prefix, extra):
        wants_help = len(rest) == 1 or rest[1] in HELP_NAMES
        if wants_help:
            echo(group_help(prefix, extra))
            return 0
        names = [c.path[1] for c in _registry.children(prefix, extra)]
        near = closest(rest[1], names)
        hint = f"; did you mean {' or '.join(f'{word} {n}' for n in near)}?" if near else ""
        raise UsageError(f"unknown command '{word} {rest[1]}'{hint} See '{PROG} {word} --help'.")
    near = closest(word, _registry.top_level_names(extra))
    hint = f"; did you mean {' or '.join(near)}?" if near else ""
    raise UsageError(f"unknown command {word!r}{hint} See '{PROG} --help'.")


# --------------------------------------------------------------------------- help


def _table(rows: Sequence[tuple[str, str]], indent: int = 2) -> list[str]:
    from runway_dynamic.cli._help_text import wrap

    width = max(len(left) for left, _ in rows) + 2
    out = []
    for left, right in rows:
        lines = wrap(right, max(40, 100 - indent - width)) or [""]
        out.append(" " * indent + left.ljust(width) + lines[0])
        out += [" " * (indent + width) + line for line in lines[1:]]
    return out


def _grouped(commands: Sequence[_registry.Command]) -> list[tuple[str, str]]:
    """One row per first word: ``avatars  list, create, get, delete, update``."""
    verbs: dict[str, list[str]] = {}
    for command in commands:
        verbs.setdefault(command.path[0], []).append(" ".join(command.path[1:]) or command.help)
    return [(name, ", ".join(found)) for name, found in verbs.items()]


def top_level_help() -> str:
    """Help listing every command: the registry's, then the spec's resources (read from
    the cached index) one line per resource. No command module is imported."""
    derived = _listing_or_none(current())
    lines = [f"Usage: {PROG} [GLOBAL OPTIONS] COMMAND [ARGS]...", "", f"  {SUMMARY}", "",
             "Global options (before the command):"]
    lines += _table(_GLOBAL_HELP)
    lines += ["", "Commands:"]
    lines += _table([(c.name, c.help) for c in _registry.COMMANDS
                     if c.target != _registry.RESOURCE_TARGET])
    aliases = [c for c in _registry.COMMANDS if c.target == _registry.RESOURCE_TARGET]
    if aliases:
        lines += ["", "Reference-CLI groups (aliases of the resource commands):"]
        lines += _table(_grouped(aliases))
    if derived:
        lines += ["", "Resources (one command per operation of the spec: RESOURCE VERB):"]
        lines += _table(_grouped(derived))
    lines += ["", f"Run '{PROG} COMMAND --help' for a command's options.",
              "Exit codes: 0 ok, 1 error, 2 usage/pre-flight (nothing sent), 3 task failed, "
              f"4 timeout, 75 batch paused, 130/143 interrupted ('{PROG} help exit-codes')."]
    return "\n".join(lines)


def group_help(prefix: tuple[str, ...], extra: Sequence[_registry.Command] = ()) -> str:
    name = " ".join(prefix)
    lines = [f"Usage: {PROG} {name} COMMAND [ARGS]...", ""]
    if prefix[0] in _registry.GROUPS:
        lines += [f"  {_registry.GROUPS[prefix[0]]}", ""]
    lines += ["Commands:"]
    own, _ = _registry.match(list(prefix))
    rows = [(own.name, own.help)] if own is not None and own.path == prefix else []
    rows += [(c.name, c.help) for c in _registry.children(prefix, extra)]
    lines += _table(rows)
    lines += ["", f"Run '{PROG} {name} COMMAND --help' for a command's options."]
    return "\n".join(lines)


def _children_epilog(prefix: tuple[str, ...]) -> str | None:
    below = _registry.children(prefix)
    if not below:
        return None
    # "\b" keeps click from re-wrapping the table.
    return "\n".join(["\b", "Commands:", *_table([(c.name, c.help) for c in below])])


# --------------------------------------------------------------------------- running


def run_command(command: _registry.Command, args: list[str], invocation: Invocation) -> int:
    """Build a typer app holding only ``command`` and run it on ``args``."""
    import typer
    from typer._click import exceptions as click_exc
    from typer.main import get_command

    from runway_dynamic.cli._help_text import help_command_class

    if command.uses_spec and not set(HELP_NAMES) & set(args):
        invocation.spec()  # the warm index load, still inside the no-GC start-up
    target = command.load()
    help_text: _registry.Text = None
    epilog: _registry.Text = _children_epilog(command.path)
    elsewhere = None
    if command.dynamic:
        built: _registry.Built = target(invocation, args)
        function, help_text, elsewhere = built.function, built.help, built.elsewhere
        epilog = _either(built.epilog, epilog)
    else:
        function = target
    app = typer.Typer(add_completion=False, rich_markup_mode=None, pretty_exceptions_enable=False)
    app.command(name=command.path[-1], help=None if callable(help_text) else help_text,
                epilog=None if callable(epilog) else epilog,
                context_settings=_TYPER_SETTINGS, cls=help_command_class())(function)
    click_command = get_command(app)
    if callable(help_text) or callable(epilog):
        _help_when_shown(click_command, help_text, epilog)
    prog = f"{PROG} {command.name}"
    _collect_from_here()
    try:
        result = click_command.main(args=args, prog_name=prog, standalone_mode=False)
    except click_exc.NoSuchOption as exc:
        raise UsageError(_unknown_option(prog, exc, click_command, elsewhere)) from None
    except click_exc.UsageError as exc:
        raise UsageError(_usage_message(prog, exc)) from None
    except click_exc.ClickException as exc:
        raise RunwayError(exc.format_message()) from None
    except typer.Abort:
        sys.stderr.write(f"{PROG}: aborted\n")
        return EXIT_INTERRUPTED
    except typer.Exit as exc:
        return int(exc.exit_code)
    return result if isinstance(result, int) else 0


def _either(first: _registry.Text, second: _registry.Text) -> _registry.Text:
    """``first or second``, where either may be a function that makes the text."""
    if not callable(first) and not callable(second):
        return first or second
    return lambda: _registry.text_of(first) or _registry.text_of(second)


def _help_when_shown(click_command: Any, help_text: _registry.Text,
                     epilog: _registry.Text) -> None:
    """Make the command's help and epilog only when its help is shown (every way click
    shows help goes through ``format_help``), as typer would have set them."""
    import inspect

    shown = click_command.format_help

    def format_help(ctx: Any, formatter: Any) -> None:
        if callable(help_text):
            text = help_text()
            if text is not None:  # else typer's own choice stands (the function's doc)
                click_command.help = inspect.cleandoc(text)
        if callable(epilog):
            click_command.epilog = epilog()
        shown(ctx, formatter)

    click_command.format_help = format_help


def _unknown_option(prog: str, exc: Any, click_command: Any,
                    elsewhere: Any = None) -> str:
    """``no such option --imag; did you mean --image?``: the flags this command takes that
    look like it (:func:`runway_dynamic.naming.suggest_flags`), else another command that
    takes it; never click's guess, which can be unrelated (``--image`` → ``--timeout``)."""
    from runway_dynamic.naming import suggest_flags

    typed = str(exc.option_name)
    accepted = [name for param in click_command.params
                for name in (*getattr(param, "opts", ()), *getattr(param, "secondary_opts", ()))
                if name.startswith("--")]
    near = suggest_flags(typed, accepted)
    name = prog.removeprefix(PROG + " ")
    hint = f"; did you mean {' or '.join(near)}?" if near else ""
    other = elsewhere(typed) if elsewhere is not None and not near else None
    if other:
        hint = f"; {other}"
    if typed.lstrip("-") in GLOBAL_OPTIONS and not near:
        hint = (f": {typed} is a global option, and global options go before the command, "
                f"e.g. {PROG} {typed} ... {name} ...")
    return f"{name}: no such option {typed}{hint} (see '{prog} --help')"


def _usage_message(prog: str, exc: Any) -> str:
    """click's usage error as one line, with a hint when a global option came too late."""
    message = exc.format_message().rstrip(".")
    message = message[:1].lower() + message[1:]
    option = getattr(exc, "option_name", None)
    name = prog.removeprefix(PROG + " ")
    if option in ("--spec", "--version"):
        return (f"{name}: {message}: global options go before the command, "
                f"e.g. {PROG} {option} ... {name} ...")
    return f"{name}: {message} (see '{prog} --help')"

