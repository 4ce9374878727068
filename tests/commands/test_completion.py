"""Shell completion: the scripts, and ``runway __complete`` answering from the spec."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from commands_support import Runner

from runway_dynamic.spec import Spec

BUNDLED = Spec.load(None)


def _candidates(cli: Runner, *words: str) -> list[str]:
    result = cli("__complete", *words)
    assert result.code == 0 and result.err == ""
    return result.out.splitlines()


def test_command_names_groups_and_verbs(cli: Runner) -> None:
    assert {"avatars", "avatar", "avatar-conversations", "avatar-usage"} <= set(
        _candidates(cli, "av"))
    assert _candidates(cli, "voices", "") == sorted(
        ["list", "create", "get", "delete", "update", "preview"])
    assert "schema" in _candidates(cli, "models", "")
    assert _candidates(cli, "--spec", "") == []  # a path: the shell completes files
    assert _candidates(cli, "--sp") == ["--spec"]


def test_flags_model_ids_ratios_and_enums_come_from_the_spec(cli: Runner) -> None:
    assert "--model" in _candidates(cli, "video", "--mo")
    assert _candidates(cli, "video", "--model", "") == BUNDLED.catalog.models("text_to_video")
    veo = _candidates(cli, "video", "--model", "veo3.1", "--ratio", "")
    assert veo == BUNDLED.catalog.ratios("text_to_video", "veo3.1")
    every = _candidates(cli, "video", "--ratio", "")
    assert set(veo) < set(every)
    assert _candidates(cli, "documents", "list", "--order", "") == ["asc", "desc"]
    assert "--json" in _candidates(cli, "models", "schema", "--")
    assert _candidates(cli, "image", "--pr") == ["--prompt", "--prompt-text"]
    assert _candidates(cli, "image", "--so") == ["--soul-id"]  # a model has a reference slot
    assert _candidates(cli, "sound-effect", "--so") == []  # none of its models has one


def test_bad_input_never_prints_a_traceback(cli: Runner) -> None:
    result = cli("__complete", "--spec", "/nope.json", "avatars", "")
    assert result.code == 0 and "Traceback" not in result.err


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_scripts_call_back_the_completer(cli: Runner, shell: str) -> None:
    result = cli("completion", shell)
    assert result.code == 0
    assert "runway __complete" in result.out
    assert cli("completion", "tcsh").code == 2


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_script_completes_a_ratio_with_a_colon(cli: Runner, tmp_path) -> None:
    """Run the real bash function: COMP_WORDBREAKS splits at ':' and the script copes."""
    script = cli("completion", "bash").out
    shim = tmp_path / "runway"
    shim.write_text(f"#!/bin/sh\nexec {sys.executable} -m runway_dynamic \"$@\"\n")
    shim.chmod(0o755)
    line = "runway video --model veo3.1 --ratio 1280:"
    program = (f"{script}\nCOMP_LINE='{line}'; COMP_POINT={len(line)}; "
               "_runway_complete; printf '%s\\n' \"${COMPREPLY[@]}\"")
    done = subprocess.run(["bash", "-c", program], capture_output=True, text=True,
                          env={"PATH": f"{tmp_path}:/usr/bin:/bin",
                               "HOME": str(tmp_path), **_runway_env()}, timeout=60)
    assert done.stdout.split() == ["720"]


def _runway_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k.startswith("RUNWAY_")}


def test_complete_imports_no_heavy_module_nor_the_client(tmp_path) -> None:
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "runway_dynamic",
                           "__complete", "video", "--model", ""], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0
    names = {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines()
             if line.startswith("import time:") and "|" in line}
    assert "runway_dynamic.cli.completion" in names
    assert not {"httpx", "jsonschema", "openapi_core"} & names
    # the command is built (by its builder) as the dispatcher would, and no client is made
    assert "runway_dynamic.cli._options" in names and "runway_dynamic.client" not in names


def test_call_and_wf_complete_the_options_their_builder_makes(cli: Runner) -> None:
    """Before: ``runway call ENDPOINT --`` and ``runway wf NAME --`` completed nothing, and
    a ratio followed a hard-coded ``--model``. Now each offers exactly its command's
    options, named as its help and pre-flight name them (``--body-version``)."""
    from runway_dynamic.cli import call
    from runway_dynamic.cli.workflow_cmd import wf_options
    from runway_dynamic.creative import workflows

    operation = BUNDLED.catalog.operation("text_to_video", "POST")
    assert operation is not None
    names = [n for n in call.command_options(operation).names() if n.startswith("--")]
    assert _candidates(cli, "call", "text_to_video", "--") == sorted([*names, "--help"])
    assert "--wait" in names and "--list" in names
    recipe = _candidates(cli, "call", "recipes/product_ad", "--")
    assert "--body-version" in recipe and "--version" not in recipe
    assert _candidates(cli, "call", "text_to_video", "--model", "") == \
        BUNDLED.catalog.models("text_to_video")
    assert _candidates(cli, "call", "text_to_video", "--model", "veo3.1", "--ratio", "") == \
        BUNDLED.catalog.ratios("text_to_video", "veo3.1")
    assert "--list" in _candidates(cli, "call", "--")
    assert "--list" in _candidates(cli, "call", "no_such_endpoint", "--")

    entry = workflows.register({"id": "wf-1", "name": "Hair", "graph": {"nodes": [
        {"id": "n1", "type": "input", "name": "JSON",
         "data": {"inputType": "text", "outputName": "text"}}]}}, name="hair")
    offered = _candidates(cli, "wf", "hair", "--")
    assert offered == sorted([*wf_options(entry)[0].names(), "--help"])
    assert "--input-json" in offered and "--json" in offered
