"""The shared submit → wait → download helpers of ``runway_dynamic.cli._run`` (in-process)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from cli_client_support import PNG_MAGIC

from runway_dynamic._exceptions import UsageError
from runway_dynamic.cli._context import Invocation
from runway_dynamic.cli._run import (
    RunOptions,
    WaitDisplay,
    resume_command,
)
from runway_dynamic.spec import Spec
from runway_dynamic.tasks import Task
from runway_dynamic.uploads import placeholder_uploader, resolve_body_media


def test_run_option_names_do_not_collide_with_the_spec(bundled_spec: Spec) -> None:
    from runway_dynamic.naming import kebab

    names = {kebab(f.name) for op in bundled_spec.catalog.operations for v in op.variants
             for f in v.fields}
    names |= {kebab(p.name) for op in bundled_spec.catalog.operations for p in op.parameters}
    from runway_dynamic.cli._options import run_options

    assert not names & {name.lstrip("-") for item in run_options() for name in item.names}


def _image_operation(spec: Spec):  # type: ignore[no-untyped-def]
    operation = spec.catalog.operation("text_to_image", "POST")
    assert operation is not None
    for variant in operation.variants:
        refs = variant.field_map.get("referenceImages")
        if refs is not None:
            return operation, variant.key
    pytest.skip("no text_to_image variant with referenceImages")


def test_local_paths_in_nested_media_fields_are_resolved(bundled_spec: Spec,
                                                         tmp_path: Path) -> None:
    operation, key = _image_operation(bundled_spec)
    picture = tmp_path / "cat.png"
    picture.write_bytes(PNG_MAGIC + b"\0" * 16)
    body = {"model": key, "promptText": str(picture),  # a plain text field: left alone
            "referenceImages": [{"uri": str(picture), "tag": "cat"},
                                {"uri": "https://example.com/dog.png", "tag": "dog"}]}
    out = resolve_body_media(operation, key, body, placeholder_uploader)
    assert out["promptText"] == str(picture)
    assert out["referenceImages"][0]["uri"].startswith("data:image/png;base64,")
    assert out["referenceImages"][1]["uri"] == "https://example.com/dog.png"
    assert body["referenceImages"][0]["uri"] == str(picture), "the caller's body is untouched"


def test_a_missing_media_file_names_the_flag(bundled_spec: Spec) -> None:
    operation, key = _image_operation(bundled_spec)
    body = {"model": key, "referenceImages": [{"uri": "missing.png", "tag": "x"}]}
    with pytest.raises(UsageError, match=r"--reference-images\[0\]\.uri.*missing\.png"):
        resolve_body_media(operation, key, body, placeholder_uploader,
                           lambda name: "--reference-images")


def test_files_too_big_to_inline_are_uploaded(bundled_spec: Spec, tmp_path: Path) -> None:
    operation, key = _image_operation(bundled_spec)
    variant = operation.variant(key)
    assert variant is not None
    big = tmp_path / "big.png"
    big.write_bytes(PNG_MAGIC + b"\0" * 8_000_000)
    uploaded: list[Path] = []

    def uploader(path: Path) -> str:
        uploaded.append(path)
        return "runway://uploaded/big"

    out = resolve_body_media(operation, key, {"model": key, "referenceImages": [
        {"uri": str(big), "tag": "big"}]}, uploader)
    assert out["referenceImages"][0]["uri"] == "runway://uploaded/big"
    assert uploaded == [big]


def test_resume_command_quotes_and_keeps_what_matters() -> None:
    invocation = Invocation(spec_option="my spec.json")
    options = RunOptions(download=True, output_dir="out dir")
    assert resume_command(invocation, "abc-1", options) == (
        "runway --spec 'my spec.json' task get abc-1 --wait --download --output-dir 'out dir'")
    assert resume_command(Invocation(), "abc-1", RunOptions(wait=True)) == (
        "runway task get abc-1 --wait")


@pytest.mark.parametrize("kwargs", [{"timeout": 0}, {"poll_interval": -1},
                                    {"retry_on_internal_error": -1},
                                    {"retry_backoff_seconds": -0.5}])
def test_bad_run_options_are_usage_errors(kwargs: dict[str, float]) -> None:
    with pytest.raises(UsageError):
        RunOptions(**kwargs).check()  # type: ignore[arg-type]


def test_download_implies_wait_and_default_dir() -> None:
    options = RunOptions.pop({"download": True, "other": 1})
    assert options.wait and options.directory == Path("runway-output")


def test_plain_progress_lines_change_with_status_or_ten_percent() -> None:
    stream = io.StringIO()
    with WaitDisplay(stream=stream, rich=False) as display:
        display.submitted(Task(id="t1"))
        for status, progress in [("PENDING", None), ("PENDING", None), ("RUNNING", 0.11),
                                 ("RUNNING", 0.12), ("RUNNING", 0.55), ("SUCCEEDED", None)]:
            display.update(status, progress, 1.0)
    lines = stream.getvalue().splitlines()
    assert lines == ["runway: task t1 submitted", "runway: task t1: PENDING (1s)",
                     "runway: task t1: RUNNING 11% (1s)", "runway: task t1: RUNNING 55% (1s)",
                     "runway: task t1: SUCCEEDED (1s)"]


def test_quiet_display_prints_nothing() -> None:
    stream = io.StringIO()
    with WaitDisplay(stream=stream, quiet=True) as display:
        display.submitted(Task(id="t1"))
        display.update("RUNNING", 0.5, 1.0)
    assert stream.getvalue() == "" and display.task_id == "t1"


def test_rich_display_draws_status_progress_and_elapsed() -> None:
    stream = io.StringIO()
    with WaitDisplay(stream=stream, rich=True) as display:
        display.submitted(Task(id="t1"))
        display.update("RUNNING", 0.5, 1.0)
        display.update("SUCCEEDED", None, 2.0)
    text = stream.getvalue()
    assert "t1 SUCCEEDED" in text and "100%" in text and "0:00:0" in text


def test_local_media_lists_paths_only_where_the_schema_takes_media(bundled_spec: Spec,
                                                                   tmp_path: Path) -> None:
    from runway_dynamic.uploads import local_media, placeholder_media, replace_media

    operation, key = _image_operation(bundled_spec)
    small, big = tmp_path / "small.png", tmp_path / "big.png"
    small.write_bytes(PNG_MAGIC + b"\0" * 16)
    big.write_bytes(PNG_MAGIC + b"\0" * 8_000_000)
    body = {"model": key, "promptText": str(small),
            "referenceImages": [{"uri": str(small), "tag": "small"},
                                {"uri": str(big), "tag": "large"},
                                {"uri": "https://example.com/c.png", "tag": "remote"}]}
    found = local_media(operation, key, body)
    assert [m.where for m in found] == [("referenceImages", 0, "uri"),
                                        ("referenceImages", 1, "uri")]
    stand_ins = {m.where: placeholder_media(m) for m in found}
    assert stand_ins[("referenceImages", 0, "uri")].startswith("data:image/png;base64,")
    assert stand_ins[("referenceImages", 1, "uri")] == "runway://upload-pending/big.png"
    replaced = replace_media(body, stand_ins)
    assert replaced["referenceImages"][1] == {"uri": "runway://upload-pending/big.png",
                                              "tag": "large"}
    assert body["referenceImages"][1]["uri"] == str(big), "the input is not changed"
    problems = bundled_spec.preflight("text_to_image", replaced)
    assert not [p for p in problems if (p.field or "").startswith("referenceImages")], problems


def test_async_body_media_resolution_matches_the_sync_one(bundled_spec: Spec,
                                                          tmp_path: Path) -> None:
    import asyncio

    from runway_dynamic.uploads import aresolve_body_media

    operation, key = _image_operation(bundled_spec)
    picture = tmp_path / "cat.png"
    picture.write_bytes(PNG_MAGIC + b"\0" * 16)
    body = {"model": key, "referenceImages": [{"uri": str(picture), "tag": "cat"}]}

    async def never(path: Path) -> str:
        raise AssertionError("a small file is inlined, not uploaded")

    expected = resolve_body_media(operation, key, body, placeholder_uploader)
    assert asyncio.run(aresolve_body_media(operation, key, body, never)) == expected
