"""Registered workflows: graph → typed command → upload, invoke, wait, download (sandbox)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from runway_dynamic._exceptions import ConfigError
from runway_dynamic.creative import workflows
from runway_dynamic.sandbox import FAULT_HEADER, Sandbox

IMAGE_NODE, TEXT_NODE, NUMBER_NODE, FLAG_NODE = (str(uuid.uuid4()) for _ in range(4))
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00"
       b"\x00\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe"
       b"\x92\xef\x00\x00\x00\x00IEND\xaeB`\x82")


def graph_workflow(wid: str) -> dict[str, Any]:
    return {
        "id": wid, "name": "Hair Salon v2", "description": None, "version": 3,
        "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z",
        "graph": {"version": 1, "edges": [], "nodes": [
            {"id": IMAGE_NODE, "type": "image_input", "name": "Portrait",
             "data": {"outputName": "image", "required": True}},
            {"id": TEXT_NODE, "type": "input", "name": "Hair style",
             "data": {"inputType": "text", "outputName": "text"}},
            {"id": NUMBER_NODE, "type": "input", "name": "Strength",
             "data": {"valueType": "number"}},
            {"id": FLAG_NODE, "nodeType": "BooleanInput", "name": "Keep colour"},
            {"id": str(uuid.uuid4()), "type": "generate_image", "name": "Model step"},
        ]},
    }


def test_inputs_are_derived_from_the_graph() -> None:
    found = workflows.input_nodes(graph_workflow(str(uuid.uuid4())))
    assert [(i.name, i.kind, i.output) for i in found] == [
        ("portrait", "image", "image"), ("hair-style", "text", "text"),
        ("strength", "number", "value"), ("keep-colour", "boolean", "value")]
    assert found[0].required and not found[1].required


def test_media_limits_come_from_the_spec(bundled_spec: Any) -> None:
    facts = workflows.media_facts_for(bundled_spec.catalog, "image")
    assert facts is not None and facts.data_mime_prefix == "image/"
    assert workflows.media_facts_for(bundled_spec.catalog, "video") is not None


def test_broken_registry_is_reported_not_skipped() -> None:
    path = workflows.registry_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="broken"):
        workflows.load_registry()


@pytest.fixture
def salon(sandbox: Sandbox) -> str:
    wid = str(uuid.uuid4())
    sandbox.state.add_record("workflows", wid, graph_workflow(wid))
    return wid


def test_register_run_and_download(cli: Any, sandbox: Sandbox, salon: str, tmp_path: Path
                                   ) -> None:
    made = cli("workflow", "register", salon)
    assert made.code == 0, made.err
    assert made.out.strip() == "hair-salon-v2"
    listed = cli("workflow", "registered", "list", "--json")
    assert [w["name"] for w in json.loads(listed.out)] == ["hair-salon-v2"]
    shadow = cli("workflow", "register", salon, "--name", "short-video")
    assert shadow.code == 2 and "shadow" in shadow.err

    helped = cli("wf", "hair-salon-v2", "--help")
    assert "--portrait" in helped.out and "--keep-colour" in helped.out

    missing = cli("wf", "hair-salon-v2", "--hair-style", "bob")
    assert missing.code == 2 and "--portrait" in missing.err

    portrait = tmp_path / "me.png"
    portrait.write_bytes(PNG)
    out = tmp_path / "out"
    ran = cli("wf", "hair-salon-v2", "--portrait", str(portrait), "--hair-style", "bob",
              "--strength", "0.7", "--keep-colour", "--output-dir", str(out),
              "--poll-interval", "0.02")
    assert ran.code == 0, ran.err
    files = ran.out.split()
    assert files and all(Path(f).is_file() for f in files)
    body = sandbox.state.requests_to("POST", f"/v1/workflows/{salon}")[-1].body
    outputs = body["nodeOutputs"]
    assert outputs[IMAGE_NODE]["image"]["type"] == "image"
    assert outputs[IMAGE_NODE]["image"]["uri"].startswith("data:image/png;base64,")
    assert outputs[TEXT_NODE]["text"] == {"type": "primitive", "value": "bob"}
    assert outputs[NUMBER_NODE]["value"] == {"type": "primitive", "value": 0.7}
    assert outputs[FLAG_NODE]["value"] == {"type": "primitive", "value": True}

    assert cli("workflow", "registered", "remove", "hair-salon-v2").code == 0
    assert cli("wf", "hair-salon-v2").code == 2


def test_failed_invocation_exits_3(cli: Any, salon: str, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli("workflow", "register", salon, "--name", "salon").code == 0
    portrait = tmp_path / "me.png"
    portrait.write_bytes(PNG)
    monkeypatch.setenv("RUNWAY_EXTRA_HEADERS",
                       json.dumps({FAULT_HEADER: "task-fail=INTERNAL.BAD_OUTPUT.CODE01"}))
    ran = cli("wf", "salon", "--portrait", str(portrait), "--poll-interval", "0.02",
              "--output-dir", str(tmp_path))
    assert ran.code == 3, ran.err
    assert "INTERNAL.BAD_OUTPUT.CODE01" in ran.err


def test_sandbox_invocation_outputs_survive_the_response_schema(sandbox: Sandbox, salon: str
                                                                ) -> None:
    """The sandbox keys invocation outputs by a version-4 uuid, as the schema's pattern wants."""
    import re
    import time

    import httpx

    headers = {"Authorization": "Bearer k", "X-Runway-Version":
               sandbox.spec.catalog.operation("workflows/{id}", "POST").constant_headers[  # type: ignore[union-attr]
                   "X-Runway-Version"]}
    started = httpx.post(f"{sandbox.base_url}/v1/workflows/{salon}", json={"nodeOutputs": {}},
                         headers=headers).json()
    time.sleep(0.3)
    done = httpx.get(f"{sandbox.base_url}/v1/workflow_invocations/{started['id']}",
                     headers=headers).json()
    assert done["status"] == "SUCCEEDED"
    (node, urls), = done["output"].items()
    uuid4 = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
    assert re.fullmatch(uuid4, node)
    assert urls and all(u.startswith(sandbox.base_url) for u in urls)
