"""Helpers shared by the CLI tests: golden files, writing specs (the small synthetic specs
live in tests/spec_corpus.py, shared with the command tests)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from spec_corpus import tiny_spec

__all__ = ["GOLDEN", "check_golden", "laughs", "tiny_spec", "write_spec"]

GOLDEN = Path(__file__).parent / "golden"


def check_golden(name: str, text: str) -> None:
    """Compare with tests/cli/golden/NAME; ``UPDATE_GOLDEN=1`` rewrites the file instead."""
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    if not path.is_file():
        pytest.fail(f"golden file {path} is missing: run with UPDATE_GOLDEN=1 and review it")
    assert text == path.read_text(encoding="utf-8"), (
        f"output differs from {path}; if the change is intended, rerun with UPDATE_GOLDEN=1 "
        "and review the diff")


def write_spec(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def laughs(levels: int = 9, fan: int = 9) -> str:
    """The classic YAML alias bomb (~650 bytes): ``fan ** levels`` strings when expanded."""
    lines = ["openapi: 3.1.0", "info: {title: t, version: '1'}", "paths: {}",
             "x-0: &a0 [" + ", ".join(["lol"] * fan) + "]"]
    for level in range(1, levels):
        lines.append(f"x-{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * fan) + "]")
    return "\n".join(lines) + "\n"
