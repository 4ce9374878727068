"""Issue 15 §3, the habits users bring, through the real CLI in a subprocess under --sandbox:
an input flag picks the command that takes it, a mistyped flag gets the flag meant, ``-o
FILE`` names the file, and the global options other CLIs have."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest

from runway_dynamic.naming import suggest_flags
from runway_dynamic.spec import Spec

BUNDLED = Spec.load(None)


def _png(path: Path) -> Path:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    path.write_bytes(b"\x89PNG\r\n\x1a\n"
                     + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
                     + chunk(b"IEND", b""))
    return path


def _request(out: str) -> dict[str, Any]:
    request: dict[str, Any] = json.loads(out)
    return request


# --------------------------------------------------------------------------- routing


def test_video_with_an_image_runs_image_to_video_and_says_so(run_cli: Any,
                                                             tmp_path: Path) -> None:
    """Before: ``video --image still.png`` was "no such option: --image (Possible options:
    --timeout)". Now the one endpoint that makes video from an image takes it."""
    still = _png(tmp_path / "still.png")
    done = run_cli("--sandbox", "video", "the kite climbs", "--image", str(still),
                   "--ratio", "1280:720", "--duration", "5", "--download",
                   "--output-dir", str(tmp_path / "out"))
    assert done.code == 0, done.err
    assert "running 'runway image-to-video' (POST /v1/image_to_video)" in done.err
    saved = [Path(line) for line in done.out.splitlines()]
    assert len(saved) == 1 and saved[0].is_file() and saved[0].stat().st_size > 0

    dry = run_cli("--sandbox", "video", "night", "--video", "https://media.example/a.mp4",
                  "--dry-run", "--json")
    assert dry.code == 0, dry.err
    request = _request(dry.out)
    assert request["url"].endswith("/v1/video_to_video"), request
    assert "https://media.example/a.mp4" in request["body"].values()
    assert "running 'runway video-to-video'" in dry.err


def test_the_router_and_help_follow_the_same_routes(run_cli: Any, tmp_path: Path) -> None:
    still = _png(tmp_path / "still.png")
    done = run_cli("--sandbox", "generate", "hi", "--kind", "t2v", "--image", str(still),
                   "--ratio", "1280:720", "--duration", "5", "--dry-run", "--json")
    assert done.code == 0, done.err
    assert _request(done.out)["url"].endswith("/v1/image_to_video")
    help_text = run_cli("video", "--help").out
    assert "--image runs 'runway image-to-video'" in " ".join(help_text.split())
    assert "--video runs 'runway video-to-video'" in " ".join(help_text.split())


def test_no_route_when_no_single_command_takes_every_flag(run_cli: Any,
                                                          tmp_path: Path) -> None:
    """Image and video inputs together fit neither image-to-video nor video-to-video: the
    error names the command that takes the flag, and nothing is sent."""
    still = _png(tmp_path / "still.png")
    done = run_cli("--sandbox", "image-to-video", "x", "--image", str(still), "--video",
                   "https://media.example/a.mp4")
    assert done.code == 2
    assert "no such option --video; 'runway video-to-video' takes --video" in done.err


# --------------------------------------------------------------------------- suggestions


@pytest.mark.parametrize(("argv", "meant"), [
    (("video", "x", "--ration", "16:9"), "did you mean --ratio?"),
    (("image-to-video", "x", "--imag", "a.png"), "did you mean --image?"),
    (("video", "x", "--imag", "a.png"),
     "did you mean --image (it runs 'runway image-to-video')?"),
    (("image", "x", "--image", "a.png"), "did you mean --reference-image or --reference-images?"),
    (("video", "x", "--modle", "gen4.5"), "did you mean --model?"),
])
def test_a_mistyped_flag_gets_the_flag_meant(run_cli: Any, argv: tuple[str, ...],
                                              meant: str) -> None:
    done = run_cli("--sandbox", *argv)
    assert done.code == 2 and meant in done.err, done.err
    assert "Possible options" not in done.err and "--timeout" not in done.err


def test_an_unrelated_flag_gets_no_suggestion(run_cli: Any) -> None:
    done = run_cli("--sandbox", "sound-effect", "rain", "--zzzz", "1")
    assert done.code == 2 and "no such option --zzzz (see" in done.err, done.err


def test_suggestions_by_spelling_and_by_role() -> None:
    """The property behind the messages: a typo of the whole name or of its words, never a
    flag that only shares letters (``--image`` is not ``--timeout``)."""
    flags = ["--prompt-text", "--prompt-image", "--ratio", "--duration", "--timeout",
             "--output-dir", "--output-format", "--no-wait", "--wait"]
    assert suggest_flags("--image", flags) == ["--prompt-image"]
    assert suggest_flags("--ration", flags) == ["--ratio"]
    assert suggest_flags("--ratoi=16:9", flags) == ["--ratio"]
    assert suggest_flags("--dur", flags) == ["--duration"]
    assert suggest_flags("--outputdir", flags) == ["--output-dir"]
    assert suggest_flags("--time", flags) == ["--timeout"]
    assert suggest_flags("--wiat", flags) == ["--wait"]
    assert suggest_flags("--colour", flags) == []
    assert suggest_flags("--", flags) == []


# --------------------------------------------------------------------------- -o FILE

IMAGE = ("image", "a red kite", "--model", "gpt_image_2", "--ratio", "1920:1920")


def _posts(log: Path) -> list[dict[str, Any]]:
    if not log.exists():
        return []
    return [r for r in map(json.loads, log.read_text().splitlines()) if r["method"] == "POST"]


def test_dash_o_names_the_file_and_numbers_several(run_cli: Any, tmp_path: Path) -> None:
    """Before: only ``--output-dir`` existed (``--output-dir clip.png`` made a folder)."""
    kite = tmp_path / "kite.png"
    done = run_cli("--sandbox", *IMAGE, "-o", str(kite))
    assert done.code == 0, done.err
    assert done.out.split() == [str(kite)] and kite.read_bytes()[:4] == b"\x89PNG"

    pair = run_cli("--sandbox", *IMAGE, "--output-count", "2", "--output", str(tmp_path / "pair"),
                   "--json")
    assert pair.code == 0, pair.err
    files = json.loads(pair.out)["files"]
    assert files == [str(tmp_path / "pair-1.png"), str(tmp_path / "pair-2.png")]
    assert all(Path(f).is_file() for f in files)


def test_dash_o_is_checked_before_anything_is_sent(run_cli: Any, tmp_path: Path) -> None:
    log = tmp_path / "requests.jsonl"
    env = {"RUNWAY_SANDBOX_REQUEST_LOG": str(log)}
    taken = tmp_path / "taken.png"
    taken.write_bytes(b"mine")
    for target, says in [(taken, "exists; nothing is replaced"),
                         (tmp_path, "is a directory"),
                         (Path("/proc/no/such/dir/x.png"), "no such file or directory")]:
        done = run_cli("--sandbox", *IMAGE, "-o", str(target), env=env)
        assert done.code == 2 and says in done.err, done.err
    assert taken.read_bytes() == b"mine"
    both = run_cli("--sandbox", *IMAGE, "-o", "a.png", "--output-dir", str(tmp_path), env=env)
    assert both.code == 2 and "not both" in both.err
    assert _posts(log) == []


def test_dash_o_on_call_and_task_get(run_cli: Any, tmp_path: Path) -> None:
    """``call`` and ``task get --wait`` save to the name given as well."""
    from runway_dynamic.sandbox import Sandbox

    body = json.dumps({"model": "gen4_image", "promptText": "a kite", "ratio": "1920:1080"})
    called = run_cli("--sandbox", "call", "text_to_image", "--body", body, "-o",
                     str(tmp_path / "called.png"))
    assert called.code == 0, called.err
    assert (tmp_path / "called.png").is_file()

    with Sandbox(task_seconds=0.05) as sandbox:
        env = {"RUNWAY_BASE_URL": sandbox.base_url, "RUNWAY_API_KEY": "sandbox-test-key"}
        created = run_cli("call", "text_to_image", "--body", body, "--json", env=env)
        assert created.code == 0, created.err
        task_id = json.loads(created.out)["id"]
        got = run_cli("task", "get", task_id, "--wait", "-o", str(tmp_path / "later"),
                      "--poll-interval", "0.05", env=env)
    assert got.code == 0, got.err
    assert got.out.split() == [str(tmp_path / "later.png")]


# --------------------------------------------------------------------------- global options

VIDEO = ("video", "waves", "--ratio", "1280:720", "--duration", "5")


def _headers(done: Any) -> dict[str, str]:
    assert done.code == 0, done.err
    headers: dict[str, str] = _request(done.out)["headers"]
    return headers


def test_headers_and_the_api_version_reach_the_request(run_cli: Any) -> None:
    pinned = BUNDLED.catalog.pinned_headers
    assert pinned, "the bundled spec pins a version header"
    sent = _headers(run_cli("--sandbox", "-H", "X-Trace: t1", "--header=X-Api-Key: s3cr3t-value-9",
                            "--runway-version", "2030-01-01", *VIDEO, "--dry-run", "--json"))
    assert sent["X-Trace"] == "t1"
    assert sent["X-Api-Key"] == "****ue-9"  # a credential-looking header is shown masked
    assert all(sent[name] == "2030-01-01" for name in pinned)
    default = _headers(run_cli("--sandbox", *VIDEO, "--dry-run", "--json"))
    assert all(default[name] != "2030-01-01" for name in pinned)


@pytest.mark.parametrize(("header", "says"), [
    ("Authorization: Bearer rk_from_header_0000", "may not set Authorization"),
    ("x-runway-version: 1999-01-01", "use --runway-version"),
    ("no colon here", "-H needs 'Name: value'"),
    ("X-Bad: one\r\ntwo", "must be one line"),
])
def test_headers_that_would_override_or_inject_are_refused(run_cli: Any, header: str,
                                                           says: str) -> None:
    done = run_cli("--sandbox", "-H", header, *VIDEO, "--dry-run")
    assert done.code == 2 and says in done.err, done.err
    assert "rk_from_header" not in done.err + done.out


def test_profiles_keep_their_own_key_and_settings(run_cli: Any, tmp_path: Path) -> None:
    env = {"RUNWAY_CONFIG_DIR": str(tmp_path / "config")}
    work_key, home_key = "rk_work_aaaaaaaaaaaa1111", "rk_home_bbbbbbbbbbbb2222"
    assert run_cli("auth", "set", "--profile", "work", "--stdin", input=work_key,
                   env=env).code == 0
    assert run_cli("auth", "set", "--stdin", input=home_key, env=env).code == 0
    work = json.loads(run_cli("--profile", "work", "auth", "show", "--json", env=env).out)
    assert work["key"] == "****1111" and work["profile"] == "work"
    assert "profiles/work/credentials.json" in work["source"]
    by_env = json.loads(run_cli("auth", "show", "--json",
                                env={**env, "RUNWAY_PROFILE": "work"}).out)
    assert by_env == work
    default = json.loads(run_cli("auth", "show", "--json", env=env).out)
    assert default["key"] == "****2222" and "profile" not in default

    assert run_cli("--profile", "work", "config", "set", "poll-interval", "2",
                   env=env).code == 0
    assert run_cli("--profile", "work", "config", "get", "poll-interval", env=env).out.strip() \
        == "2.0"
    assert "2.0" not in run_cli("config", "get", "poll-interval", env=env).out

    empty = run_cli("--profile", "travel", *VIDEO, env=env)
    assert empty.code == 1 and "no Runway API key for profile 'travel'" in empty.err
    for done in (work, default):
        assert work_key not in json.dumps(done) and home_key not in json.dumps(done)
    bad = run_cli("--profile", "../etc", "models", env=env)
    assert bad.code == 2 and "profile name" in bad.err


def test_secret_headers_are_masked_in_the_history(run_cli: Any, tmp_path: Path) -> None:
    env = {"RUNWAY_DATA_DIR": str(tmp_path / "data")}
    done = run_cli("--sandbox", "-H", "X-Api-Key: hdr-secret-77777", "image", "a kite",
                   "--model", "gen4_image", "--ratio", "1920:1080", env=env)
    assert done.code == 0, done.err
    listed = run_cli("history", "--json", env=env)
    assert "X-Api-Key: ****" in listed.out and "hdr-secret-77777" not in listed.out
    assert not any(b"hdr-secret-77777" in p.read_bytes()
                   for p in (tmp_path / "data").rglob("*") if p.is_file())


def test_global_options_agree_between_help_and_readme(run_cli: Any) -> None:
    """Every global option ``runway --help`` lists is in the README's list, and back."""
    import re

    help_text = run_cli("--help").out
    section = help_text.split("Global options (before the command):", 1)[1].split("\n\n")[0]
    in_help = {name for line in section.splitlines() if line.startswith("  -")
               for name in re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", line.split("  ")[1])}
    assert {"--profile", "--runway-version", "-H", "--header"} <= in_help
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    paragraph = readme.split("Global options go before the command:", 1)[1].split("\n\n")[0]
    option = r"(?<![\w-])(--?[A-Za-z][\w-]*)"
    in_readme = {name for quoted in re.findall(r"`([^`]+)`", paragraph)
                 if quoted.startswith("-") for name in re.findall(option, quoted)}
    assert in_help == in_readme, (in_help ^ in_readme)


# --------------------------------------------------------------------------- completion


def _complete(run_cli: Any, *words: str, env: dict[str, str] | None = None) -> list[str]:
    done = run_cli("__complete", *words, env=env)
    assert done.code == 0 and done.err == "", done.err
    return done.out.splitlines()


def _help_options(run_cli: Any, *words: str) -> set[str]:
    """The long options of a command's ``--help`` option table (not its prose)."""
    import re

    text = run_cli(*words, "--help").out
    table = text.split("Options:", 1)[1].split("\n\n")[0]
    return {name for line in table.splitlines() if line.startswith("  -")
            for name in re.findall(r"(?<![\w-])(--[a-z][\w.-]*)", line.split("  ")[1])}


@pytest.mark.parametrize("words", [("video",), ("image-to-video",), ("generate", "--kind", "t2v"),
                                   ("call", "text_to_image"), ("task", "get", "ID"),
                                   ("ad-video", "create"), ("avatars", "list")])
def test_completion_offers_exactly_the_flags_the_command_takes(run_cli: Any,
                                                              words: tuple[str, ...]) -> None:
    """Read from the command the dispatcher builds: nothing it lacks (``--all``, ``--kind`` on
    ``video``), nothing it has missed."""
    offered = {w for w in _complete(run_cli, *words, "--") if w.startswith("--")}
    assert offered == _help_options(run_cli, *words)


def test_completion_follows_a_route_and_the_router(run_cli: Any) -> None:
    routed = _complete(run_cli, "video", "--image", "still.png", "--")
    assert "--prompt-image" in routed and "--reference-videos" not in routed
    assert "--kind" in _complete(run_cli, "generate", "--")
    assert "--model" in _complete(run_cli, "generate", "--kind", "video", "--mo")
    assert _complete(run_cli, "video", "--wait", "--mo") == ["--model"]  # a switch takes no value


def test_completion_offers_the_values_of_every_enum_like_option(run_cli: Any,
                                                               tmp_path: Path) -> None:
    from runway_dynamic.cli._command_names import GENERATE_KIND_ALIASES, GENERATE_KINDS
    from runway_dynamic.creative.recipes import AD_MODES, MARKETPLACE_SCOPES, PHOTOSHOOT_MODES

    assert _complete(run_cli, "ad-video", "create", "--mode", "") == list(AD_MODES)
    assert _complete(run_cli, "product-photoshoot", "create", "--mode", "") == \
        list(PHOTOSHOOT_MODES)
    assert _complete(run_cli, "marketplace-cards", "create", "--scope", "") == \
        list(MARKETPLACE_SCOPES)
    assert set(_complete(run_cli, "generate", "--kind", "")) == {*GENERATE_KINDS,
                                                                 *GENERATE_KIND_ALIASES}
    assert _complete(run_cli, "tools", "export", "--format", "o") == ["openai"]
    quality = BUNDLED.catalog.variant("text_to_image", "gpt_image_2")
    assert quality is not None
    choices = quality.field_map["quality"].suggestions
    assert choices and _complete(run_cli, "image", "--model", "gpt_image_2", "--quality", "") == \
        [str(c) for c in choices]
    assert _complete(run_cli, "call", "--body", "") == []  # JSON|@FILE|-: not a list of values

    env = {"RUNWAY_CONFIG_DIR": str(tmp_path / "config")}
    assert run_cli("--profile", "work", "config", "set", "poll-interval", "2", env=env).code == 0
    assert _complete(run_cli, "--profile", "", env=env) == ["work"]
    assert _complete(run_cli, "--profile", "work", "video", "--mo", env=env) == ["--model"]
