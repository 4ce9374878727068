"""One case per command of ``runway``, discovered from the command registry and the spec.

Spec-derived commands (generation commands, one command per operation, the reference-CLI
aliases, ``call``) get their arguments from the catalog: path parameters, and a valid body
invented from the operation's schema. The static commands' arguments are in
:data:`STATIC_STEPS`, and :func:`uncovered` names any registry command that has neither,
so a new command cannot slip past the contract suites.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from runway_dynamic.catalog import Catalog, Operation
from runway_dynamic.cli import _registry
from runway_dynamic.cli._command_names import GENERATION_COMMANDS, REFERENCE_ALIASES
from runway_dynamic.naming import endpoint_name
from runway_dynamic.sandbox.examples import Context, example


@dataclass
class Step:
    args: list[str]
    #: Exit codes this step may end with (never a traceback, whatever the code).
    codes: frozenset[int] = frozenset({0})
    input: str | None = None
    #: The step must have reached the sandbox (it talks to the API).
    sends: bool = False


@dataclass
class Case:
    name: str
    steps: list[Step] = field(default_factory=list)


OK = frozenset({0})
#: An API command on invented ids: the sandbox may answer 404 (exit 1) or 400 (exit 2).
ANY_ANSWER = frozenset({0, 1, 2, 3})
USAGE = frozenset({2})

#: Commands that serve until stopped; their own tests cover them (see test_sealed_sandbox).
LONG_RUNNING = {("mcp", "serve"), ("sandbox", "serve")}

#: Arguments of every static command. ``{name}`` placeholders come from :func:`values`;
#: ``{previous}`` is the first word the previous step printed (an id it created).
STATIC_STEPS: dict[tuple[str, ...], list[Step]] = {
    ("models",): [Step(["models"])],
    ("models", "schema"): [Step(["models", "schema", "{model}"])],
    ("models", "ratios"): [Step(["models", "ratios"]), Step(["models", "ratios", "{ratio}"])],
    ("spec", "show"): [Step(["spec", "show"])],
    ("spec", "pull"): [Step(["spec", "pull", "--url", "https://spec.runway.example/api.json"],
                            USAGE),
                       Step(["spec", "pull", "--url", "{pages}/openapi.json"])],
    ("spec", "rollback"): [Step(["spec", "pull", "{pages}/openapi.json"]),
                           Step(["spec", "rollback"])],
    ("spec", "diff"): [Step(["spec", "diff", "{spec}", "{spec}"])],
    ("spec", "pack"): [Step(["spec", "pack", "{spec}", "-o", "packed.json"])],
    ("call",): [Step(["call", "{image_endpoint}", "--body", "{image_body}", "--download",
                      "--output-dir", "out"], sends=True),
                Step(["call", "organization"], sends=True)],
    ("account",): [Step(["account"], sends=True), Step(["account", "--all"], sends=True)],
    ("tools", "export"): [Step(["tools", "export", "--format", "openai", "-o", "tools.json"])],
    ("short-video",): [Step(["short-video", "a barista opens the cafe at dawn", "--shots", "2",
                             "--name", "cafe"], sends=True)],
    ("short-video", "plan"): [Step(["short-video", "plan", "a kite over dunes", "--shots", "2",
                                    "-o", "plan.json"])],
    ("short-video", "run"): [Step(["short-video", "plan", "a kite over dunes", "--shots", "2",
                                   "-o", "plan2.json"]),
                             Step(["short-video", "run", "--plan", "plan2.json"], sends=True)],
    ("short-video", "diff"): [Step(["short-video", "plan", "a kite", "--shots", "2", "-o",
                                    "a.json"]),
                              Step(["short-video", "diff", "a.json", "a.json"])],
    ("workflow", "register"): [Step(["workflow", "register", "{uuid}", "--name", "up"],
                                    ANY_ANSWER, sends=True)],
    ("workflow", "registered", "list"): [Step(["workflow", "registered", "list"])],
    ("workflow", "registered", "show"): [Step(["workflow", "registered", "show", "up"],
                                              ANY_ANSWER)],
    ("workflow", "registered", "remove"): [Step(["workflow", "registered", "remove", "up"],
                                                ANY_ANSWER)],
    ("wf",): [Step(["wf", "up"], ANY_ANSWER)],
    ("marketing-studio", "avatars", "list"): [Step(["marketing-studio", "avatars", "list"],
                                                   sends=True)],
    ("marketing-studio", "webproducts", "fetch"): [
        Step(["marketing-studio", "webproducts", "fetch", "--url",
              "https://shop.runway.example/item"], USAGE),
        Step(["marketing-studio", "webproducts", "fetch", "--url", "{pages}/item"])],
    ("gallery", "create"): [Step(["gallery", "create", "--input", ".", "-o", "gallery.html"]),
                            Step(["gallery", "create", "--from-history", "--since", "1d",
                                  "-o", "history.html"])],
    ("soul-id", "create"): [Step(["soul-id", "create", "--name", "ana", "--image", "still.png"])],
    ("soul-id", "list"): [Step(["soul-id", "list"])],
    ("soul-id", "get"): [Step(["soul-id", "create", "--name", "bo", "--image", "still.png"]),
                         Step(["soul-id", "get", "{previous}"])],
    ("soul-id", "wait"): [Step(["soul-id", "create", "--name", "cy", "--image", "still.png"]),
                          Step(["soul-id", "wait", "{previous}"])],
    ("soul-id", "delete"): [Step(["soul-id", "create", "--name", "di", "--image", "still.png"]),
                            Step(["soul-id", "delete", "{previous}"])],
    ("product-photoshoot", "create"): [Step(["product-photoshoot", "create", "--product",
                                             "a blue ceramic mug", "--image", "still.png"],
                                            sends=True)],
    ("marketplace-cards", "create"): [Step(["marketplace-cards", "create", "--product",
                                            "a blue ceramic mug", "--image", "still.png"],
                                           sends=True)],
    ("ad-video", "create"): [Step(["ad-video", "create", "--product", "a blue ceramic mug",
                                   "--image", "still.png"], sends=True)],
    ("config", "get"): [Step(["config", "get", "base-url"])],
    ("config", "set"): [Step(["config", "set", "poll-interval", "2"])],
    ("config", "unset"): [Step(["config", "unset", "poll-interval"])],
    ("config", "list"): [Step(["config", "list"])],
    ("config", "path"): [Step(["config", "path"])],
    ("completion",): [Step(["completion", "bash"])],
    ("generate",): [Step(["generate", "a fox in the snow", "--kind", "image", "--body",
                          "{image_body}", "--download", "--output-dir", "out"], sends=True)],
    ("batch", "run"): [Step(["batch", "run", "{jobs}", "--output-dir", "b1"], sends=True)],
    ("batch", "resume"): [Step(["batch", "run", "{jobs}", "--output-dir", "b2"], sends=True),
                          Step(["batch", "resume", "b2/journal.sqlite3"], ANY_ANSWER)],
    ("batch", "status"): [Step(["batch", "run", "{jobs}", "--output-dir", "b3"], sends=True),
                          Step(["batch", "status", "b3/journal.sqlite3"])],
    ("batch", "results"): [Step(["batch", "run", "{jobs}", "--output-dir", "b4"], sends=True),
                           Step(["batch", "results", "b4/journal.sqlite3"])],
    ("batch", "retry-failed"): [Step(["batch", "run", "{jobs}", "--output-dir", "b5"],
                                     sends=True),
                                Step(["batch", "retry-failed", "b5/journal.sqlite3"],
                                     ANY_ANSWER)],
    ("batch", "resolve"): [Step(["batch", "run", "{jobs}", "--output-dir", "b6"], sends=True),
                           Step(["batch", "resolve", "b6/journal.sqlite3", "--job", "job-0001",
                                 "--not-submitted"], ANY_ANSWER)],
    ("batch", "worker"): [Step(["batch", "worker"], USAGE),
                          Step(["batch", "worker", "--journal",
                                "postgresql://runner@db.runway.example/jobs"], USAGE)],
    ("task", "get"): [Step(["task", "get", "{uuid}", "--wait", "--timeout", "5"], ANY_ANSWER,
                           sends=True)],
    ("task", "cancel"): [Step(["task", "cancel", "{uuid}"], ANY_ANSWER, sends=True)],
    ("task", "delete"): [Step(["task", "delete", "{uuid}"], ANY_ANSWER, sends=True)],
    ("upload", "create"): [Step(["upload", "create", "still.png"], sends=True)],
    ("auth", "set"): [Step(["auth", "set", "--stdin"], input="{stdin_key}\n")],
    ("auth", "show"): [Step(["auth", "show"])],
    ("auth", "clear"): [Step(["auth", "clear"])],
    ("help", "exit-codes"): [Step(["help", "exit-codes"])],
    # A session created by the bridge itself, relayed to a file for a second.
    ("realtime", "bridge"): [Step(["realtime", "bridge", "--create", "{realtime_body}",
                                   "-o", "bridge.mp4", "--duration", "1"], sends=True)],
    # history: a recorded rehearsal first (entry 1 of the world's fresh history)
    ("history",): [Step(["image", "--body", "{image_body}"], sends=True), Step(["history"])],
    ("history", "search"): [Step(["image", "--body", "{image_body}"], sends=True),
                            Step(["history", "search", "kite"])],
    ("history", "show"): [Step(["image", "--body", "{image_body}"], sends=True),
                          Step(["history", "show", "1"])],
    ("history", "rerun"): [Step(["image", "--body", "{image_body}"], sends=True),
                           Step(["history", "rerun", "1", "--wait"], sends=True)],
    ("history", "open"): [Step(["image", "--body", "{image_body}", "--download",
                                "--output-dir", "out"], sends=True),
                          Step(["history", "open", "1"])],
    ("history", "uncertain"): [Step(["history", "uncertain"])],
    ("history", "reconcile"): [Step(["image", "--body", "{image_body}"], sends=True),
                               Step(["history", "reconcile", "1", "--none"], USAGE)],
    ("history", "clear"): [Step(["history", "clear"])],
    ("history", "path"): [Step(["history", "path"])],
}


def fill(text: str, values: Mapping[str, str]) -> str:
    out = text
    for name, value in values.items():
        out = out.replace("{" + name + "}", value)
    return out


def example_body(operation: Operation, key: str | None = None,
                 uri: str = "https://media.runway.example/input") -> dict[str, Any]:
    """A valid body for ``operation`` (the variant ``key``, else the first), invented from
    its schema. URIs point at a documentation host nothing may fetch."""
    variants = [v for v in operation.variants if key is None or v.key == key]
    if not variants:
        return {}
    value = example(variants[0].schema, Context(root=variants[0].schema,
                                                make_uri=lambda _: uri))
    return value if isinstance(value, dict) else {}


def _image_generation(catalog: Catalog) -> tuple[str, dict[str, Any]]:
    """The endpoint of ``runway image`` and a body for its first model that takes a prompt
    and a ratio only."""
    name = GENERATION_COMMANDS[("image",)]
    op = catalog.model_operation(name)
    if op is not None:
        for variant in op.variants:
            if {"promptText", "ratio"} <= set(variant.field_map) and variant.ratios and (
                    set(variant.required) <= {"model", "promptText", "ratio"}):
                return name, {"model": variant.key, "promptText": "a red kite over dunes",
                              "ratio": variant.ratios[0]}
    raise AssertionError(f"{name} has no model that takes only a prompt and a ratio")


def values(catalog: Catalog, *, pages: str, spec: str, jobs: str,
           stdin_key: str) -> dict[str, str]:
    endpoint, body = _image_generation(catalog)
    model = catalog.models()[0]
    ratios = catalog.all_ratios()
    return {
        "model": model, "ratio": ratios[0], "image_endpoint": endpoint,
        "image_body": json.dumps(body), "pages": pages, "spec": spec, "jobs": jobs,
        "uuid": str(uuid.UUID(int=7)), "stdin_key": stdin_key,
        "realtime_body": json.dumps(_realtime_body(catalog)),
    }


def _realtime_body(catalog: Catalog) -> dict[str, Any]:
    """A body for the realtime session create that ``realtime bridge --create`` sends."""
    from runway_dynamic.realtime.bridge import SESSION_ENDPOINT

    create = catalog.operation(SESSION_ENDPOINT.rsplit("/", 1)[0], "POST")
    return example_body(create) if create is not None else {}


def jobs_lines(catalog: Catalog) -> str:
    endpoint, body = _image_generation(catalog)
    return "".join(json.dumps({"endpoint": endpoint, **body, "promptText": f"kite {n}"}) + "\n"
                   for n in range(2))


# --------------------------------------------------------------------------- spec-derived


def _path_args(operation: Operation) -> list[str]:
    """Path parameters (positional arguments), then the required query parameters' flags."""
    from runway_dynamic.cli.resources import command_options

    args = [str(uuid.UUID(int=9)) for _ in operation.params("path")]
    options = command_options(operation)  # the command's own flags (cli/_options.py)
    for param in operation.params("query"):
        if param.required:
            flag = options.flag_for(param.name, "query")
            assert flag is not None, (operation.endpoint, param.name)
            args += [flag, str(example(param.schema))]
    return args


def _body_args(operation: Operation) -> list[str]:
    if not operation.variants:
        return []
    return ["--body", json.dumps(example_body(operation))]


def derived_cases(catalog: Catalog, derived: Sequence[_registry.Command]) -> list[Case]:
    """One case per spec-derived command: generation commands, operations, aliases."""
    cases: list[Case] = []
    for path, endpoint in GENERATION_COMMANDS.items():
        op = catalog.model_operation(endpoint)
        if op is None:
            continue
        cases.append(Case(" ".join(path), [Step(
            [*path, "--body", json.dumps(example_body(op)), "--download", "--output-dir", "out"],
            ANY_ANSWER, sends=True)]))
    by_words = {c.path: c for c in derived}
    for path, target in REFERENCE_ALIASES.items():
        command = by_words.get(tuple(target))
        if command is not None:
            op = _operation_of(catalog, command)
            cases.append(Case(" ".join(path), [Step([*path, *_path_args(op), *_body_args(op)],
                                                    ANY_ANSWER, sends=True)]))
    for command in derived:
        op = _operation_of(catalog, command)
        cases.append(Case(command.name, [Step(
            [*command.path, *_path_args(op), *_body_args(op)], ANY_ANSWER, sends=True)]))
    return cases


def _operation_of(catalog: Catalog, command: _registry.Command) -> Operation:
    """The operation a derived command stands for (its help is ``METHOD /path``)."""
    method, _, path = command.help.partition(" ")
    op = catalog.operation(endpoint_name(path), method)
    assert op is not None, command
    return op


def uncovered(derived: Sequence[_registry.Command]) -> list[str]:
    """Registry commands the contract cases do not exercise (must be empty)."""
    generated = set(GENERATION_COMMANDS) | set(REFERENCE_ALIASES)
    missing = []
    for command in _registry.COMMANDS:
        path = command.path
        if path in STATIC_STEPS or path in generated or path in LONG_RUNNING:
            continue
        missing.append(command.name)
    return missing
