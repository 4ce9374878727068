"""Small synthetic specs shared by the CLI and command tests (the test corpus of specs,
beside the bundled one and Runway's official snapshot)."""

from __future__ import annotations

from typing import Any


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


#: Body fields named like the tool's own options (call's, the run options, global ones).
OWN_NAMED = {
    "timeout": {"type": "number"}, "list": {"type": "boolean"}, "wait": {"type": "boolean"},
    "method": {"type": "string"}, "json": {"type": "string"}, "dryRun": {"type": "boolean"},
    "version": {"type": "integer"}, "body": {"type": "string"}, "format": {"type": "string"},
    "output": {"type": "string"}, "outputDir": {"type": "string"}, "spec": {"type": "string"},
    "apiKey": {"type": "string"}, "sandbox": {"type": "boolean"}, "kind": {"type": "string"},
    "all": {"type": "boolean"}, "soulId": {"type": "string"}, "download": {"type": "boolean"},
    "noAudio": {"type": "boolean"}, "audio": {"type": "boolean"},  # --audio/--no-audio
    "pollInterval": {"type": "number"},
}


def colliding_spec() -> dict[str, Any]:
    """``POST /v1/make`` creates a task (its answer has an id, read at ``tasks/{id}``);
    model m1 has every field of :data:`OWN_NAMED`. ``GET /v1/things`` pages with a cursor
    and has query parameters named ``format``, ``all`` and ``json``."""
    m1 = _model_branch("m1", {"promptText": {"type": "string"}, **OWN_NAMED}, ["promptText"])
    m2 = _model_branch("m2", {"promptText": {"type": "string"}, "method": {"type": "integer"}},
                 ["promptText"])
    answer = {"200": {"description": "ok", "content": {"application/json": {"schema": {
        "type": "object", "properties": {"id": {"type": "string"},
                                         "status": {"type": "string"}}}}}}}
    return {
        "openapi": "3.1.0", "info": {"title": "Collide", "version": "1"},
        "servers": [{"url": "https://api.example.test"}],
        "paths": {
            "/v1/make": {"post": {
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "oneOf": [m1, m2], "discriminator": {"propertyName": "model"}}}}},
                "responses": answer}},
            "/v1/tasks/{id}": {"get": {
                "parameters": [{"name": "id", "in": "path", "required": True,
                                "schema": {"type": "string"}}],
                "responses": answer}},
            "/v1/things": {"get": {
                "parameters": [{"name": name, "in": "query", "schema": schema} for name, schema
                               in (("cursor", {"type": "string"}),
                                   ("format", {"type": "string", "enum": ["a", "b"]}),
                                   ("all", {"type": "boolean"}), ("json", {"type": "string"}))],
                "responses": {"200": {"description": "ok", "content": {"application/json": {
                    "schema": {"type": "object", "properties": {
                        "data": {"type": "array"}, "nextCursor": {"type": "string"}}}}}}}}},
        },
    }
