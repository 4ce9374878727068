"""Output naming, no-clobber and crash-safe writes; media arguments; upload bodies."""

from __future__ import annotations

import asyncio
import base64
import os
import stat
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from runway_dynamic._exceptions import UsageError
from runway_dynamic.catalog import MediaFacts
from runway_dynamic.downloads import (
    awrite_stream,
    extension_for,
    output_filename,
    write_stream,
)
from runway_dynamic.spec import Spec
from runway_dynamic.uploads import (
    data_uri_length,
    parse_upload_slot,
    plan_media,
    resolve_media,
    upload_body,
)

WHEN = datetime(2025, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 100


def test_output_filename_pattern() -> None:
    tid = "0f6d7c1e-8a2b-4c3d-9e4f-5a6b7c8d9e0f"
    assert output_filename("runway", tid, ".mp4", when=WHEN) == (
        "runway-20250304-050607-0f6d7c1e8a2b4c3d9e4f5a6b7c8d9e0f.mp4"
    )
    assert output_filename("cat", tid, ".png", when=WHEN, index=2).endswith("9e0f-2.png")
    local = datetime(2025, 3, 4, 7, 6, 7).astimezone()  # any zone → rendered in UTC
    assert output_filename("p", "t", ".x", when=local)[2:10] == local.astimezone(
        timezone.utc
    ).strftime("%Y%m%d")


@pytest.mark.parametrize(
    ("content_type", "url", "ext"),
    [
        ("image/png", "https://x/a", ".png"),
        ("image/jpeg; charset=binary", "https://x/a.png", ".jpg"),
        ("video/mp4", "https://x/a.bin", ".mp4"),
        ("audio/mpeg", "https://x/a", ".mp3"),
        ("audio/wav", "https://x/a", ".wav"),
        ("application/octet-stream", "https://x/out/video.MP4?sig=abc", ".mp4"),
        (None, "https://x/out/clip.webm", ".webm"),
        (None, "https://x/out/noext", ".bin"),
        ("", "https://x/out/a.weird-ext!", ".bin"),
    ],
)
def test_extension_from_content_type_then_url(content_type: str | None, url: str, ext: str) -> None:
    assert extension_for(content_type, url) == ext


def test_existing_files_are_never_overwritten(tmp_path: Path) -> None:
    target = tmp_path / "out.png"
    target.write_bytes(b"old")
    first = write_stream(iter([b"new1"]), target)
    second = write_stream(iter([b"new2"]), target)
    assert target.read_bytes() == b"old"
    assert (first.name, second.name) == ("out.2.png", "out.3.png")
    assert first.read_bytes() == b"new1" and second.read_bytes() == b"new2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.2.png", "out.3.png", "out.png"]


def test_no_hard_links_falls_back_to_replace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_link(src: object, dst: object) -> None:
        raise OSError(1, "Operation not permitted")

    monkeypatch.setattr("os.link", no_link)
    monkeypatch.setattr("runway_dynamic._files._UNNAMED", False)  # a named .part to move
    (tmp_path / "a.png").write_bytes(b"old")
    placed = write_stream(iter([b"new"]), tmp_path / "a.png")
    assert placed.name == "a.2.png" and placed.read_bytes() == b"new"
    assert (tmp_path / "a.png").read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.2.png", "a.png"]  # no .part


def broken_stream() -> Iterator[bytes]:
    yield b"half of "
    raise ConnectionResetError("peer went away")


def interrupted_stream() -> Iterator[bytes]:
    yield b"half"
    raise KeyboardInterrupt


@pytest.mark.parametrize("stream", [broken_stream, interrupted_stream])
def test_an_interrupted_write_leaves_nothing(tmp_path: Path, stream: object) -> None:
    with pytest.raises((ConnectionResetError, KeyboardInterrupt)):
        write_stream(stream(), tmp_path / "video.mp4")  # type: ignore[operator]
    assert list(tmp_path.iterdir()) == []


def test_without_unnamed_files_a_hidden_part_file_stands_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Off Linux (no O_TMPFILE) bytes go to a hidden ``.part`` beside the target: the same
    promises, complete or absent, never over another file, nothing left on an error."""
    monkeypatch.setattr("runway_dynamic._files._UNNAMED", False)
    (tmp_path / "a.png").write_bytes(b"old")
    placed = write_stream(iter([b"new"]), tmp_path / "a.png")
    assert placed.name == "a.2.png" and placed.read_bytes() == b"new"
    with pytest.raises(ConnectionResetError):
        write_stream(broken_stream(), tmp_path / "b.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.2.png", "a.png"]


def test_async_write_is_the_same(tmp_path: Path) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"ab"
        yield b"cd"

    async def broken() -> AsyncIterator[bytes]:
        yield b"ab"
        raise ConnectionResetError

    path = asyncio.run(awrite_stream(chunks(), tmp_path / "x.wav"))
    assert path.read_bytes() == b"abcd"
    with pytest.raises(ConnectionResetError):
        asyncio.run(awrite_stream(broken(), tmp_path / "y.wav"))
    assert [p.name for p in tmp_path.iterdir()] == ["x.wav"]


# --------------------------------------------------------------------------- media values

IMAGE = MediaFacts(("https", "runway", "data"), "image/", 5_000)


def no_upload(path: Path) -> str:
    raise AssertionError(f"unexpected upload of {path}")


@pytest.mark.parametrize(
    "value",
    [
        "https://example.com/a.png",
        "runway://abc",
        "data:image/png;base64,AAAA",
        "HTTPS://EXAMPLE.COM/A.PNG",
        "http://example.com/a.png",
    ],
)
def test_uris_pass_unchanged(value: str) -> None:
    assert resolve_media(value, IMAGE, no_upload) == value


def test_small_file_goes_inline(tmp_path: Path) -> None:
    path = tmp_path / "cat.png"
    path.write_bytes(PNG)
    got = resolve_media(str(path), IMAGE, no_upload)
    assert got == "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert len(got) == data_uri_length(len(PNG), "image/png")


def test_file_over_the_data_limit_is_uploaded(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    path.write_bytes(b"\0" * 4_000)  # 5,356 chars as base64 > 5,000
    uploaded: list[Path] = []

    def uploader(p: Path) -> str:
        uploaded.append(p)
        return "runway://uploaded"

    assert resolve_media(str(path), IMAGE, uploader) == "runway://uploaded"
    assert uploaded == [path]


def test_media_of_another_family_is_refused_before_upload(tmp_path: Path) -> None:
    """A video for an image field fails locally, naming both; a name that shows no media
    type is uploaded and left to the server."""
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"\0" * 10)
    with pytest.raises(UsageError, match=r"clip\.mp4: is video/mp4; this field takes image"):
        plan_media(str(path), IMAGE)
    unknown = tmp_path / "blob.unknownext"
    unknown.write_bytes(b"\0")
    assert plan_media(str(unknown), IMAGE).action == "upload"


def test_field_without_runway_or_data_refuses_local_files(tmp_path: Path) -> None:
    path = tmp_path / "cat.png"
    path.write_bytes(PNG)
    with pytest.raises(UsageError, match="URL"):
        plan_media(str(path), MediaFacts(("https",), None, None))


def test_missing_or_unreadable_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"--prompt-image.*nope\.png"):
        resolve_media(str(tmp_path / "nope.png"), IMAGE, no_upload, label="--prompt-image")
    with pytest.raises(UsageError):
        resolve_media(str(tmp_path), IMAGE, no_upload)  # a directory


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs enforced permissions")
def test_unreadable_file_is_a_usage_error(tmp_path: Path) -> None:
    locked = tmp_path / "locked.png"
    locked.write_bytes(PNG)
    locked.chmod(0)
    try:
        with pytest.raises(UsageError, match="cannot read"):
            resolve_media(str(locked), IMAGE, no_upload)
    finally:
        locked.chmod(0o600)


def test_upload_body_reads_the_type_from_the_spec(official_spec: Spec) -> None:
    op = official_spec.catalog.operation("uploads", "POST")
    assert upload_body(op, "cat.png") == {"filename": "cat.png", "type": "ephemeral"}
    assert upload_body(None, "cat.png")["type"] == "ephemeral"


def test_upload_answer_is_checked() -> None:
    slot = parse_upload_slot(
        {"uploadUrl": "https://u", "fields": {"k": "v"}, "runwayUri": "runway://x"}
    )
    assert (slot.upload_url, dict(slot.fields), slot.runway_uri) == (
        "https://u",
        {"k": "v"},
        "runway://x",
    )
    from runway_dynamic._exceptions import APIError

    with pytest.raises(APIError):
        parse_upload_slot({"uploadUrl": "https://u"})


def test_downloaded_files_get_ordinary_permissions(tmp_path: Path) -> None:
    """Outputs are media to share, not secrets: mode is 0666 less the umask, not mkstemp's 0600."""
    mask = os.umask(0o022)
    try:
        saved = write_stream([b"data"], tmp_path / "clip.mp4")
    finally:
        os.umask(mask)
    assert stat.S_IMODE(saved.stat().st_mode) == 0o644
