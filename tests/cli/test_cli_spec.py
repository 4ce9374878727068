"""``runway spec show|pull|diff|pack`` through the real CLI."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from cli_support import laughs, tiny_spec, write_spec

from runway_dynamic.sources import bundled_spec_path, pulled_spec_path
from runway_dynamic.spec import Spec

REPO = Path(__file__).resolve().parents[2]
OFFICIAL = REPO.parent / "shared" / "spec" / "runway-openapi.json"


def test_show_text_and_json(cli, bundled_spec: Spec) -> None:
    data = json.loads(cli("spec", "show", "--json").out)
    summary = bundled_spec.catalog.summary()
    assert data["source"] == {"kind": "bundled", "location": str(bundled_spec_path())}
    assert data["sha256"] == bundled_spec.sha256
    assert (data["operations"], data["endpoints"], data["models"], data["variants"]) == (
        summary["operations"], summary["endpoints"], summary["models"], summary["variants"])
    text = cli("spec", "show").out
    assert f"sha256:      {bundled_spec.sha256}" in text and "bundled" in text


def test_source_chain_option_then_env(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                      ) -> None:
    tiny = write_spec(tmp_path / "tiny.json", tiny_spec())
    monkeypatch.setenv("RUNWAY_SPEC", str(tiny))
    assert json.loads(cli("spec", "show", "--json").out)["source"]["kind"] == "env"
    other = write_spec(tmp_path / "other.json", tiny_spec(version="2031-01-01"))
    data = json.loads(cli("--spec", str(other), "spec", "show", "--json").out)
    assert data["source"] == {"kind": "option", "location": str(other)}
    assert data["apiVersion"] == "2031-01-01"


# ---- pull, against a real HTTP server on loopback


class _SpecServer(BaseHTTPRequestHandler):
    body = b""
    etag = '"v1"'
    declare_length = True
    requests: ClassVar[list[dict[str, str]]] = []

    def do_GET(self) -> None:
        type(self).requests.append(dict(self.headers))
        if self.headers.get("If-None-Match") == type(self).etag:
            self.send_response(304)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("ETag", type(self).etag)
        if type(self).declare_length:
            self.send_header("Content-Length", str(len(type(self).body)))
        else:
            self.close_connection = True  # the body ends when the connection does
        self.end_headers()
        # The client may stop reading at its limit.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(type(self).body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def spec_server() -> Iterator[str]:
    _SpecServer.requests = []
    _SpecServer.etag = '"v1"'
    _SpecServer.body = json.dumps(tiny_spec(client_ops=True)).encode()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _SpecServer)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/openapi.json"
    httpd.shutdown()
    httpd.server_close()


# A tiny spec is no update of the bundled one (the review refuses it: see the tests of the
# review below), so the first pull of each test says --force.


def test_pull_then_304_then_broken_document_keeps_the_cache(run_cli, spec_server: str) -> None:
    first = run_cli("spec", "pull", "--url", spec_server, "--force")
    assert first.code == 0, first.err
    target = pulled_spec_path()
    assert target.read_bytes() == _SpecServer.body
    etag_file = target.with_name(target.name + ".etag")
    assert json.loads(etag_file.read_text()) == {"url": spec_server, "etag": '"v1"'}
    # The pulled spec is now the source in use.
    shown = json.loads(run_cli("spec", "show", "--json").out)
    assert shown["source"]["kind"] == "cache" and shown["apiVersion"] == "2030-01-01"

    second = run_cli("spec", "pull", "--url", spec_server, "--json")
    assert second.code == 0, second.err
    assert json.loads(second.out)["status"] == "unchanged"
    assert _SpecServer.requests[-1].get("If-None-Match") == '"v1"'

    good = target.read_bytes()
    _SpecServer.etag = '"v2"'
    _SpecServer.body = b'{"openapi": "3.1.0", "paths": {"/v1/x": {"post": {"requestBody": '
    broken = run_cli("spec", "pull", "--url", spec_server)
    assert broken.code == 1
    assert broken.err.count("\n") == 1 and "unchanged" in broken.err
    assert target.read_bytes() == good
    assert json.loads(etag_file.read_text())["etag"] == '"v1"'

    _SpecServer.body = json.dumps({"swagger": "2.0", "paths": {}}).encode()
    not_openapi = run_cli("spec", "pull", "--url", spec_server)
    assert not_openapi.code == 1 and "Swagger 2.0" in not_openapi.err
    assert target.read_bytes() == good


def test_pull_new_version_replaces_and_unreachable_keeps(run_cli, spec_server: str) -> None:
    assert run_cli("spec", "pull", "--url", spec_server, "--force").code == 0
    _SpecServer.etag = '"v2"'
    _SpecServer.body = json.dumps(tiny_spec(version="2031-02-02", client_ops=True)).encode()
    result = run_cli("spec", "pull", "--url", spec_server, "--json")
    assert result.code == 0 and json.loads(result.out)["apiVersion"] == "2031-02-02"
    before = pulled_spec_path().read_bytes()
    gone = run_cli("spec", "pull", "--url", "http://127.0.0.1:9/openapi.json")
    assert gone.code == 1 and "cannot download" in gone.err
    assert pulled_spec_path().read_bytes() == before


def test_pull_refuses_a_yaml_bomb_with_the_same_limits(run_cli, spec_server: str) -> None:
    """A billion-laughs document at the pull URL never becomes the default spec: the
    download is checked with the limits every spec source has."""
    assert run_cli("spec", "pull", "--url", spec_server, "--force").code == 0
    good = pulled_spec_path().read_bytes()
    _SpecServer.etag = '"bomb"'
    _SpecServer.body = laughs().encode()
    result = run_cli("spec", "pull", "--url", spec_server)
    assert result.code == 1 and "Traceback" not in result.err
    assert result.err.count("\n") == 1, result.err
    assert "spec-max-bytes" in result.err and "unchanged" in result.err
    assert pulled_spec_path().read_bytes() == good
    shown = json.loads(run_cli("spec", "show", "--json").out)
    assert shown["apiVersion"] == "2030-01-01"


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "until-close"])
def test_pull_stops_reading_past_the_size_limit(
    run_cli, spec_server: str, declared: bool
) -> None:
    """An oversized download is refused whether or not the server says its size first
    (without a length the body is read only up to the limit)."""
    _SpecServer.body = json.dumps(tiny_spec()).encode() + b" " * 50_000
    _SpecServer.declare_length = declared
    try:
        result = run_cli("spec", "pull", "--url", spec_server,
                         env={"RUNWAY_SPEC_MAX_BYTES": "20000"})
    finally:
        _SpecServer.declare_length = True
    assert result.code == 1 and "Traceback" not in result.err, result.err
    assert "spec-max-bytes" in result.err and not pulled_spec_path().exists()
    data = json.loads(run_cli("--json", "spec", "pull", "--url", spec_server,
                              env={"RUNWAY_SPEC_MAX_BYTES": "20000"}).err)
    assert data["error"] == "SpecLimitError" and data["limit"] == "spec-max-bytes"
    assert data["maximum"] == 20000


# ---- safe updates: the review before a pull replaces the spec, and rollback


def _serve(document: dict[str, Any], etag: str) -> None:
    _SpecServer.etag = etag
    _SpecServer.body = json.dumps(document).encode()


def _api_version() -> str:
    return json.loads(pulled_spec_path().read_bytes())["info"]["version"]


def test_pull_takes_the_url_as_its_argument(run_cli, spec_server: str) -> None:
    result = run_cli("spec", "pull", spec_server, "--force", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["url"] == spec_server
    clash = run_cli("spec", "pull", spec_server, "--url", spec_server + "?other")
    assert clash.code == 2 and "give one" in clash.err


def test_pull_shows_the_change_summary_before_replacing(run_cli, spec_server: str) -> None:
    assert run_cli("spec", "pull", spec_server, "--force").code == 0
    newer = tiny_spec(version="2031-03-03", extra_model=True, client_ops=True)
    _serve(newer, '"v2"')
    result = run_cli("spec", "pull", spec_server)
    assert result.code == 0, result.err
    summary = result.out.split("saved ")[0]
    assert "API version 2030-01-01 → 2031-03-03" in summary and "+ model m3" in summary
    assert "spec rollback" in result.out and _api_version() == "2031-03-03"
    _serve(tiny_spec(version="2031-04-04", extra_model=True, client_ops=True), '"v3"')
    data = json.loads(run_cli("spec", "pull", spec_server, "--json").out)
    assert data["diff"]["counts"] == {"api_version_changed": 1} and data["forced"] == []


def _without_models() -> dict[str, Any]:
    document = tiny_spec(client_ops=True)
    del document["paths"]["/v1/make"]
    return document


def _without_task_get() -> dict[str, Any]:
    document = tiny_spec(client_ops=True)
    del document["paths"]["/v1/tasks/{id}"]["get"]
    return document


def _without_most_operations() -> dict[str, Any]:
    document = tiny_spec(client_ops=True)
    for path in ("/v1/things", "/v1/things/{id}"):
        del document["paths"][path]
    return document


@pytest.mark.parametrize(("make", "reason"), [
    (_without_models, "no model endpoints"),
    (_without_task_get, "lacks GET tasks/{id}, needed for following a task"),
    (_without_most_operations, "removes 3 of 7 operations (more than 25%)"),
], ids=["no-models", "no-task-get", "most-removed"])
def test_pull_refuses_an_unsafe_update_unless_forced(
    run_cli, spec_server: str, make: Any, reason: str
) -> None:
    """Refused: the spec in use stays, the error names why (one line, exit 1), the change
    summary is shown; --force installs it and says what it overrode."""
    assert run_cli("spec", "pull", spec_server, "--force").code == 0
    good = pulled_spec_path().read_bytes()
    _serve(make(), '"bad"')
    refused = run_cli("spec", "pull", spec_server)
    assert refused.code == 1 and refused.err.count("\n") == 1, refused.err
    assert reason in refused.err and "--force" in refused.err
    assert "change(s)" in refused.out
    assert pulled_spec_path().read_bytes() == good
    as_json = json.loads(run_cli("--json", "spec", "pull", spec_server).err)
    assert as_json["error"] == "SpecUpdateRefused" and any(reason in r for r in as_json["reasons"])
    forced = run_cli("spec", "pull", spec_server, "--force")
    assert forced.code == 0 and "installed despite" in forced.out and reason in forced.out
    assert pulled_spec_path().read_bytes() == _SpecServer.body


def test_a_spec_without_tasks_is_refused_over_the_bundled_one(run_cli, spec_server: str) -> None:
    """The reported case: a pull of a spec without tasks/{id} made --wait fail only after the
    paid submit. The review refuses it before it replaces anything."""
    document = json.loads(bundled_spec_path().read_bytes())
    del document["paths"]["/v1/tasks/{id}"]
    _serve(document, '"no-tasks"')
    result = run_cli("spec", "pull", spec_server)
    assert result.code == 1 and "lacks GET tasks/{id}" in result.err
    assert "DELETE tasks/{id}" in result.err and not pulled_spec_path().exists()
    assert "- operation removed" in result.out


def test_rollback_returns_to_the_replaced_spec_and_again_undoes_it(
    run_cli, spec_server: str
) -> None:
    nothing = run_cli("spec", "rollback")
    assert nothing.code == 1 and "no previous spec" in nothing.err
    assert nothing.err.count("\n") == 1

    assert run_cli("spec", "pull", spec_server, "--force").code == 0  # over the bundled one
    _serve(tiny_spec(version="2031-05-05", client_ops=True), '"v2"')
    assert run_cli("spec", "pull", spec_server).code == 0
    assert _api_version() == "2031-05-05"

    back = run_cli("spec", "rollback")
    assert back.code == 0, back.err
    assert "2030-01-01" in back.out and _api_version() == "2030-01-01"
    shown = json.loads(run_cli("spec", "show", "--json").out)
    assert shown["source"]["kind"] == "cache" and shown["apiVersion"] == "2030-01-01"
    # The ETag went back with its spec: the next pull asks for changes since v1, gets v2.
    again = run_cli("spec", "pull", spec_server, "--json")
    assert json.loads(again.out)["status"] == "updated"
    assert _SpecServer.requests[-1].get("If-None-Match") == '"v1"'
    assert _api_version() == "2031-05-05"

    assert run_cli("spec", "rollback").code == 0 and _api_version() == "2030-01-01"
    assert run_cli("spec", "rollback").code == 0 and _api_version() == "2031-05-05"


def test_rollback_to_nothing_pulled_returns_to_the_bundled_spec(run_cli, spec_server: str
                                                                 ) -> None:
    assert run_cli("spec", "pull", spec_server, "--force").code == 0
    back = json.loads(run_cli("spec", "rollback", "--json").out)
    assert back["source"] == "bundled" and not pulled_spec_path().exists()
    assert json.loads(run_cli("spec", "show", "--json").out)["source"]["kind"] == "bundled"
    assert run_cli("spec", "rollback").code == 0 and _api_version() == "2030-01-01"


def test_rollback_refuses_a_previous_spec_that_no_longer_loads(run_cli, spec_server: str
                                                               ) -> None:
    from runway_dynamic.spec_update import previous_spec_path

    assert run_cli("spec", "pull", spec_server, "--force").code == 0
    _serve(tiny_spec(version="2031-06-06", client_ops=True), '"v2"')
    assert run_cli("spec", "pull", spec_server).code == 0
    previous_spec_path().write_bytes(b'{"openapi": "3.1.0", "paths": ')
    result = run_cli("spec", "rollback")
    assert result.code == 1 and result.err.count("\n") == 1 and "Traceback" not in result.err
    assert _api_version() == "2031-06-06"


def test_wait_on_a_spec_without_tasks_is_refused_before_anything_is_sent(
    run_cli, tmp_path: Path
) -> None:
    """With a spec that lacks GET tasks/{id} (forced, or --spec), --wait used to fail only
    after the paid submit, exit 2 and a pointer to a command that does not exist. Now it is
    refused before the create (exit 2, nothing sent); without --wait the task is created."""
    document = json.loads(bundled_spec_path().read_bytes())
    del document["paths"]["/v1/tasks/{id}"]
    path = write_spec(tmp_path / "no-tasks.json", document)
    # a model that takes a prompt and a ratio alone (the default model may need more)
    operation = Spec.from_bytes(bundled_spec_path().read_bytes()).catalog.model_operation(
        "text_to_image")
    assert operation is not None
    model, ratio = next((v.key, v.ratios[0]) for v in operation.variants
                        if v.ratios and set(v.required) <= {"model", "promptText", "ratio"})
    args = ("--spec", str(path), "--sandbox", "image", "--model", str(model), "--prompt", "x",
            "--ratio", ratio)
    waited = run_cli(*args, "--wait")
    assert waited.code == 2 and "has no GET tasks/{id}" in waited.err, waited.err
    assert "nothing was sent" in waited.err and "submitted" not in waited.err
    assert "Traceback" not in waited.err and waited.out == ""
    created = run_cli(*args, "--json")
    assert created.code == 0 and json.loads(created.out)["id"]


# ---- diff


def test_diff_reports_models_fields_required_and_ratios(run_cli, tmp_path: Path) -> None:
    old = write_spec(tmp_path / "old.json", tiny_spec())
    new_doc = tiny_spec(version="2031-01-01", m1_ratios=("1280:720", "1920:1080"),
                        extra_model=True)
    make = new_doc["paths"]["/v1/make"]["post"]["requestBody"]["content"]["application/json"]
    m2 = make["schema"]["oneOf"][1]
    m2["required"].append("duration")
    m2["properties"]["seed"] = {"type": "integer"}
    del new_doc["paths"]["/v1/things/{id}"]["delete"]
    new = write_spec(tmp_path / "new.json", new_doc)

    data = json.loads(run_cli("spec", "diff", str(old), str(new), "--json").out)
    kinds = {(c["kind"], c.get("operation"), c.get("variant"), c.get("name"))
             for c in data["changes"]}
    assert ("api_version_changed", None, None, None) in kinds
    assert ("model_added", "POST make", "m3", None) in kinds
    assert ("field_required_changed", "POST make", "m2", "duration") in kinds
    assert ("field_added", "POST make", "m2", "seed") in kinds
    assert ("operation_removed", "DELETE things/{id}", None, None) in kinds
    ratios = {c["kind"]: c for c in data["changes"] if c["kind"].startswith("ratio_")}
    assert ratios["ratio_added"]["added"] == ["1920:1080"]
    assert ratios["ratio_removed"]["removed"] == ["720:1280"]

    text = run_cli("spec", "diff", str(old), str(new)).out
    assert "+ model m3" in text and "~ field duration: now required" in text
    assert "+ ratios 1920:1080" in text and "- ratios 720:1280" in text
    assert run_cli("spec", "diff", str(old), str(new), "--exit-code").code == 1
    assert run_cli("spec", "diff", str(old), str(old), "--exit-code").code == 0


def _retyped(doc: dict[str, Any]) -> dict[str, Any]:
    """m1 of a tiny spec with its count typed as text, limits moved, ratios made open."""
    make = doc["paths"]["/v1/make"]["post"]["requestBody"]["content"]["application/json"]
    m1 = make["schema"]["oneOf"][0]["properties"]
    m1["count"] = {"type": "string", "enum": ["1", "2", "4", "8"]}
    m1["promptText"] = {"type": "string", "minLength": 1, "maxLength": 1000}
    m1["tags"] = {"type": "array", "items": {"type": "string"}, "maxItems": 5}
    m1["ratio"] = {"anyOf": [{"type": "string", "enum": ["1280:720", "720:1280"]},
                             {"type": "string"}]}
    return doc


def test_diff_shows_type_changes_as_type_changes_and_compares_limits(
    run_cli, tmp_path: Path
) -> None:
    """integer [1, 2, 4] → string ["1", "2", "4", "8"] is one type change and one value
    added (not every value removed and added again); limits are compared one by one."""
    before = tiny_spec()
    make = before["paths"]["/v1/make"]["post"]["requestBody"]["content"]["application/json"]
    make["schema"]["oneOf"][0]["properties"]["count"] = {"type": "integer", "enum": [1, 2, 4]}
    old = write_spec(tmp_path / "old.json", before)
    new = write_spec(tmp_path / "new.json", _retyped(tiny_spec()))
    text = run_cli("spec", "diff", str(old), str(new)).out
    assert "~ field count: type integer → string" in text
    assert "~ field count: values +8\n" in text  # the whole line: nothing removed
    assert "~ field promptText: maxLength 100 → 1000" in text
    assert "~ field tags: maxItems none → 5" in text
    assert "~ ratios now open (other values accepted)" in text
    changes = json.loads(run_cli("spec", "diff", str(old), str(new), "--json").out)["changes"]
    limits = {(c["name"], c["limit"]): (c["old"], c["new"]) for c in changes
              if c["kind"] == "field_limit_changed"}
    assert limits == {("promptText", "maxLength"): (100, 1000), ("tags", "maxItems"): (None, 5)}
    values = [c for c in changes if c["kind"] == "field_enum_changed"]
    assert values == [{"kind": "field_enum_changed", "operation": "POST make", "variant": "m1",
                       "name": "count", "added": ["8"]}]


def test_diff_of_the_official_spec_and_our_snapshot_is_empty(run_cli) -> None:
    if not OFFICIAL.is_file():
        pytest.skip("official spec not present")
    data = json.loads(run_cli("spec", "diff", str(OFFICIAL), str(bundled_spec_path()),
                              "--json").out)
    assert data["changes"] == []


# ---- pack


def test_pack_reproduces_the_bundled_snapshot_byte_for_byte(run_cli, tmp_path: Path) -> None:
    if not OFFICIAL.is_file():
        pytest.skip("official spec not present")
    out = tmp_path / "spec" / "runway.json"
    result = run_cli("spec", "pack", str(OFFICIAL), "-o", str(out))
    assert result.code == 0, result.err
    assert out.read_bytes() == bundled_spec_path().read_bytes()
