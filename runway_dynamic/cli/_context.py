"""Per-invocation state (global options, the loaded spec) and output helpers.

Data goes to stdout, messages to stderr. ``--json`` switches both to JSON. Plain ``print``
and orjson only: rich stays off every path so start-up and output stay cheap.
"""

from __future__ import annotations

import re
import sys
from typing import TYPE_CHECKING, Any, NamedTuple, TextIO

if TYPE_CHECKING:
    from runway_dynamic.boundary import Boundary
    from runway_dynamic.spec import Spec

PROG = "runway"



class GlobalOption(NamedTuple):
    """One global option: its long name (no dashes), short form, value's metavar ("" for a
    switch) and help line."""

    name: str
    metavar: str
    help: str
    short: str = ""


#: The global options, given before the command, in the order help lists them: the one
#: table that help, the reserved-name rule, completion and the sealed-sandbox promise read
#: (``_dispatch.parse_globals`` parses each).
GLOBAL_OPTION_TABLE = (
    GlobalOption("spec", "PATH|URL", "OpenAPI spec to use (default: $RUNWAY_SPEC, then the "
                 "spec saved by 'runway spec pull', then the bundled snapshot)"),
    GlobalOption("json", "", "Machine-readable output (also accepted after most commands)"),
    GlobalOption("api-key", "KEY", "Runway API key for this run (before $RUNWAY_API_KEY, .env "
                 "and 'runway auth set')"),
    GlobalOption("profile", "NAME", "Settings and saved key of profile NAME, for several keys "
                 "or organizations (default: $RUNWAY_PROFILE; 'runway auth set --profile NAME' "
                 "saves its key)"),
    GlobalOption("runway-version", "V", "The API version header to send (the spec pins one, "
                 "sent by default; the sandbox accepts only that one)"),
    GlobalOption("header", "'N: V'", "An extra request header for the API (repeatable); it may "
                 "not set Authorization (use --api-key) or the version header (use "
                 "--runway-version)", "-H"),
    GlobalOption("sandbox", "", "Run the command against a local, in-process sandbox API (no "
                 "key, no network, nothing billed)"),
    GlobalOption("no-history", "", "Do not record this command's creates in 'runway history' "
                 "(also: 'runway config set history off')"),
    GlobalOption("filter", "EXPR", "Pass the JSON output through a JMESPath expression (also "
                 "accepted after the command)"),
    GlobalOption("version", "", "Print the version and exit"),
    GlobalOption("help", "", "Show this message and exit", "-h"),
)

#: Their long names: no spec-derived flag takes these (``runway_dynamic.cli._options``
#: reserves them).
GLOBAL_OPTIONS = tuple(option.name for option in GLOBAL_OPTION_TABLE)


class Invocation:
    """The global options of this run and the spec, loaded at most once."""

    __slots__ = ("_spec", "api_key", "args", "argv", "filter", "headers", "history", "json",
                 "path", "quiet", "runway_version", "sandbox", "sandbox_url", "spec_option")

    def __init__(self, *, spec_option: str | None = None, json: bool = False,
                 path: tuple[str, ...] = ()) -> None:
        self.spec_option = spec_option
        self.json = json
        self.path = path
        #: The command's own arguments, after its words (never the global options, so
        #: never ``--api-key``): what a hint may show back as a command line.
        self.args: tuple[str, ...] = ()
        #: ``--filter EXPR``: a JMESPath expression every JSON answer is passed through.
        self.filter: str | None = None
        #: ``--api-key`` (highest precedence; see runway_dynamic.auth).
        self.api_key: str | None = None
        #: ``--runway-version V``: what the spec's pinned version header carries.
        self.runway_version: str | None = None
        #: ``-H 'Name: value'`` pairs, in order (see cli._clients.request_headers).
        self.headers: tuple[tuple[str, str], ...] = ()
        #: ``--sandbox``: the command runs against an in-process sandbox, whose base URL
        #: is set while it runs (runway_dynamic.cli.sandbox_cmd.sandbox_session).
        self.sandbox = False
        self.sandbox_url: str | None = None
        #: ``--no-history`` turns this off: creates are not recorded (runway_dynamic.history).
        self.history = True
        #: The command line as given (recorded with each history entry, key masked).
        self.argv: tuple[str, ...] = ()
        #: No informational notes on stderr (shell completion builds commands silently).
        self.quiet = False
        self._spec: Spec | None = None

    @property
    def boundary(self) -> Boundary:
        """What this run may reach: sealed under ``--sandbox`` (see runway_dynamic.boundary)."""
        from runway_dynamic.boundary import Boundary

        return Boundary(sealed=self.sandbox, sandbox_url=self.sandbox_url)

    def spec(self) -> Spec:
        """The spec by the source chain (``--spec`` → ``RUNWAY_SPEC`` → pulled → bundled).

        Under ``--sandbox`` a spec URL must be loopback (nothing leaves the machine).
        """
        if self._spec is None:
            from runway_dynamic.sources import read_source, resolve_source
            from runway_dynamic.spec import Spec

            source = resolve_source(self.spec_option)
            guard = None
            if source.is_url:  # only a download can leave the machine
                boundary = self.boundary
                boundary.check_outbound(source.location, "loading the spec")
                guard = boundary.request_guard("loading the spec")
            self._spec = Spec.from_document(read_source(source, guard))
            if self._spec.cache_note:
                warn(self._spec.cache_note)
        return self._spec

    def wants_json(self, flag: bool = False) -> bool:
        return flag or self.json

    def command_line(self) -> str:
        """The command as typed, secrets masked (what the history records): ``--api-key``'s
        value, a credential header's (``-H 'X-Api-Key: ****'``), and the credentials of any
        URL (``--journal postgresql://me:***@db/runs``)."""
        import shlex

        from runway_dynamic._http import is_secret_header, redact_urls

        words = [redact_urls(word) for word in self.argv]
        for index, word in enumerate(words):
            if word == "--api-key" and index + 1 < len(words):
                words[index + 1] = "****"
            elif word.startswith("--api-key="):
                words[index] = "--api-key=****"
            elif word in ("-H", "--header") and index + 1 < len(words):
                name = words[index + 1].partition(":")[0]
                if is_secret_header(name):
                    words[index + 1] = f"{name}: ****"
            elif word.startswith(("-H", "--header=")) and word not in ("-H", "--header"):
                flag = "--header=" if word.startswith("--header=") else "-H"
                name = word[len(flag):].partition(":")[0]
                if is_secret_header(name):
                    words[index] = f"{flag}{name}: ****"
        return shlex.join([PROG, *words])


_current = Invocation()


def current() -> Invocation:
    """The invocation being run (commands read global options from it)."""
    return _current


def set_current(invocation: Invocation) -> None:
    global _current
    _current = invocation


# --------------------------------------------------------------------------- output

#: What must not reach a terminal from text we did not write (a server's message, a web
#: page's title, a task's failure): escape sequences (CSI, OSC, DCS/SOS/PM/APC, two-byte
#: ESC forms) and C0/C1 control characters other than tab and newline. A carriage return
#: goes too: it would let a line overwrite what came before it.
_UNSAFE = (
    r"\x1b\[[0-?]*[ -/]*[@-~]"            # CSI: colours, cursor moves, clearing
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC: titles, hyperlinks, clipboard
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"      # DCS, SOS, PM, APC
    r"|\x1b[\x20-\x7e]?"                  # other ESC forms, or a lone ESC
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]"       # C0 (but tab, newline), DEL, C1
)


def terminal_safe(text: str) -> str:
    """``text`` without terminal control sequences (see :data:`_UNSAFE`; compiled on the
    first text that is not printable: most runs print none)."""
    return re.sub(_UNSAFE, "", text) if not text.isprintable() else text



def dumps(data: Any) -> str:
    """Pretty JSON for people and scripts: indented, key order kept, UTF-8 as is."""
    import orjson

    return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode()


def emit_json(data: Any) -> None:
    sys.stdout.write(dumps(filtered(data)) + "\n")


def filtered(data: Any) -> Any:
    """``data`` through this run's ``--filter`` (JMESPath), or as it is."""
    if _current.filter is None:
        return data
    import jmespath

    return jmespath.search(_current.filter, data)


def is_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal (a closed or odd stream is not)."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def echo(text: str = "") -> None:
    sys.stdout.write(terminal_safe(text) + "\n")


def warn(message: str) -> None:
    """A warning on stderr (JSON when ``--json`` is on)."""
    if _current.json:
        import orjson

        sys.stderr.write(orjson.dumps({"warning": message}).decode() + "\n")
    else:
        sys.stderr.write(f"{PROG}: warning: {terminal_safe(message)}\n")


def report_error(payload: dict[str, Any], message: str) -> None:
    """An error on stderr: ``payload`` as one JSON line with ``--json``, else ``message``."""
    if _current.json:
        import orjson

        sys.stderr.write(orjson.dumps(payload).decode() + "\n")
    else:
        sys.stderr.write(f"{PROG}: error: {terminal_safe(message)}\n")


# --------------------------------------------------------------------------- signals


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, so a wait says how to resume (exit 143).

    A :class:`KeyboardInterrupt` so that every place that stops cleanly on Ctrl-C stops
    cleanly on SIGTERM too.
    """


def signal_exit_code(exc: BaseException) -> int:
    """130 for Ctrl-C, 143 for SIGTERM."""
    from runway_dynamic._constants import EXIT_INTERRUPTED, EXIT_TERMINATED

    return EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED


def raise_on_sigterm() -> None:
    """Turn SIGTERM into :class:`Terminated` for this process (main thread only)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return

    def handler(signum: int, frame: object) -> None:
        raise Terminated()

    signal.signal(signal.SIGTERM, handler)
