"""``runway call``: flags from the spec, --body merging, pre-flight, --dry-run, sending."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from cli_support import tiny_spec, write_spec


def _dry(cli, *args: str) -> dict[str, Any]:
    result = cli(*args, "--dry-run", "--json")
    assert result.code == 0, result.err
    return json.loads(result.out)


# ---- the bundled spec


def test_dry_run_get_with_path_param_from_a_concrete_path(cli) -> None:
    request = _dry(cli, "call", "tasks/1234-abcd")
    assert request["method"] == "GET"
    assert request["url"] == "https://api.dev.runwayml.com/v1/tasks/1234-abcd"
    assert request["headers"]["X-Runway-Version"] == "2024-11-06"
    assert "Authorization" not in request["headers"] and "body" not in request


def test_dry_run_path_param_as_flag_and_other_method(cli) -> None:
    request = _dry(cli, "call", "tasks/{id}", "--id", "a/b", "--method", "DELETE")
    assert request["method"] == "DELETE"
    assert request["url"].endswith("/v1/tasks/a%2Fb")


def test_dry_run_generation_post(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNWAY_API_KEY", "key_0123456789abcdefWXYZ")
    request = _dry(cli, "call", "text_to_video", "--model", "gen4.5", "--prompt-text", "a cat",
                   "--ratio", "1280:720", "--duration", "5", "--seed", "7")
    assert request["method"] == "POST"
    assert request["url"] == "https://api.dev.runwayml.com/v1/text_to_video"
    assert request["body"] == {"model": "gen4.5", "promptText": "a cat", "ratio": "1280:720",
                               "duration": 5, "seed": 7}
    assert request["headers"]["Authorization"] == "Bearer ****WXYZ"
    assert "0123456789" not in json.dumps(request)


def test_dry_run_text_form(cli) -> None:
    result = cli("call", "text_to_video", "--model", "gen4.5", "--prompt-text", "a cat",
                 "--ratio", "1280:720", "--duration", "5", "--dry-run")
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0] == "POST https://api.dev.runwayml.com/v1/text_to_video"
    assert "X-Runway-Version: 2024-11-06" in lines
    body = json.loads(result.out.split("\n\n", 1)[1])
    assert body["promptText"] == "a cat"


def test_flags_merge_over_body_and_unset_flags_stay_out(cli, tmp_path: Path) -> None:
    body = tmp_path / "body.json"
    body.write_text(json.dumps({"model": "gen4.5", "promptText": "old", "ratio": "720:1280",
                                "duration": 4}))
    request = _dry(cli, "call", "text_to_video", "--body", f"@{body}", "--prompt-text", "new")
    assert request["body"] == {"model": "gen4.5", "promptText": "new", "ratio": "720:1280",
                               "duration": 4}


def test_mixed_kind_flag_is_converted_for_the_selected_model(bundled_spec) -> None:
    """duration is an integer for some text_to_video models and a number for others."""
    from runway_dynamic.cli._flags import value_for
    from runway_dynamic.cli.call import command_options

    operation = bundled_spec.catalog.operation("text_to_video", "POST")
    duration = command_options(operation).field_option("duration")
    assert duration is not None
    assert duration.kind == "mixed" and duration.python_type() is str
    by_kind = {f.kind: key for key, f in duration.fields.items()}
    assert value_for(duration, "5", by_kind["integer"]) == 5
    assert value_for(duration, "5.5", by_kind["number"]) == 5.5
    # an unknown model: typed as the listed models agree (issue 14 §4)
    assert value_for(duration, "5", None) == 5


def test_string_or_array_field_takes_json_when_it_looks_like_json(cli, bundled_spec) -> None:
    catalog = bundled_spec.catalog
    field = catalog.variant("image_to_video", "gen4.5").field_map["promptImage"]
    assert field.kind == "any"
    images = [{"uri": "https://example.com/a.png", "position": "first"}]
    common = ["call", "image_to_video", "--model", "gen4.5", "--prompt-text", "x",
              "--ratio", "1280:720", "--duration", "5"]
    request = _dry(cli, *common, "--prompt-image", json.dumps(images))
    assert request["body"]["promptImage"] == images
    request = _dry(cli, *common, "--prompt-image", "https://example.com/a.png")
    assert request["body"]["promptImage"] == "https://example.com/a.png"


def test_body_from_stdin(run_cli) -> None:
    body = {"model": "gen4.5", "promptText": "hi", "ratio": "1280:720", "duration": 5}
    result = run_cli("call", "text_to_video", "--body", "-", "--dry-run", "--json",
                     input=json.dumps(body))
    assert result.code == 0, result.err
    assert json.loads(result.out)["body"] == body


def test_preflight_blocks_with_every_problem_and_exit_2(cli) -> None:
    result = cli("call", "text_to_video", "--model", "gen4.5", "--ratio", "999:1", "--dry-run")
    assert result.code == 2 and result.out == ""
    assert "promptText (--prompt-text)" in result.err
    assert "duration (--duration)" in result.err
    assert "999:1" in result.err and "closest accepted ratios" in result.err


def test_unknown_model_warns_but_does_not_block(cli) -> None:
    result = cli("call", "text_to_video", "--model", "gen99", "--prompt-text", "x", "--dry-run")
    assert result.code == 0
    assert "warning" in result.err and "gen99" in result.err
    assert '"model": "gen99"' in result.out


def test_bad_input_is_one_line_exit_2(cli) -> None:
    for args, needle in [
        (["call", "tex_to_video"], "did you mean text_to_video"),
        (["call", "text_to_video", "--body", "{nope"], "--body: invalid JSON"),
        (["call", "text_to_video", "--body", "@/does/not/exist"], "cannot read"),
        (["call", "tasks/{id}", "--method", "POST"], "no POST operation"),
        (["call", "text_to_video", "--seed", "abc"], "--seed"),
        (["call", "tasks/{id}", "--dry-run"], "missing required path parameter id"),
    ]:
        result = cli(*args)
        assert result.code == 2, (args, result.err)
        assert needle in result.err, (args, result.err)
        assert "Traceback" not in result.err


def test_every_operation_of_the_bundled_spec_builds(cli, bundled_spec) -> None:
    for operation in bundled_spec.catalog.operations:
        result = cli("call", operation.endpoint, "--method", operation.method, "--help")
        assert result.code == 0, (operation.endpoint, result.err)
        assert f"{operation.method} {operation.path}" in " ".join(result.out.split())


def test_no_key_is_one_line_exit_1(run_cli) -> None:
    result = run_cli("call", "tasks/abc")
    assert result.code == 1
    assert result.err.count("\n") == 1 and "RUNWAY_API_KEY" in result.err


# ---- a synthetic spec: reserved names, arrays, booleans, objects


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return write_spec(tmp_path / "tiny.json", tiny_spec())


def test_query_params_with_arrays(cli, tiny: Path) -> None:
    request = _dry(cli, "--spec", str(tiny), "call", "things", "--ids", "a", "--ids", "b c",
                   "--limit", "3", "--query-json", "j")
    # Repeated flags become repeated query pairs, in the spec's parameter order.
    assert request["url"] == "https://api.example.test/v1/things?ids=a&ids=b+c&json=j&limit=3"
    assert request["headers"]["X-Api-Version"] == "2030-01-01"


def test_required_query_param_is_a_preflight_problem(cli, tiny: Path) -> None:
    result = cli("--spec", str(tiny), "call", "things", "--dry-run")
    assert result.code == 2 and "limit (--limit)" in result.err


def test_reserved_names_go_into_the_body_under_prefixed_flags(cli, tiny: Path) -> None:
    request = _dry(cli, "--spec", str(tiny), "call", "make", "--model", "m1",
                   "--prompt-text", "p", "--ratio", "720:1280", "--body-json", "J",
                   "--body-body", "B", "--body-spec", "S", "--count", "2", "--loud",
                   "--tags", "x", "--tags", "y", "--meta", '{"a": 1}')
    assert request["body"] == {"model": "m1", "promptText": "p", "ratio": "720:1280",
                               "json": "J", "body": "B", "spec": "S", "count": 2,
                               "loud": True, "tags": ["x", "y"], "meta": {"a": 1}}


def test_no_flag_form_of_a_boolean(cli, tiny: Path) -> None:
    request = _dry(cli, "--spec", str(tiny), "call", "make", "--model", "m1", "--prompt-text",
                   "p", "--ratio", "720:1280", "--no-loud")
    assert request["body"]["loud"] is False


def test_help_shows_choices_and_types(cli, tiny: Path) -> None:
    out = " ".join(cli("--spec", str(tiny), "call", "make", "--help").out.split())
    assert "--ratio TEXT Required for m1. Only m1. One of: 1280:720, 720:1280." in out
    assert "--tags TEXT" in out and "repeat the flag" in out
    assert "--model TEXT Required. One of: m1, m2." in out
    assert "--body-json TEXT" in out


# ---- sending (a real HTTP server on loopback)


class _Recorder(BaseHTTPRequestHandler):
    seen: ClassVar[list[dict[str, Any]]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        type(self).seen.append({"method": self.command, "path": self.path,
                                "headers": dict(self.headers), "body": body})
        status = 404 if "missing" in self.path else 200
        payload = json.dumps({"error": "no such task"} if status == 404 else {"id": "task-1"})
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload.encode())

    do_GET = do_POST = do_DELETE = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    _Recorder.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_call_sends_the_request(run_cli, server: str) -> None:
    env = {"RUNWAY_API_KEY": "key_test_0123456789", "RUNWAY_BASE_URL": server}
    result = run_cli("call", "text_to_video", "--model", "gen4.5", "--prompt-text", "a cat",
                     "--ratio", "1280:720", "--duration", "5", env=env)
    assert result.code == 0, result.err
    assert json.loads(result.out) == {"id": "task-1"}
    [seen] = _Recorder.seen
    assert (seen["method"], seen["path"]) == ("POST", "/v1/text_to_video")
    assert seen["headers"]["Authorization"] == "Bearer key_test_0123456789"
    assert seen["headers"]["X-Runway-Version"] == "2024-11-06"
    assert json.loads(seen["body"]) == {"model": "gen4.5", "promptText": "a cat",
                                        "ratio": "1280:720", "duration": 5}


def test_call_maps_an_error_status_to_one_line(run_cli, server: str) -> None:
    env = {"RUNWAY_API_KEY": "key_test_0123456789", "RUNWAY_BASE_URL": server}
    result = run_cli("call", "tasks/missing", env=env)
    assert result.code == 1
    assert "404" in result.err and "Traceback" not in result.err
    assert "key_test_0123456789" not in result.err
