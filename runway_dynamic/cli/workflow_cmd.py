"""``runway workflow register`` / ``workflow registered …`` and ``runway wf NAME``."""

from __future__ import annotations

import asyncio
import inspect
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from runway_dynamic._exceptions import UsageError
from runway_dynamic.cli._clients import make_async_client
from runway_dynamic.cli._context import Invocation, current, echo, emit_json, terminal_safe
from runway_dynamic.cli._creative import JsonOption, PollIntervalOption, say
from runway_dynamic.cli._registry import Built

NameArg = Annotated[str, typer.Argument(metavar="NAME", show_default=False,
                                        help="A registered workflow's name.")]


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
        say(invocation, f"registered; run it with: runway wf {entry.name} "
            + " ".join(f"--{i.flag} …" for i in entry.inputs))
    return 0


def registered_list(json: JsonOption = False) -> int:
    """List the registered workflows."""
    from runway_dynamic.creative import workflows

    entries = workflows.load_registry()
    if current().wants_json(json):
        emit_json([e.to_dict() for e in entries.values()])
        return 0
    for entry in entries.values():
        echo(f"{entry.name}\t{entry.id}\t{', '.join('--' + i.flag for i in entry.inputs)}")
    return 0


def registered_show(name: NameArg, json: JsonOption = False) -> int:
    """Show one registered workflow and its inputs."""
    from runway_dynamic.creative import workflows

    entry = workflows.get(name)
    if current().wants_json(json):
        emit_json(entry.to_dict())
        return 0
    echo(f"{entry.name}  (workflow {entry.id}{', ' + entry.title if entry.title else ''})")
    for item in entry.inputs:
        need = "required" if item.required else "optional"
        echo(f"  --{item.flag}  {item.kind}, {need}  (node {item.node_id}, {item.output})")
    return 0


def registered_remove(name: NameArg) -> int:
    """Forget a registered workflow (the workflow itself is untouched)."""
    from runway_dynamic.creative import workflows

    echo(workflows.remove(name).name)
    return 0


# --------------------------------------------------------------------------- runway wf NAME


_PY = {"number": float, "integer": int, "boolean": bool}


def build_wf(invocation: Invocation, args: list[str]) -> Built:
    """``runway wf NAME --input …``: the flags come from the registered inputs."""
    from runway_dynamic.creative import workflows

    name = next((a for a in args if not a.startswith("-")), None)
    entry = workflows.get(name) if name else None
    kw = inspect.Parameter.KEYWORD_ONLY
    params = [inspect.Parameter("name", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None,
                                annotation=Annotated[str | None, typer.Argument(
                                    metavar="NAME", show_default=False,
                                    help="A registered workflow.")])]
    for i, item in enumerate(entry.inputs if entry else ()):
        kind = "FILE|URI" if item.is_media else item.kind.upper()
        annotation: Any = Annotated[
            _PY.get(item.kind, str) | None,
            typer.Option(f"--{item.flag}", metavar=kind, show_default=False,
                         help=f"{item.label} ({item.kind}{', required' if item.required else ''})")]
        params.append(inspect.Parameter(f"input_{i}", kw, default=None, annotation=annotation))
    params += [
        inspect.Parameter("output_dir", kw, default=".", annotation=Annotated[str, typer.Option(
            "--output-dir", metavar="DIR", help="Where the outputs are saved.")]),
        inspect.Parameter("poll_interval", kw, default=None, annotation=PollIntervalOption),
        inspect.Parameter("json", kw, default=False, annotation=JsonOption),
    ]

    def command(**values: Any) -> int:
        if entry is None:
            raise UsageError("missing NAME; see 'runway workflow registered list'")
        given = {item: values[f"input_{i}"] for i, item in enumerate(entry.inputs)
                 if values.get(f"input_{i}") is not None}
        missing = [f"--{i.flag}" for i in entry.inputs if i.required and i not in given]
        if missing:
            raise UsageError(f"wf {entry.name}: missing {', '.join(missing)}")
        return _run_workflow(entry, given, Path(values["output_dir"]).expanduser(),
                             values["poll_interval"], values["json"])

    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params}
    help_text = (f"Run workflow {entry.title or entry.name} ({entry.id}): upload local files, "
                 "wait, download the outputs." if entry else
                 "Run a registered workflow: 'runway wf NAME --INPUT VALUE …'.")
    return Built(command, help=help_text)


def _run_workflow(entry: Any, given: dict[Any, Any], out_dir: Path, poll_interval: float | None,
                  json: bool) -> int:
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
                        label=f"--{item.flag}")
                else:
                    values[item] = workflows.coerce(item, raw)
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
