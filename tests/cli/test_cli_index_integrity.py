"""The cached index is trusted only for what the spec's digest covers (issue 12 §4).

An edited index file used to be believed: changing its ``servers`` entry sent the next
request, and the API key with it, to another host. Each edit below must be ignored: the
index is rebuilt from the spec and rewritten.
"""

from __future__ import annotations

import json
import marshal
import os
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from cli_support import tiny_spec, write_spec

from runway_dynamic import cache
from runway_dynamic._digest import content_digest
from runway_dynamic.spec import Spec

EVIL = "https://evil.example.test"
HOME = "https://api.example.test"


def _split(path: Path) -> tuple[dict, dict]:
    head, _, payload = path.read_bytes().partition(b"\n")
    header = cache.parse_header(head)
    assert header is not None
    return header, marshal.loads(payload)


def _write(path: Path, header: dict, payload: dict) -> None:
    path.write_bytes(cache.header_line(header["key"], header["sha256"], header["digest"])
                     + b"\n" + marshal.dumps(payload))


def _edit_payload_only(path: Path) -> None:
    """What the issue reproduced: redirect the servers, nothing else."""
    header, payload = _split(path)
    payload["servers"] = [EVIL]
    _write(path, header, payload)


def _edit_and_drop_the_header(path: Path) -> None:
    """An index in an old layout (or one whose header was cut off)."""
    _, payload = _split(path)
    payload["servers"] = [EVIL]
    path.write_bytes(orjson.dumps(payload))


def _edit_payload_sha_and_digest(path: Path) -> None:
    """A payload that says it belongs to another spec, with a digest that matches it."""
    header, payload = _split(path)
    payload["servers"] = [EVIL]
    payload["sha256"] = "0" * 64
    _write(path, {**header, "digest": content_digest(marshal.dumps(payload))}, payload)


def _header_for_another_spec(path: Path) -> None:
    header, payload = _split(path)
    payload["servers"] = [EVIL]
    _write(path, {**header, "key": "f" * 64, "sha256": "f" * 64,
                  "digest": content_digest(marshal.dumps(payload))}, payload)


EDITS: dict[str, Callable[[Path], None]] = {
    "payload edited": _edit_payload_only,
    "old layout": _edit_and_drop_the_header,
    "payload for another spec": _edit_payload_sha_and_digest,
    "header for another spec": _header_for_another_spec,
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_an_edited_index_is_not_used_and_is_rebuilt(run_cli, tmp_path: Path, edit: str) -> None:
    """After any edit the request still goes to the spec's server, and the index on disk is
    the one derived from the spec again."""
    path = write_spec(tmp_path / "tiny.json", tiny_spec(server=HOME))
    first = run_cli("--spec", str(path), "call", "things", "--limit", "1", "--dry-run", "--json")
    assert first.code == 0, first.err
    assert json.loads(first.out)["url"].startswith(HOME)
    index = cache.index_path(Spec.load(path, use_cache=False).document.index_key)
    honest = index.read_bytes()
    EDITS[edit](index)
    assert EVIL.encode() in index.read_bytes()

    again = run_cli("--spec", str(path), "call", "things", "--limit", "1", "--dry-run", "--json")
    assert again.code == 0, again.err
    assert json.loads(again.out)["url"].startswith(HOME)
    assert EVIL not in again.out + again.err
    assert index.read_bytes() == honest


def test_an_untouched_index_is_used_without_deriving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check does not cost the warm start its point: no derivation when it holds."""
    path = write_spec(tmp_path / "tiny.json", tiny_spec())
    cold = Spec.load(path)
    header, payload = _split(cache.index_path(cold.document.index_key))
    assert header["sha256"] == cold.sha256 == payload["sha256"]
    assert header["key"] == cold.document.index_key

    def no_build(*args: object, **kwargs: object) -> None:
        raise AssertionError("a verified index must not be derived again")

    monkeypatch.setattr("runway_dynamic.spec.build_catalog", no_build)
    assert Spec.load(path).catalog.to_dict() == cold.catalog.to_dict()


def test_the_index_folder_stays_bounded(tmp_path: Path) -> None:
    """Every spec (each pull, each --spec file) and package version adds an index: writing
    a new one removes the oldest beyond the limit and any of an earlier layout, never the
    one just written nor a hidden file another process is still writing."""
    first = Spec.load(write_spec(tmp_path / "a.json", tiny_spec(server=HOME)))
    folder = cache.index_path(first.document.index_key).parent
    older = []
    for number in range(cache.MAX_INDEX_FILES + 4):
        made = folder / f"{number:032x}-0.0.0{cache.index_path('x').suffix}"
        made.write_bytes(b"old")
        stamp = 1_000_000 + number
        os.utime(made, (stamp, stamp))
        older.append(made)
    earlier_layout = folder / f"{'e' * 32}-0.0.0.json"
    earlier_layout.write_bytes(b"{}")
    in_progress = folder / ".index.tmp"
    in_progress.write_bytes(b"partial")

    second = Spec.load(write_spec(tmp_path / "b.json", tiny_spec(server=EVIL)))
    written = cache.index_path(second.document.index_key)
    left = {p.name for p in folder.iterdir()}
    assert written.name in left and in_progress.name in left
    assert earlier_layout.name not in left
    indexes = [name for name in left if name.endswith(written.suffix)]
    assert len(indexes) == cache.MAX_INDEX_FILES
    kept = {p.name for p in older} & left
    # the newest older ones stay: the first index (written now-ish) and the newest made
    assert kept == {p.name for p in older[-(cache.MAX_INDEX_FILES - 2):]}
    assert cache.index_path(first.document.index_key).name in left
