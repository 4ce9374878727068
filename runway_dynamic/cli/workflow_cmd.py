"""``runway workflow register`` / ``workflow registered …`` and ``runway wf NAME``."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from runway_dynamic._exceptions import UsageError
from runway_dynamic.cli._clients import make_async_client
from runway_dynamic.cli._context import Invocation, current, echo, emit_json, terminal_safe
from runway_dynamic.cli._creative import JsonOption, PollIntervalOption, say
from runway_dynamic.cli._options import CommandOptions, Own
from runway_dynamic.cli._registry import Built

if TYPE_CHECKING:
    from runway_dynamic.creative.workflows import RegisteredWorkflow, WorkflowInput

NameArg = Annotated[str, typer.Argument(metavar="NAME", show_default=False,
                                        help="A registered workflow's name.")]
#: ``runway wf NAME``'s own options and argument (the inputs' flags are claimed after them).
WF_NAME = Own("name", Annotated[str | None, typer.Argument(
    metavar="NAME", show_default=False, help="A registered workflow.")])
WF_OUTPUT_DIR = Own("output_dir", Annotated[str, typer.Option(
    "--output-dir", metavar="DIR", help="Where the outputs are saved.")], ".")
WF_POLL_INTERVAL = Own("poll_interval", PollIntervalOption)
WF_JSON = Own("json", JsonOption, False)


def _reserved() -> set[str]:
    from runway_dynamic.cli import _registry

    return set(_registry.top_level_names()) | {"register", "registered", "list", "help"}


def register(
    workflow_id: Annotated[str, typer.Argument(metavar="ID", show_default=False,
                                               help="The published workflow's id.")],
    name: Annotated[str | None, typer.Option(
        "--name", metavar="NAME", show_default=False,
        help="Command name for 'runway wf NAME' (default: from the workflow's name).")] = None,
    json: JsonOption = False,
) -> int:
    """Read a workflow's graph and register a typed command for its input nodes."""
    from runway_dynamic.creative import workflows

    invocation = current()

    async def fetch() -> Any:
        async with make_async_client(invocation) as client:
            return await client.request(workflows.WORKFLOW_ENDPOINT, method="GET",
                                        path_params={"id": workflow_id})

    data = asyncio.run(fetch())
    entry = workflows.register(data or {}, name=name, reserved=_reserved())
    if invocation.wants_json(json):
        emit_json(entry.to_dict())
    else:
        echo(entry.name)
        flags = wf_options(entry)[1]
        say(invocation, f"registered; run it with: runway wf {entry.name} "
            + " ".join(f"{flags[i]} …" for i in entry.inputs))
    return 0


def registered_list(json: JsonOption = False) -> int:
    """List the registered workflows."""
    from runway_dynamic.creative import workflows

    entries = workflows.load_registry()
    if current().wants_json(json):
        emit_json([e.to_dict() for e in entries.values()])
        return 0
    for entry in entries.values():
        flags = wf_options(entry)[1]
        echo(f"{entry.name}\t{entry.id}\t{', '.join(flags[i] for i in entry.inputs)}")
    return 0


def registered_show(name: NameArg, json: JsonOption = False) -> int:
    """Show one registered workflow and its inputs."""
    from runway_dynamic.creative import workflows

    entry = workflows.get(name)
    if current().wants_json(json):
        emit_json(entry.to_dict())
        return 0
    echo(f"{entry.name}  (workflow {entry.id}{', ' + entry.title if entry.title else ''})")
    flags = wf_options(entry)[1]
    for item in entry.inputs:
        need = "required" if item.required else "optional"
        echo(f"  {flags[item]}  {item.kind}, {need}  (node {item.node_id}, {item.output})")
    return 0


def registered_remove(name: NameArg) -> int:
    """Forget a registered workflow (the workflow itself is untouched)."""
    from runway_dynamic.creative import workflows

    echo(workflows.remove(name).name)
    return 0


# --------------------------------------------------------------------------- runway wf NAME


_PY = {"number": float, "integer": int, "boolean": bool}


def wf_options(entry: RegisteredWorkflow | None
               ) -> tuple[CommandOptions, dict[WorkflowInput, str]]:
    """The options of ``runway wf NAME``: its own first, then one flag per input (named by
    the command builder's rule), and which flag each input got."""
    options = CommandOptions(own=[WF_OUTPUT_DIR, WF_POLL_INTERVAL, WF_JSON], arguments=[WF_NAME])
    flags = {}
    for i, item in enumerate(entry.inputs if entry else ()):
        flags[item] = options.claim_named(
            f"input_{i}", item.name, prefix="input", type=_PY.get(item.kind, str) | None,
            metavar="FILE|URI" if item.is_media else item.kind.upper(),
            help=f"{item.label} ({item.kind}{', required' if item.required else ''})")
    return options, flags


def build_wf(invocation: Invocation, args: list[str]) -> Built:
    """``runway wf NAME --input …``: the flags come from the registered inputs."""
    from runway_dynamic.creative import workflows

    name = next((a for a in args if not a.startswith("-")), None)
    entry = workflows.get(name) if name else None
    options, flags = wf_options(entry)

    def run(values: dict[str, Any]) -> int:
        if entry is None:
            raise UsageError("missing NAME; see 'runway workflow registered list'")
        given = {item: values[f"input_{i}"] for i, item in enumerate(entry.inputs)
                 if values.get(f"input_{i}") is not None}
        missing = [flags[i] for i in entry.inputs if i.required and i not in given]
        if missing:
            raise UsageError(f"wf {entry.name}: missing {', '.join(missing)}")
        return _run_workflow(entry, given, flags, Path(values["output_dir"]).expanduser(),
                             values["poll_interval"], values["json"])

    help_text = (f"Run workflow {entry.title or entry.name} ({entry.id}): upload local files, "
                 "wait, download the outputs." if entry else
                 "Run a registered workflow: 'runway wf NAME --INPUT VALUE …'.")
    return Built(options.command(run), help=help_text)


def _run_workflow(entry: Any, given: dict[Any, Any], flags: dict[Any, str], out_dir: Path,
                  poll_interval: float | None, json: bool) -> int:
    from runway_dynamic.creative import workflows
    from runway_dynamic.tasks import Task
    from runway_dynamic.uploads import aresolve_media

    invocation = current()
    if json:
        invocation.json = True
    catalog = invocation.spec().catalog
    from runway_dynamic._files import check_writable_dir

    check_writable_dir(out_dir, "--output-dir")  # before the run is paid for

    async def go() -> tuple[dict[str, Any], list[Path]]:
        async with make_async_client(invocation, poll_interval=poll_interval) as client:
            values = {}
            for item, raw in given.items():
                if item.is_media:
                    values[item] = await aresolve_media(
                        str(raw), workflows.media_facts_for(catalog, item.kind), client.upload,
                        label=flags[item])
                else:
                    values[item] = workflows.coerce(item, raw, label=flags[item])
            body = {"nodeOutputs": workflows.node_outputs(values)}
            started = await client.request(workflows.WORKFLOW_ENDPOINT, method="POST",
                                           path_params={"id": entry.id}, body=body)
            run_id = str((started or {}).get("id"))
            say(invocation, f"invocation {run_id} started")
            done = await client.wait_for(workflows.INVOCATION_ENDPOINT, run_id)
            urls = workflows.output_urls(done)
            paths = await client.download(Task(id=run_id, output=tuple(urls)), out_dir,
                                          prefix=f"wf-{entry.name}") if urls else []
            return dict(done), paths

    finished, paths = asyncio.run(go())
    if invocation.json:
        emit_json({"invocation": finished, "files": [str(p) for p in paths]})
    else:
        for path in paths:
            echo(str(path))
        if not paths:
            sys.stderr.write("runway: " + terminal_safe(
                f"invocation {finished.get('id')} finished without output files") + "\n")
    return 0
