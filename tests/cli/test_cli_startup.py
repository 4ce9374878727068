"""The start-up path stays light: no httpx, jsonschema or openapi-core, no other commands."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys

import pytest

HEAVY = ("httpx", "jsonschema", "openapi_core", "rich")

_PROBE = """
import json, sys
from runway_dynamic.cli import main
code = main(sys.argv[1:])
sys.stdout.flush()
sys.stderr.write("\\n@@MODULES@@" + json.dumps(sorted(sys.modules)) + "\\n")
"""


def _modules(args: list[str]) -> set[str]:
    """Every module loaded by a real CLI run (sys.modules sees importlib imports too)."""
    done = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True,
                          timeout=60)
    assert "@@MODULES@@" in done.stderr, done.stderr[-2000:]
    return set(json.loads(done.stderr.rsplit("@@MODULES@@", 1)[1]))


def test_importtime_of_models_schema_shows_no_heavy_module() -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "runway_dynamic", "models", "schema", "gen4.5"],
        capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    names = {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines()
             if line.startswith("import time:") and "|" in line}
    assert {"typer", "runway_dynamic.catalog", "orjson"} <= names  # the parse saw imports
    assert sorted(n for n in names if n.split(".")[0] in HEAVY) == []


@pytest.mark.parametrize("args", [
    ["models", "schema", "gen4.5"],
    ["models", "schema", "gen4.5", "--json"],
    ["models"],
    ["models", "ratios"],
    ["--help"],
    ["call", "text_to_video", "--help"],
    ["spec", "show"],
], ids=" ".join)
def test_start_up_loads_no_heavy_module(args: list[str]) -> None:
    names = _modules(args)
    assert sorted(n for n in names if n.split(".")[0] in HEAVY) == []


def test_top_level_help_loads_no_command_nor_typer_nor_the_catalog() -> None:
    _modules(["models"])  # warm the index: the help lists the spec's resources from it
    names = _modules(["--help"])
    assert {"runway_dynamic.cli.models", "runway_dynamic.cli.call",
            "runway_dynamic.cli.spec_cmd"}.isdisjoint(names)
    assert "typer" not in names
    assert "runway_dynamic.catalog" not in names


def test_models_schema_builds_only_its_own_command() -> None:
    names = _modules(["models", "schema", "gen4.5", "--json"])
    assert "runway_dynamic.cli.models" in names
    assert "runway_dynamic.cli.call" not in names
    assert "runway_dynamic.cli.spec_cmd" not in names
    assert "runway_dynamic.validation" not in names


@pytest.mark.parametrize("args", [
    ["models", "schema", "gen4.5"],
    ["video", "--help"],
    ["__complete", "video", "--model", ""],
], ids=" ".join)
def test_warm_start_loads_neither_openssl_nor_a_json_library(args: list[str]) -> None:
    """Once the index is cached, finding and checking it needs no OpenSSL (the digests are
    BLAKE2b: runway_dynamic._digest) and reading it no JSON library (marshal), and no
    settings file means no JSON library either: ~4.5 ms of every such command. (The probe
    itself imports ``json``; orjson is what would load it.)"""
    _modules(["models"])  # warm the index
    heavy = {"_hashlib", "hashlib", "hmac", "orjson"}
    names = _modules(args)
    assert heavy.isdisjoint(names), sorted(heavy & names)


_DRY_RUN = ["--sandbox", "video", "--model", "gen4.5", "--prompt-text", "a cat", "--ratio",
            "1280:720", "--duration", "5", "--dry-run"]


def test_sandbox_dry_run_of_a_plain_body_loads_no_compiled_validator_nor_server() -> None:
    """A plain valid body is judged by the pure-Python verdict (runway_dynamic._verdict):
    no jsonschema-rs import, no compilation; and a sandbox nobody calls loads no server
    stack (its port is bound with ``_socket``, without ``socket.py``)."""
    names = _modules(_DRY_RUN)
    assert "jsonschema_rs" not in names
    assert {"uvicorn", "starlette", "asyncio", "httpx", "socket"}.isdisjoint(names)


def test_refused_dry_run_of_a_plain_body_loads_no_validator_library() -> None:
    """A plain body's refusal is explained by runway_dynamic._verdict.explain, as
    python-jsonschema would explain it, with neither jsonschema nor jsonschema-rs loaded
    (exit 2, the problems named)."""
    refused = [*_DRY_RUN[:-3], "--duration", "50", "--dry-run"]
    names = _modules(refused)
    assert {"jsonschema", "jsonschema_rs"}.isdisjoint(names)


_FROZEN_PROBE = """
import atexit, gc, sys
atexit.register(lambda: print("frozen", gc.get_freeze_count() > 0, gc.isenabled()))
sys.argv = ["runway", *sys.argv[1:]]
from runway_dynamic.cli import main
raise SystemExit(main())
"""


def test_console_run_hides_start_up_objects_from_the_collector_but_still_collects() -> None:
    """A process of its own freezes what start-up made (gc.freeze) before the command runs,
    with the collector on for the command itself."""
    done = subprocess.run([sys.executable, "-c", _FROZEN_PROBE, "models"], capture_output=True,
                          text=True, timeout=60, env={**os.environ, "RUNWAY_NO_FAST_EXIT": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines()[-1] == "frozen True True"


def test_in_process_main_freezes_nothing_of_the_callers() -> None:
    """main(argv) in a caller's process (tests, embedding) leaves its garbage collectable."""
    from runway_dynamic.cli import main

    before = gc.get_freeze_count()
    assert main(["help", "exit-codes"]) == 0
    assert gc.get_freeze_count() == before and gc.isenabled()
