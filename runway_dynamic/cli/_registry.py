"""Every command of ``runway`` in one table: name → module, short help; loaded lazily.

Adding a command is one entry here. A *static* command's target is a typer command
function. A *dynamic* command's target is a factory ``(invocation, args) -> Built`` that
synthesises the command from the spec's catalog (its flags come from the spec), so only the
operation being invoked is ever built.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from runway_dynamic.cli._command_names import GENERATION_COMMANDS, REFERENCE_ALIASES

if TYPE_CHECKING:
    from runway_dynamic.cli._context import Invocation


class Command:
    """One registry entry (a plain slotted class: cheaper to define than a dataclass)."""

    __slots__ = ("dynamic", "help", "path", "target", "uses_spec")

    def __init__(self, path: tuple[str, ...], target: str, help: str, *, dynamic: bool = False,
                 uses_spec: bool = False):
        self.path = path
        self.target = target
        self.help = help
        self.dynamic = dynamic
        #: The command reads the spec: the dispatcher loads it during start-up (see _dispatch).
        self.uses_spec = uses_spec

    @property
    def name(self) -> str:
        return " ".join(self.path)

    def load(self) -> Callable[..., Any]:
        """Import the target (``module:attribute``) only now that it is needed."""
        from importlib import import_module

        module, _, attribute = self.target.partition(":")
        loaded: Callable[..., Any] = getattr(import_module(module), attribute)
        return loaded

    def __repr__(self) -> str:
        return f"Command({self.name!r}, {self.target!r})"


#: A help text, or a function that makes it: called only when the help is shown (a
#: generation command's help asks every sibling command for its flags; running it does not).
Text = str | Callable[[], "str | None"] | None


def text_of(value: Text) -> str | None:
    """The text of a :data:`Text` (made now when it is a function)."""
    return value() if callable(value) else value


class Built:
    """What a dynamic command's factory returns: the command function and its help texts
    (each a :data:`Text`: a string, or a function the dispatcher calls only for ``--help``).

    ``elsewhere``: for an option the command does not take, the hint that names another
    command taking it or a close flag (``--imag`` on ``video`` → ``did you mean --image
    (it runs 'runway image-to-video')?``), for the unknown-option error.
    """

    __slots__ = ("elsewhere", "epilog", "function", "help")

    def __init__(
        self, function: Callable[..., Any], *, help: Text = None, epilog: Text = None,
        elsewhere: Callable[[str], str | None] | None = None,
    ):
        self.function = function
        self.help = help
        self.epilog = epilog
        self.elsewhere = elsewhere

    def help_text(self) -> str | None:
        return text_of(self.help)

    def epilog_text(self) -> str | None:
        return text_of(self.epilog)


_M = "runway_dynamic.cli"
#: The factory of every command derived from the spec's operations (see resources.py).
RESOURCE_TARGET = f"{_M}.resources:build"

COMMANDS: tuple[Command, ...] = (
    Command(("models",), f"{_M}.models:list_models",
            "List the model endpoints, the command that serves each, and their model ids.",
            uses_spec=True),
    Command(("models", "schema"), f"{_M}.models:schema",
            "Show a model's required and optional fields and ratios, per endpoint.",
            uses_spec=True),
    Command(("models", "ratios"), f"{_M}.models:ratios",
            "Show the ratio matrix, or which models accept one ratio.", uses_spec=True),
    Command(("spec", "show"), f"{_M}.spec_cmd:show",
            "Show which spec is in use: source, API version, sha256, counts.", uses_spec=True),
    Command(("spec", "pull"), f"{_M}.spec_cmd:pull",
            "Download the official spec into the user cache (conditional GET)."),
    Command(("spec", "rollback"), f"{_M}.spec_cmd:rollback",
            "Return to the spec the last 'runway spec pull' replaced (again: undo the rollback)."),
    Command(("spec", "diff"), f"{_M}.spec_cmd:diff",
            "Compare two specs: models, endpoints, fields, required-ness, ratios."),
    Command(("spec", "pack"), f"{_M}.spec_cmd:pack",
            "Write a compact, facts-only snapshot of an official spec."),
    Command(("call",), f"{_M}.call:build",
            "Call any operation of the spec, with flags from the spec.", dynamic=True,
            uses_spec=True),
    Command(("tools", "export"), f"{_M}.tools_cmd:export",
            "Export function-calling tools derived from the spec (one per generation endpoint).",
            uses_spec=True),
    Command(("mcp", "serve"), f"{_M}.mcp_cmd:serve",
            "Serve the spec's tools and a runway://models resource over MCP.", uses_spec=True),
    # --- creative workflows (issue 6)
    Command(("short-video",), f"{_M}.short_video_cmd:short_video",
            "Plan a multi-shot video from a scenario, generate the shots, join them.",
            uses_spec=True),
    Command(("short-video", "plan"), f"{_M}.short_video_cmd:plan_command",
            "Plan a short video without running it (no key needed).", uses_spec=True),
    Command(("short-video", "run"), f"{_M}.short_video_cmd:run_command",
            "Run a short-video plan as it is (resumes; --only N re-makes one shot).",
            uses_spec=True),
    Command(("short-video", "diff"), f"{_M}.short_video_cmd:diff_command",
            "Compare two short-video plans shot by shot (exit 1 when they differ)."),
    Command(("workflow", "register"), f"{_M}.workflow_cmd:register",
            "Register a typed 'runway wf NAME' command from a workflow's input nodes.",
            uses_spec=True),
    Command(("workflow", "registered", "list"), f"{_M}.workflow_cmd:registered_list",
            "List the registered workflows."),
    Command(("workflow", "registered", "show"), f"{_M}.workflow_cmd:registered_show",
            "Show a registered workflow's inputs."),
    Command(("workflow", "registered", "remove"), f"{_M}.workflow_cmd:registered_remove",
            "Forget a registered workflow."),
    Command(("wf",), f"{_M}.workflow_cmd:build_wf",
            "Run a registered workflow: upload inputs, run, wait, download.", dynamic=True,
            uses_spec=True),
    Command(("marketing-studio", "avatars", "list"), f"{_M}.marketing_cmd:avatars_list",
            "Alias of 'avatars list'.", dynamic=True, uses_spec=True),
    Command(("marketing-studio", "webproducts", "fetch"), f"{_M}.marketing_cmd:webproducts_fetch",
            "Read a product page's title, description, images, price and brand."),
    Command(("gallery", "create"), f"{_M}.gallery_cmd:create",
            "Write one self-contained HTML page of generated images, videos and audio."),
    Command(("soul-id", "create"), f"{_M}.soul_id_cmd:create",
            "Save reference photos of a person under a new local soul-id."),
    Command(("soul-id", "list"), f"{_M}.soul_id_cmd:list_", "List the local soul-ids."),
    Command(("soul-id", "get"), f"{_M}.soul_id_cmd:get", "Show a soul-id and its photos."),
    Command(("soul-id", "wait"), f"{_M}.soul_id_cmd:wait",
            "Return at once (a local soul-id is ready when created)."),
    Command(("soul-id", "delete"), f"{_M}.soul_id_cmd:delete", "Delete a soul-id."),
    Command(("product-photoshoot", "create"), f"{_M}.recipes_cmd:photoshoot",
            "Generate a set of product photos for one mode, concurrently.", uses_spec=True),
    Command(("marketplace-cards", "create"), f"{_M}.recipes_cmd:marketplace",
            "Generate marketplace-style listing images for one scope.", uses_spec=True),
    Command(("ad-video", "create"), f"{_M}.recipes_cmd:ad_video",
            "Generate short ad clips for one mode (from --image when given).", uses_spec=True),
    Command(("config", "get"), f"{_M}.config_cmd:get", "Print one setting."),
    Command(("config", "set"), f"{_M}.config_cmd:set_",
            "Validate and save one setting (default models are checked against the spec)."),
    Command(("config", "unset"), f"{_M}.config_cmd:unset", "Remove one setting."),
    Command(("config", "list"), f"{_M}.config_cmd:list_", "Print every setting."),
    Command(("config", "path"), f"{_M}.config_cmd:path", "Print where the settings file lives."),
    Command(("completion",), f"{_M}.completion_cmd:completion",
            "Print a shell completion script (bash, zsh, fish)."),
    *(Command(path, f"{_M}.generate:build", f"Generate with {endpoint} (models from the spec).",
              dynamic=True, uses_spec=True)
      for path, endpoint in GENERATION_COMMANDS.items()),
    Command(("generate",), f"{_M}.generate:build_router",
            "Generate from PROMPT with the command --kind names (image, video, ...).",
            dynamic=True, uses_spec=True),
    *(Command(path, RESOURCE_TARGET, f"Alias of '{' '.join(target)}'.", dynamic=True,
              uses_spec=True)
      for path, target in REFERENCE_ALIASES.items()),
    Command(("account",), f"{_M}.account_cmd:build",
            "Your organization at a glance: credits, tier, per-model use and limits.",
            dynamic=True, uses_spec=True),

    # --- batch runs (issue 8)
    Command(("batch", "run"), f"{_M}.batch_cmd:run",
            "Run every generation of a JSONL/CSV jobs file: checked, journaled, resumable.",
            uses_spec=True),
    Command(("batch", "resume"), f"{_M}.batch_cmd:resume",
            "Continue a batch from its journal (submitted tasks are followed, not resent).",
            uses_spec=True),
    Command(("batch", "status"), f"{_M}.batch_cmd:status",
            "Summarise a batch: counts, failures, pauses, uncertain jobs, next steps."),
    Command(("batch", "results"), f"{_M}.batch_cmd:results",
            "Print or write one JSON line per job: task ids, status, failure, files."),
    Command(("batch", "retry-failed"), f"{_M}.batch_cmd:retry_failed",
            "Resubmit failed jobs whose failure is retryable (or those named by --job).",
            uses_spec=True),
    Command(("batch", "resolve"), f"{_M}.batch_cmd:resolve",
            "Settle an uncertain job: give its task id, or say it made none.",
            uses_spec=True),
    Command(("batch", "worker"), f"{_M}.batch_cmd:worker",
            "Drain the batches of a shared PostgreSQL journal, beside any other workers.",
            uses_spec=True),

    # --- realtime avatar bridge (issue 20)
    Command(("realtime", "bridge"), f"{_M}.realtime_cmd:bridge",
            "Relay a realtime avatar session as fMP4 or JPEG/PNG frames over HTTP, or to a "
            "file.", uses_spec=True),

    # --- tasks, uploads, auth, sandbox (issue 4)
    Command(("task", "get"), f"{_M}.task_cmd:get",
            "Show a task; --wait follows it, --download saves its outputs.", uses_spec=True),
    Command(("task", "cancel"), f"{_M}.task_cmd:cancel",
            "Cancel a running task (it ends CANCELLED).", uses_spec=True),
    Command(("task", "delete"), f"{_M}.task_cmd:delete", "Delete a finished task.",
            uses_spec=True),
    Command(("upload", "create"), f"{_M}.upload_cmd:create",
            "Upload a local file; prints its runway:// URI.", uses_spec=True),
    Command(("auth", "set"), f"{_M}.auth_cmd:set_key",
            "Save your API key (hidden prompt, or --stdin) to the credentials file."),
    Command(("auth", "show"), f"{_M}.auth_cmd:show",
            "Show the API key in use, masked, and where it came from."),
    Command(("auth", "clear"), f"{_M}.auth_cmd:clear",
            "Remove the API key saved by 'runway auth set'."),
    Command(("sandbox", "serve"), f"{_M}.sandbox_cmd:serve",
            "Run the local Runway API simulator in the foreground.", uses_spec=True),
    Command(("help", "exit-codes"), f"{_M}.help_cmd:exit_codes",
            "What each exit status of runway means."),

    # --- history (issue 18)
    Command(("history",), f"{_M}.history_cmd:list_entries",
            "List past create requests, newest first (a table, or JSON when piped)."),
    Command(("history", "search"), f"{_M}.history_cmd:search",
            "Find past create requests by the words of their prompt."),
    Command(("history", "show"), f"{_M}.history_cmd:show",
            "Show one entry: the body sent, task id, status, outputs, saved files."),
    Command(("history", "rerun"), f"{_M}.history_cmd:build_rerun",
            "Send an entry again through today's pre-flight (--model, flags, --sandbox).",
            dynamic=True, uses_spec=True),
    Command(("history", "open"), f"{_M}.history_cmd:open_outputs",
            "Open an entry's saved outputs ($RUNWAY_OPENER, else the desktop's opener)."),
    Command(("history", "uncertain"), f"{_M}.history_cmd:uncertain",
            "List creates whose answer was lost, with what to look for in the dashboard."),
    Command(("history", "reconcile"), f"{_M}.history_cmd:reconcile",
            "Settle a lost answer: the task you found in the dashboard, or --none."),
    Command(("history", "clear"), f"{_M}.history_cmd:clear",
            "Delete the history, or the entries made before a date."),
    Command(("history", "path"), f"{_M}.history_cmd:path",
            "Print where the history file lives."),
)

#: Help of command groups that have no command of their own (or whose listing needs a title).
GROUPS: dict[str, str] = {
    "models": "Models, their fields and ratios, from the spec.",
    "spec": "Inspect, download, compare and pack OpenAPI specs.",
    "config": "User settings: default models, output dir, poll interval, base URL, format.",
    "avatar": "Avatars (the reference CLI's verbs, aliases of the 'avatars' commands).",
    "document": "Knowledge documents (aliases of the 'documents' commands).",
    "voice": "Voices (aliases of the 'voices' commands).",
    "realtime": "Realtime sessions (aliases of the 'realtime-sessions' commands) and the "
                "bridge that relays one to clients without WebRTC.",
    "workflow": "Workflows (aliases of the 'workflows' and 'workflow-invocations' commands).",
    "task": "Follow, download, cancel and delete tasks.",
    "batch": "Batch runs: thousands of generations from a file, resumable, never paid twice.",
    "upload": "Upload local files for media fields.",
    "auth": "The API key: save, show (masked), clear.",
    "sandbox": "The local Runway API simulator.",
    "help": "Reference topics.",
    "history": "Every task-creating request, recorded: list, search, show, rerun, reconcile.",
}


def match(tokens: Sequence[str], extra: Sequence[Command] = ()) -> tuple[Command | None, int]:
    """The command named by the longest run of leading words of ``tokens``, and its length."""
    best: Command | None = None
    for command in (*COMMANDS, *extra):
        size = len(command.path)
        if tuple(tokens[:size]) == command.path and (best is None or size > len(best.path)):
            best = command
    return best, (len(best.path) if best else 0)


def children(prefix: tuple[str, ...], extra: Sequence[Command] = ()) -> list[Command]:
    """Commands strictly below ``prefix`` (``models`` → ``models schema``, ``models ratios``)."""
    size = len(prefix)
    return [c for c in (*COMMANDS, *extra) if len(c.path) > size and c.path[:size] == prefix]


def top_level_names(extra: Sequence[Command] = ()) -> list[str]:
    return list(dict.fromkeys(c.path[0] for c in (*COMMANDS, *extra)))


def derived(invocation: Invocation) -> list[Command]:
    """One command per operation of the spec (``avatars list``…), named from the catalog.

    Static commands keep their names; the others are built by ``resources.build`` only
    when invoked.
    """
    catalog = invocation.spec().catalog
    return derived_from((op.method, op.path, [p.name for p in op.params("query")])
                        for op in catalog.operations)


def listing(invocation: Invocation) -> list[Command]:
    """:func:`derived` for the top-level help, read from the cached index as plain data
    (no catalog objects are made); when nothing is cached yet the index is built once."""
    from runway_dynamic import cache
    from runway_dynamic.sources import load_document

    data = cache.load_index(load_document(invocation.spec_option).index_key)
    if data is None:
        return derived(invocation)
    return derived_from(
        (op["method"], op["path"], [p["name"] for p in op["parameters"] if p["in"] == "query"])
        for op in data["operations"])


def derived_from(operations: Iterable[tuple[str, str, list[str]]]) -> list[Command]:
    """Registry entries for ``(method, path, query names)``; static names win."""
    from runway_dynamic.cli._command_names import command_names
    from runway_dynamic.naming import endpoint_name

    ops = [(method, path, endpoint_name(path), query) for method, path, query in operations]
    names = command_names((method, endpoint, query) for method, _, endpoint, query in ops)
    taken = {c.path for c in COMMANDS}
    found = [(names[(method, endpoint)], f"{method} {path}") for method, path, endpoint, _ in ops]
    return [Command(name, RESOURCE_TARGET, help, dynamic=True, uses_spec=True)
            for name, help in found if name not in taken]


def may_be_derived(tokens: Sequence[str], size: int) -> bool:
    """Whether ``tokens`` may name a derived command beyond a static match of ``size`` words.

    Derived names are two words (RESOURCE VERB), so only a shorter or missing static match
    followed by a second plain word needs the catalog.
    """
    return size == 0 or (size < 2 and len(tokens) > 1 and not tokens[1].startswith("-"))
