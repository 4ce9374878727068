"""``runway history``: list, search, show, rerun, open, reconcile and clear past creates.

Every task-creating request the CLI sends is recorded (:mod:`runway_dynamic.history`);
these commands read that record. Listings are newest first: a table on a terminal, JSON
when piped or with ``--json``.
"""

from __future__ import annotations

import inspect
import shutil
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from runway_dynamic._exceptions import UsageError
from runway_dynamic.cli._context import PROG, current, echo, emit_json, is_terminal
from runway_dynamic.cli._options import Own

if TYPE_CHECKING:
    from runway_dynamic.history import Entry, Filters, HistoryStore

#: Rows a listing shows unless ``--limit`` says otherwise.
DEFAULT_LIMIT = 50

ModelOption = Annotated[str | None, typer.Option(
    "--model", metavar="MODEL", show_default=False, help="Only this model's entries.")]
EndpointOption = Annotated[str | None, typer.Option(
    "--endpoint", metavar="ENDPOINT", show_default=False,
    help="Only this endpoint's entries (text_to_video, …).")]
StatusOption = Annotated[str | None, typer.Option(
    "--status", metavar="STATUS", show_default=False,
    help="Only entries with this status: SUCCEEDED, FAILED, answer-lost, rejected, …")]
SinceOption = Annotated[str | None, typer.Option(
    "--since", metavar="WHEN", show_default=False,
    help="Only entries since WHEN: a duration back from now (30m, 12h, 7d, 2w) or a date "
         "(2026-11-30, 2026-11-30T14:00).")]
SandboxOption = Annotated[bool | None, typer.Option(
    "--sandbox/--no-sandbox", show_default=False,
    help="Only sandbox rehearsals, or only real runs (default: both).")]
LimitOption = Annotated[int, typer.Option(
    "--limit", metavar="N", help="Show at most N entries (0: all).")]
JsonOption = Annotated[bool, typer.Option("--json", help="JSON output.")]
EntryArgument = Annotated[int, typer.Argument(metavar="ID", show_default=False,
                                              help="The entry's id (first column of "
                                                   "'runway history').")]


def open_store(command: str | None = None) -> HistoryStore:
    """The user's history, with the configured size cap."""
    from runway_dynamic import config
    from runway_dynamic.history import HistoryStore
    from runway_dynamic.history.store import DEFAULT_MAX_BYTES

    return HistoryStore(max_bytes=config.history_max_bytes() or DEFAULT_MAX_BYTES,
                        command=command)


def filters(model: str | None, endpoint: str | None, status: str | None, since: str | None,
            sandbox: bool | None, limit: int | None) -> Filters:
    from runway_dynamic.history import Filters
    from runway_dynamic.history.when import parse_point

    if limit is not None and limit < 0:
        raise UsageError("--limit must be 0 or more")
    return Filters(model=model, endpoint=endpoint, status=status,
                   since=parse_point(since, "--since") if since else None, sandbox=sandbox,
                   limit=limit or None)


def find(store: HistoryStore, entry_id: int) -> Entry:
    """The entry ``entry_id``, or a :class:`UsageError` saying how to find one."""
    entry = store.get(entry_id)
    if entry is None:
        raise UsageError(f"no history entry {entry_id}; '{PROG} history' lists them")
    return entry


# --------------------------------------------------------------------------- listing


def _one_line(text: str | None, width: int) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= width else flat[: max(0, width - 1)] + "…"


def _status(entry: Entry) -> str:
    from runway_dynamic.history import ANSWER_LOST, NO_TASK

    return {ANSWER_LOST: "answer lost", NO_TASK: "no task made"}.get(entry.status,
                                                                     entry.status)


def table(entries: list[Entry]) -> list[str]:
    """The listing as aligned text lines (the prompt takes the width that is left)."""
    from runway_dynamic.history.when import local

    rows = [(str(e.id), local(e.created), _status(e) + (" (sandbox)" if e.sandbox else ""),
             e.model or "-", e.endpoint, e.prompt) for e in entries]
    heads = ("ID", "WHEN", "STATUS", "MODEL", "ENDPOINT", "PROMPT")
    widths = [max(len(h), *(len(r[i] or "") for r in rows)) for i, h in enumerate(heads[:-1])]
    total = shutil.get_terminal_size((120, 24)).columns
    room = max(20, total - sum(widths) - 2 * len(widths))
    lines = ["  ".join(h.ljust(w) for h, w in zip(heads, widths, strict=False)) + "  PROMPT"]
    for row in rows:
        cells = [c.ljust(w) for c, w in zip(row[:-1], widths, strict=True)]
        lines.append("  ".join(cells) + "  " + _one_line(row[-1], room))
    return lines


def _show_list(entries: list[Entry], as_json: bool, empty: str) -> None:
    if as_json or not is_terminal(sys.stdout):
        emit_json([e.to_dict() for e in entries])
        return
    if not entries:
        sys.stderr.write(f"{PROG}: {empty}\n")
        return
    for line in table(entries):
        echo(line)


def list_entries(
    model: ModelOption = None, endpoint: EndpointOption = None, status: StatusOption = None,
    since: SinceOption = None, sandbox: SandboxOption = None,
    limit: LimitOption = DEFAULT_LIMIT, json: JsonOption = False,
) -> int:
    """List past create requests, newest first: a table on a terminal, JSON when piped."""
    with open_store() as store:
        found = store.entries(filters(model, endpoint, status, since, sandbox, limit))
    _show_list(found, current().wants_json(json),
               "no history yet (every task-creating command is recorded)")
    return 0


def search(
    query: Annotated[str, typer.Argument(metavar="WORDS", show_default=False,
                                         help="Words of the prompt (any order; a word also "
                                              "finds longer words it starts).")],
    model: ModelOption = None, endpoint: EndpointOption = None, status: StatusOption = None,
    since: SinceOption = None, sandbox: SandboxOption = None,
    limit: LimitOption = DEFAULT_LIMIT, json: JsonOption = False,
) -> int:
    """Find past create requests by the words of their prompt (SQLite full-text search)."""
    with open_store() as store:
        found = store.search(query, filters(model, endpoint, status, since, sandbox, limit))
    _show_list(found, current().wants_json(json), f"no prompt in the history has {query!r}")
    return 0


# --------------------------------------------------------------------------- one entry


def show(entry_id: EntryArgument, json: JsonOption = False) -> int:
    """Show everything recorded for one entry, and its task's state now if not settled."""
    with open_store() as store:
        entry = find(store, entry_id)
    data = entry.to_dict()
    if entry.uncertain:
        data["lookFor"] = look_for(entry)
    current_state = _current_state(entry)
    if current_state is not None:
        data["current"] = current_state
        with open_store() as store:
            note_state(store, entry.id, current_state)
    emit_json(data)
    return 0


def _current_state(entry: Entry) -> dict[str, Any] | None:
    """The task as the API sees it now, for an entry not yet settled (``None`` otherwise)."""
    from runway_dynamic._exceptions import RunwayError
    from runway_dynamic.cli._context import warn

    if entry.settled or entry.task_id is None:
        return None
    if entry.sandbox:
        warn(f"entry {entry.id} was a sandbox rehearsal: its task ended with its command")
        return None
    from runway_dynamic.cli._clients import make_client

    try:
        with make_client(current()) as client:
            return _fetch_state(client, entry, entry.task_id)
    except RunwayError as exc:
        warn(f"the task's current state is not known: {exc}")
        return None


def _fetch_state(client: Any, entry: Entry, resource_id: str) -> dict[str, Any]:
    """What the API says now of the task (or, for a workflow run, the invocation) that
    ``entry``'s create made: one GET, whose answer the client's history notes."""
    from runway_dynamic._constants import TASK_ENDPOINT

    # where the catalog says the create's result is read (tasks/{id}, or for a workflow
    # run its invocation)
    create = client.spec.catalog.operation(entry.endpoint, entry.method)
    endpoint = (create.result_endpoint if create is not None and create.result_endpoint
                else TASK_ENDPOINT)
    data = client.request(endpoint, method="GET", path_params={"id": resource_id})
    if not isinstance(data, dict) or not isinstance(data.get("status"), str):
        from runway_dynamic._exceptions import APIError

        raise APIError(f"GET {endpoint.replace('{id}', resource_id)} answered no status")
    return data


#: A command that opens a file or URL (``mpv``, ``open -a Preview``): the paths are added
#: as its arguments. Without it, the desktop's opener is used where there is one.
ENV_OPENER = "RUNWAY_OPENER"


def open_outputs(
    entry_id: EntryArgument,
    print_only: Annotated[bool, typer.Option(
        "--print", help="Print the paths (or URLs) instead of opening them.")] = False,
) -> int:
    """Open an entry's saved outputs (its output URLs when none were saved).

    The opener is $RUNWAY_OPENER (a command; the paths are added to it), else the desktop's
    (open, xdg-open, start). With no opener, or under --sandbox without $RUNWAY_OPENER, the
    paths are printed instead. URLs are never opened under --sandbox.
    """
    import os

    invocation = current()
    with open_store() as store:
        entry = find(store, entry_id)
    targets = [f for f in entry.files if os.path.isfile(f)]
    if not targets and not invocation.boundary.sealed and not entry.sandbox:
        targets = list(entry.outputs)  # links expire: better than nothing
    if not targets:
        raise UsageError(f"entry {entry.id} has no saved outputs to open (status "
                         f"{_status(entry)}); 'runway task get {entry.task_id} --download' "
                         "saves them" if entry.task_id else f"entry {entry.id} has no outputs")
    opener = None if print_only else _opener(sealed=invocation.boundary.sealed)
    if opener is None:
        for target in targets:
            echo(target)
        return 0
    import subprocess

    from runway_dynamic.boundary import child_environment

    env = child_environment()
    try:
        subprocess.run([*opener, *targets], env=env, check=True, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise UsageError(f"the opener {' '.join(opener)} failed ({exc}); set {ENV_OPENER} "
                         "or use --print") from None
    return 0


def _opener(*, sealed: bool) -> list[str] | None:
    """The command that opens files: $RUNWAY_OPENER, else the desktop's; ``None`` when
    there is none (or under --sandbox, where only an opener the user named may start)."""
    import os
    import shlex

    named = os.environ.get(ENV_OPENER)
    if named:
        return shlex.split(named)
    if sealed:
        return None
    if sys.platform == "darwin":
        return ["open"]
    if sys.platform == "win32":
        return ["cmd", "/c", "start", ""]
    if (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) and shutil.which(
            "xdg-open"):
        return ["xdg-open"]
    return None


def uncertain(json: JsonOption = False) -> int:
    """List creates whose answer was lost: a task may exist that nobody can name.

    For each: when, which model and which prompt to look for in the Runway dashboard.
    """
    from runway_dynamic.history.when import iso, local

    with open_store() as store:
        found = store.uncertain()
    if current().wants_json(json) or not is_terminal(sys.stdout):
        emit_json([{**e.to_dict(), "lookFor": look_for(e)} for e in found])
        return 0
    if not found:
        sys.stderr.write(f"{PROG}: no uncertain creates: every request sent got its answer\n")
        return 0
    for entry in found:
        echo(f"#{entry.id}  {_status(entry)} at {local(entry.created)} "
             f"({iso(entry.created)})")
        echo(f"    {entry.model or '-'} · {entry.endpoint}"
             + (" · sandbox" if entry.sandbox else ""))
        if entry.prompt:
            echo(f"    prompt: {_one_line(entry.prompt, 200)}")
        if entry.failure:
            echo(f"    why: {entry.failure}")
        echo(f"    {look_for(entry)}")
    return 0


def look_for(entry: Entry) -> str:
    """What to look for in the dashboard to tell whether the lost create made a task."""
    from runway_dynamic.history.when import local

    if entry.sandbox:
        return ("A sandbox rehearsal: nothing was billed and nothing is left to look for "
                f"('{PROG} history reconcile {entry.id} --none' settles the entry).")
    what = f"a {entry.model} task" if entry.model else f"a {entry.endpoint} task"
    prompt = f" with the prompt \"{_one_line(entry.prompt, 60)}\"" if entry.prompt else ""
    return (f"In the Runway dashboard's task list, look for {what} created around "
            f"{local(entry.created)}{prompt}; it may exist and be billed. Do not rerun it "
            f"before you know; then '{PROG} history reconcile {entry.id} TASK_ID' (or "
            "--none) settles the entry.")


def reconcile(
    entry_id: EntryArgument,
    task_id: Annotated[str | None, typer.Argument(
        metavar="TASK_ID", show_default=False,
        help="The id of the task you found in the dashboard (its state is fetched).")] = None,
    none: Annotated[bool, typer.Option(
        "--none", help="You looked and found no task: the create made nothing.")] = False,
    json: JsonOption = False,
) -> int:
    """Settle an entry whose answer was lost ('runway history uncertain'): with the id of
    the task you found in the dashboard, or with --none when there was none."""
    from runway_dynamic.history import NO_TASK

    if (task_id is None) == (not none):
        raise UsageError("give the TASK_ID you found in the dashboard, or --none when the "
                         "lost create made no task (not both)")
    with open_store() as store:
        entry = find(store, entry_id)
        if not entry.uncertain:
            raise UsageError(f"entry {entry.id} is not uncertain (status {_status(entry)}): "
                             "only a create whose answer was lost needs reconciling")
        if task_id is None:
            store.update(entry.id, status=NO_TASK)
        else:
            _settle_with_task(store, entry, task_id.strip())
        settled = find(store, entry.id)
    if current().wants_json(json) or not is_terminal(sys.stdout):
        emit_json(settled.to_dict())
    else:
        what = (f"task {settled.task_id}, {_status(settled)}" if settled.task_id
                else "no task was made")
        echo(f"entry {settled.id} settled: {what}")
    return 0


def _settle_with_task(store: HistoryStore, entry: Entry, task_id: str) -> None:
    """Give ``entry`` the task found in the dashboard, once the API confirms it exists."""
    if not task_id:
        raise UsageError("TASK_ID is empty")
    if entry.sandbox:
        raise UsageError(f"entry {entry.id} was a sandbox rehearsal: its tasks ended with its "
                         "command, so none can be found; use --none")
    other = store.by_task(task_id)
    if other is not None and other.id != entry.id:
        raise UsageError(f"task {task_id} is already entry {other.id}'s")
    from runway_dynamic.cli._clients import make_client

    with make_client(current()) as client:
        state = _fetch_state(client, entry, task_id)
    note_state(store, entry.id, state, task_id=task_id)


def note_state(store: HistoryStore, entry_id: int, state: dict[str, Any], *,
               task_id: str | None = None) -> None:
    """Write what the API said of an entry's task (its status, outputs, failure)."""
    changes: dict[str, Any] = {"status": state["status"]}
    if task_id is not None:
        changes["task_id"] = task_id
    output = state.get("output")
    if isinstance(output, list):
        changes["outputs"] = [str(u) for u in output]
    failure, code = state.get("failure"), state.get("failureCode")
    if failure is not None or code is not None:
        changes["failure"] = None if failure is None else str(failure)
        changes["failure_code"] = None if code is None else str(code)
    store.update(entry_id, **changes)


def clear(
    before: Annotated[str | None, typer.Option(
        "--before", metavar="WHEN", show_default=False,
        help="Only entries made before WHEN: a duration back from now (30d) or a date "
             "(2026-11-30).")] = None,
    json: JsonOption = False,
) -> int:
    """Delete the history, or the entries made before a date."""
    from runway_dynamic.history.when import parse_point

    cutoff = parse_point(before, "--before") if before else None
    with open_store() as store:
        removed = store.clear(cutoff)
    if current().wants_json(json):
        emit_json({"removed": removed})
    else:
        noun = "entry" if removed == 1 else "entries"
        sys.stderr.write(f"{PROG}: removed {removed} history {noun}\n")
    return 0


def path() -> int:
    """Print where the history file lives."""
    from runway_dynamic.history import default_path

    echo(str(default_path()))
    return 0


# --------------------------------------------------------------------------- rerun

#: ``history rerun``'s own argument and option (the rest is the target command's).
RERUN_ENTRY = Own("entry_id", EntryArgument, inspect.Parameter.empty)
RERUN_SANDBOX = Own("sandbox", Annotated[bool, typer.Option(
    "--sandbox", help="Rehearse it in a local sandbox (nothing is sent to Runway, nothing "
                      "is billed).")], False)

RERUN_HELP = (
    "Send an entry's body again, through today's pre-flight: 'runway history rerun ID "
    "[FLAGS]'. The flags are those of the command that made it (run 'runway history rerun "
    "ID --help' to see them): --model and any field's flag override the recorded body, "
    "--dry-run prints the request, --wait/--download follow the new task. --sandbox "
    "rehearses it in the sandbox; without it a sandbox rehearsal is promoted to a real, "
    "billed run. Files that were inlined or uploaded are read again from their paths.")


def _peek_entry(args: list[str]) -> int | None:
    """The entry id: the first argument, when it is a number."""
    first = args[0] if args else ""
    return int(first) if first.isdigit() else None


def build_rerun(invocation: Any, args: list[str]) -> Any:
    """``history rerun ID``: the command that made entry ID, with its body as ``--body``."""
    from runway_dynamic.cli._options import extend
    from runway_dynamic.cli._registry import Built

    entry_id = _peek_entry(args)
    if entry_id is None:
        if any(a in ("-h", "--help") for a in args):
            return Built(_rerun_help_command(), help=RERUN_HELP)
        raise UsageError(f"history rerun needs the entry's ID first, e.g. {PROG} history "
                         "rerun 12 --dry-run ('runway history' lists the ids)")
    with open_store() as store:
        entry = find(store, entry_id)
    from runway_dynamic.history.rerun import rerun_body

    body, notes = rerun_body(entry)
    built, fixed = _target_command(invocation, entry)
    inner = built.function

    def rerun(values: dict[str, Any]) -> int:
        values.pop("entry_id")
        sandbox = bool(values.pop("sandbox", False))
        if values.get("body") is None:
            import orjson

            values["body"] = orjson.dumps(body).decode()
        values.update(fixed)
        sealed = sandbox or invocation.sandbox
        _say_rerun(entry, sealed, notes, dry_run=bool(values.get("dry_run")),
                   quiet=bool(values.get("json")) or invocation.json)
        if sandbox and not invocation.sandbox:
            from runway_dynamic.cli.sandbox_cmd import sandbox_session

            invocation.sandbox = True
            with sandbox_session(invocation):
                result: int = inner(**values)
            return result
        done: int = inner(**values)
        return done

    command = extend(inner, rerun, arguments=[RERUN_ENTRY], own=[RERUN_SANDBOX],
                     drop=tuple(fixed))
    def help_text() -> str:
        return (f"Rerun history entry {entry.id} ({entry.method} {entry.endpoint}, "
                f"{entry.model or 'no model'}): its recorded body goes out as --body; the "
                "flags below override it.\n\n" + (built.help_text() or ""))

    return Built(command, help=help_text, epilog=built.epilog)


def _target_command(invocation: Any, entry: Entry) -> tuple[Any, dict[str, Any]]:
    """The command that sends the entry's request again: the generation command of its
    endpoint (short flags and all), else ``runway call`` on its path; and the values the
    rerun fixes (``call``'s endpoint and method)."""
    from runway_dynamic.cli import call, generate
    from runway_dynamic.cli._command_names import GENERATION_COMMANDS

    catalog = invocation.spec().catalog
    operation, _ = call.resolve(catalog, entry.endpoint, entry.method)
    command = next((path for path, name in GENERATION_COMMANDS.items()
                    if name == operation.endpoint == entry.endpoint), None)
    if command is not None:
        return generate.build_for_operation(invocation, operation, command,
                                            with_aliases=True), {}
    built = call.build(invocation, [entry.endpoint, "--method", entry.method])
    return built, {"endpoint": entry.endpoint, "method": entry.method, "list_all": False}


def _say_rerun(entry: Entry, sealed: bool, notes: list[str], *, dry_run: bool,
               quiet: bool) -> None:
    from runway_dynamic.cli._context import warn

    if quiet:
        return
    if dry_run:
        sys.stderr.write(f"{PROG}: entry {entry.id}, as it would be sent again\n")
    else:
        where = "in the sandbox" if sealed else "on Runway"
        was = " (a sandbox rehearsal, now a real, billed run)" if (
            entry.sandbox and not sealed) else ""
        sys.stderr.write(f"{PROG}: rerunning entry {entry.id} {where}{was}\n")
        if entry.uncertain and not entry.sandbox:
            warn(f"entry {entry.id}'s answer was lost: its task may exist and be billed "
                 f"('{PROG} history uncertain' says what to look for)")
    for note in notes:
        warn(note)


def _rerun_help_command() -> Any:
    """A stand-in that only carries ``--help`` (no ID given: nothing to build yet)."""
    from runway_dynamic.cli._options import CommandOptions, argument

    options = CommandOptions(arguments=[argument("entry_id", type=int | None,
                                                 metavar="ID")])
    return options.command(lambda _values: 0)
