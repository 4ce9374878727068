"""The cached index is trusted only for what the spec's digest covers (issue 12 §4).

An edited index file used to be believed: changing its ``servers`` entry sent the next
request, and the API key with it, to another host. Each edit below must be ignored: the
index is rebuilt from the spec and rewritten.
"""

from __future__ import annotations

import json
import marshal
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
