"""The public namespace is curated, sorted, resolvable and cheap to import."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import runway_dynamic

PACKAGE = Path(runway_dynamic.__file__).resolve().parent

# sources -> _refs -> catalog -> cache -> validation -> spec -> _http/tasks -> client -> cli.
# A module may import only modules of its own layer or lower ones.
LAYERS: dict[str, int] = {
    "_constants": 0, "_version": 0, "_exceptions": 0, "_problems": 0, "_paths": 0, "_files": 0,
    "_frozen": 0, "_digest": 0,
    "naming": 0, "coerce": 0, "_limits": 0, "_net": 0, "_statuses": 0,
    "sources": 1, "_refs": 1, "pack": 1,
    "catalog": 2, "cache": 2, "media_limits": 2, "shapes": 2,
    "validation": 3, "_verdict": 3, "spec_diff": 3,
    "spec": 4, "spec_update": 4,
    "_http": 5, "tasks": 5, "auth": 5, "boundary": 5, "uploads": 5, "downloads": 5,
    "history": 5, "_pool": 5,
    "client": 6, "sandbox": 6, "config": 6,
    "tools": 7, "creative": 7, "batch": 7, "realtime": 7, "sdk": 7,
    "mcp_server": 8,
    "cli": 9,
}


def test_all_is_sorted_and_every_name_resolves() -> None:
    """__all__ is sorted and each public name exists (lazy names load on access)."""
    assert runway_dynamic.__all__ == sorted(runway_dynamic.__all__)
    missing = []
    for name in runway_dynamic.__all__:
        module_name = runway_dynamic._LAZY.get(name)
        if module_name and not (PACKAGE / (module_name.split(".")[-1] + ".py")).exists() and not (
            PACKAGE / module_name.split(".")[-1]
        ).is_dir():
            continue  # a later layer not written yet
        if not hasattr(runway_dynamic, name):
            missing.append(name)
    assert not missing


def test_import_is_cheap() -> None:
    """`import runway_dynamic` pulls in none of the heavy libraries."""
    code = (
        "import sys, runway_dynamic; "
        "print(','.join(m for m in ('httpx','jsonschema','openapi_core','typer','rich','yaml')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def _layer(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "runway_dynamic" or len(parts) < 2:
        return None
    return LAYERS.get(parts[1])


def test_every_module_has_a_layer() -> None:
    """A new top-level module must be placed in LAYERS, or the layer check would skip it."""
    tops = {p.relative_to(PACKAGE).parts[0].removesuffix(".py") for p in PACKAGE.rglob("*.py")}
    unplaced = sorted(tops - set(LAYERS) - {"__init__", "__main__"})
    assert not unplaced, f"modules missing from LAYERS: {unplaced}"


def test_imports_point_one_way() -> None:
    """No module imports a higher layer (checked on the source with ast), nothing imports cli."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).with_suffix("")
        own = LAYERS.get(rel.parts[0])
        if own is None or rel.parts[0] == "__init__":
            continue
        tree = ast.parse(path.read_text())
        typing_only = {
            id(sub)
            for block in ast.walk(tree)
            if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
            for sub in ast.walk(block)
        }
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue  # annotations only: no import at run time
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                target = _layer(name)
                if target is not None and target > own:
                    offenders.append(f"{rel} (layer {own}) imports {name} (layer {target})")
                if own < LAYERS["cli"] and name.split(".")[:1] == ["typer"]:
                    offenders.append(f"{rel} imports typer")
    assert not offenders, "\n".join(offenders)


# --------------------------------------------------------------------------- one home each

_HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE",
                           "QUERY"})
#: Where an operation's kind may be decided from its method: the catalog is its home.
_CLASSIFIES = {Path("catalog.py")}


def _method_operand(node: ast.AST) -> bool:
    """``op.method`` (or ``op.method.upper()``/``.lower()``); not an incoming HTTP
    ``request.method``, which the sandbox dispatches on like any server."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and (
            node.func.attr in ("upper", "lower")):
        node = node.func.value
    return isinstance(node, ast.Attribute) and node.attr == "method" and not (
        isinstance(node.value, ast.Name) and node.value.id == "request")


def _names_a_method(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and node.value.upper() in _HTTP_METHODS
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return any(_names_a_method(item) for item in node.elts)
    return False


def test_only_the_catalog_classifies_operations() -> None:
    """Nothing but the catalog decides what an operation does from its HTTP method
    (``op.method == "POST"``…): everything else asks ``Operation.kind``."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        if rel in _CLASSIFIES:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Compare):
                continue
            operands = [node.left, *node.comparators]
            if any(map(_method_operand, operands)) and any(map(_names_a_method, operands)):
                offenders.append(f"{rel}:{node.lineno}: {ast.unparse(node)}")
    assert not offenders, "\n".join(offenders)


#: The command builder: the only module that makes options at run time (from the spec or
#: from what a command reads, such as a workflow's inputs) and synthesises signatures.
_BUILDER = Path("cli") / "_options.py"
#: The official SDK's surface: Python signatures from the spec for IDEs and help(), not
#: command-line options (typer stays forbidden there too).
_PYTHON_SIGNATURES = Path("sdk") / "_arguments.py", Path("sdk") / "_client.py"


def test_only_the_command_builder_makes_options_at_run_time() -> None:
    """Outside cli/_options.py, typer options and arguments are declared once, at module
    level (static commands' signatures); nothing builds one inside a function or
    synthesises a signature, so every spec-derived flag is named by the one builder."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        if rel == _BUILDER:
            continue
        tree = ast.parse(path.read_text())
        functions = [node for node in ast.walk(tree)
                     if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
        for function in functions:
            for node in ast.walk(ast.Module(body=function.body, type_ignores=[])):
                text = ast.unparse(node) if isinstance(node, (ast.Call, ast.Attribute)) else ""
                forbidden = ("typer.Option(", "typer.Argument(") if rel in _PYTHON_SIGNATURES else (
                    "typer.Option(", "typer.Argument(", "inspect.Signature(", "inspect.Parameter(")
                if isinstance(node, ast.Call) and text.startswith(forbidden):
                    offenders.append(f"{rel}:{node.lineno}: {text[:60]}")
                if isinstance(node, ast.Attribute) and node.attr == "__signature__" and (
                        isinstance(node.ctx, ast.Store)) and rel not in _PYTHON_SIGNATURES:
                    offenders.append(f"{rel}:{node.lineno}: assigns __signature__")
    assert not offenders, "\n".join(sorted(set(offenders)))


#: CLI words: the command tables and the command-name rule (cli/_command_names.py).
_COMMAND_WORDS = frozenset({"GENERATION_COMMANDS", "GENERATE_KINDS", "GENERATE_KIND_ALIASES",
                            "REFERENCE_ALIASES", "COMMAND_OVERRIDES", "command_names",
                            "generation_endpoints", "flag_for"})


def _builds_a_flag(node: ast.AST) -> bool:
    """``"--" + kebab(name)`` or ``f"--{kebab(name)}"``: a flag made from a field's name."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left = node.left
        return isinstance(left, ast.Constant) and left.value == "--" and "kebab(" in (
            ast.unparse(node.right))
    if isinstance(node, ast.JoinedStr) and node.values:
        first = node.values[0]
        return (isinstance(first, ast.Constant) and str(first.value).endswith("--")
                and len(node.values) > 1 and "kebab(" in ast.unparse(node.values[1]))
    return False


def test_the_library_speaks_in_fields_and_endpoints() -> None:
    """Outside cli/, no module names a command word (the command tables, the command-name
    rule, a field's flag) or makes a flag from a field's name: problems carry field paths
    and the CLI's builder names flags (issue 13 §3)."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] == "cli":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            named = ""
            if isinstance(node, ast.Name):
                named = node.id
            elif isinstance(node, ast.Attribute):
                named = node.attr
            elif isinstance(node, (ast.alias, ast.FunctionDef, ast.AsyncFunctionDef)):
                named = node.name
            if named in _COMMAND_WORDS:
                offenders.append(f"{rel}:{getattr(node, 'lineno', '?')}: {named}")
            if _builds_a_flag(node):
                offenders.append(f"{rel}:{getattr(node, 'lineno', '?')}: {ast.unparse(node)}")
    assert not offenders, "\n".join(sorted(set(offenders)))
