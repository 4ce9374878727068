"""Helpers shared by the CLI tests: golden files and small synthetic specs."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

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


def _model_branch(model: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"model": {"type": "string", "const": model}, **properties},
        "required": ["model", *required],
        "additionalProperties": False,
    }


def tiny_spec(
    *,
    version: str = "2030-01-01",
    m1_ratios: tuple[str, ...] = ("1280:720", "720:1280"),
    extra_model: bool = False,
    server: str = "https://api.example.test",
    client_ops: bool = False,
) -> dict[str, Any]:
    """A small OpenAPI 3.1 document exercising every flag kind and reserved-name clash.

    ``POST /v1/make`` takes models m1/m2 (m3 with ``extra_model``); m1 has body fields named
    ``json``, ``body`` and ``spec`` that collide with the CLI's own options. ``GET /v1/things``
    has an array query parameter (``ids``) and a query parameter named ``json``.
    ``client_ops`` adds the operations the client calls itself (tasks/{id}, uploads), so
    that ``spec pull`` accepts the document as an update of another tiny spec.
    """
    m1 = _model_branch("m1", {
        "promptText": {"type": "string", "minLength": 1, "maxLength": 100},
        "ratio": {"type": "string", "enum": list(m1_ratios)},
        "count": {"type": "integer", "minimum": 1, "maximum": 4},
        "loud": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "meta": {"type": "object", "properties": {"a": {"type": "integer"}}},
        "json": {"type": "string"},
        "body": {"type": "string"},
        "spec": {"type": "string"},
    }, ["promptText", "ratio"])
    m2 = _model_branch("m2", {
        "promptText": {"type": "string"},
        "duration": {"type": "number"},
    }, ["promptText"])
    branches = [m1, m2]
    if extra_model:
        branches.append(_model_branch("m3", {"promptText": {"type": "string"}}, ["promptText"]))
    version_header = {"name": "X-Api-Version", "in": "header", "required": True,
                      "schema": {"type": "string", "const": version}}
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "Tiny", "version": version},
        "servers": [{"url": server}],
        "paths": {
            "/v1/make": {"post": {
                "parameters": [version_header],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "oneOf": branches, "discriminator": {"propertyName": "model"}}}}},
                "responses": {"200": {"description": "ok", "content": {"application/json": {
                    "schema": {"type": "object", "properties": {"id": {"type": "string"}}}}}}},
            }},
            "/v1/things": {"get": {
                "parameters": [
                    version_header,
                    {"name": "ids", "in": "query", "schema": {"type": "array",
                                                              "items": {"type": "string"}}},
                    {"name": "json", "in": "query", "schema": {"type": "string"}},
                    {"name": "limit", "in": "query", "required": True,
                     "schema": {"type": "integer", "minimum": 1}},
                ],
                "responses": {"200": {"description": "ok"}},
            }},
            "/v1/things/{id}": {
                "parameters": [{"name": "id", "in": "path", "required": True,
                                "schema": {"type": "string"}}],
                "get": {"responses": {"200": {"description": "ok"}}},
                "delete": {"responses": {"204": {"description": "gone"}}},
            },
        },
    }
    if client_ops:
        ok = {"responses": {"200": {"description": "ok"}}}
        document["paths"]["/v1/tasks/{id}"] = {
            "parameters": [{"name": "id", "in": "path", "required": True,
                            "schema": {"type": "string"}}],
            "get": ok, "delete": ok}
        document["paths"]["/v1/uploads"] = {"post": ok}
    return document


def laughs(levels: int = 9, fan: int = 9) -> str:
    """The classic YAML alias bomb (~650 bytes): ``fan ** levels`` strings when expanded."""
    lines = ["openapi: 3.1.0", "info: {title: t, version: '1'}", "paths: {}",
             "x-0: &a0 [" + ", ".join(["lol"] * fan) + "]"]
    for level in range(1, levels):
        lines.append(f"x-{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * fan) + "]")
    return "\n".join(lines) + "\n"
