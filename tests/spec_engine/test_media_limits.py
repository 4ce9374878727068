"""Media limits are read from the spec's media fields and upload body, for any spec shape."""

from __future__ import annotations

from typing import Any

from runway_dynamic._constants import UPLOAD_MAX_BYTES
from runway_dynamic.catalog import build_catalog
from runway_dynamic.media_limits import human_size, media_limits
from runway_dynamic.spec import Spec


def _uri(family: str, max_length: int) -> dict[str, Any]:
    return {"anyOf": [
        {"type": "string", "pattern": "^https:\\/\\/.*", "maxLength": 2048},
        {"type": "string", "pattern": "^runway:\\/\\/.*", "maxLength": 5000},
        {"type": "string", "pattern": f"^data:{family}\\/.*", "maxLength": max_length},
    ]}


def _spec(upload_properties: dict[str, Any]) -> dict[str, Any]:
    """Media three levels deep (array of objects), and an upload endpoint."""
    nested = {"type": "array", "items": {"type": "object", "properties": {
        "uri": _uri("audio", 300)}}}
    body = {"type": "object", "properties": {"promptImage": _uri("image", 100),
                                             "refs": nested}}
    upload = {"type": "object", "properties": upload_properties}

    def post(schema: dict[str, Any]) -> dict[str, Any]:
        return {"post": {"requestBody": {"content": {"application/json": {"schema": schema}}},
                         "responses": {"200": {"description": "ok"}}}}

    return {"openapi": "3.1.0", "info": {"title": "t", "version": "1"},
            "paths": {"/v1/image_to_thing": post(body), "/v1/uploads": post(upload)}}


def test_families_and_data_uri_caps_come_from_every_nested_media_field() -> None:
    limits = media_limits(build_catalog(_spec({"filename": {"type": "string"}})))
    assert limits.upload_types == ("audio/", "image/")
    assert dict(limits.data_uri_max) == {"image/": 100, "audio/": 300}
    assert limits.data_uri_limit("audio/mpeg") == 300 and limits.data_uri_limit("video/mp4") is None
    assert (limits.upload_max_bytes, limits.upload_max_from_spec) == (UPLOAD_MAX_BYTES, False)


def test_an_upload_size_the_spec_declares_is_the_cap() -> None:
    declared = {"filename": {"type": "string"},
                "contentLength": {"type": "integer", "minimum": 1, "maximum": 1000}}
    limits = media_limits(build_catalog(_spec(declared)))
    assert (limits.upload_max_bytes, limits.upload_max_from_spec) == (1000, True)
    assert limits.upload_problem(1000, "image/png") is None
    assert limits.upload_problem(1001, "image/png") == (
        "the file is 1001 bytes; an upload takes at most 1000 bytes")


def test_type_problems_name_the_file_and_the_families(bundled_spec: Spec) -> None:
    limits = media_limits(bundled_spec.catalog)
    assert limits.type_problem("clip.mp4") is None and limits.type_problem("a.WAV") is None
    problem = limits.type_problem("notes.txt")
    assert problem and "notes.txt" in problem and "text/plain" in problem
    assert limits.upload_problem(10, "text/plain")
    assert media_limits(build_catalog({"openapi": "3.1.0", "info": {}, "paths": {}})) \
        .type_problem("cat.png"), "a spec without media fields takes no upload"


def test_sizes_read_as_people_write_them() -> None:
    assert [human_size(n) for n in (512, 1536, 5 * 2**20, 200 * 2**20, 2 * 2**30)] == [
        "512 bytes", "1.5 KB", "5 MB", "200 MB", "2 GB"]
