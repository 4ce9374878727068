"""Reading jobs files: names, flags and aliases map to spec fields; every bad line is
reported with its number, field and fix before anything is sent."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from batch_support import PNG_MAGIC, image_model, write_jsonl
from hypothesis import assume, given
from schema_strategies import bodies, examples

from runway_dynamic.batch import JobsFileError, load_jobs
from runway_dynamic.batch.jobfile import parse_jobs
from runway_dynamic.catalog import CREATES_TASK, Variant
from runway_dynamic.cli.batch_cmd import job_flags
from runway_dynamic.sources import bundled_spec_path
from runway_dynamic.spec import Spec

_SPEC = Spec.from_bytes(bundled_spec_path().read_bytes())
TASK_VARIANTS = [
    pytest.param(op.endpoint, v.key, id=f"{op.endpoint} {v.key or '-'}")
    for op in _SPEC.catalog.operations if op.kind == CREATES_TASK
    for v in op.variants
]


def _variant(spec: Spec, endpoint: str, key: str | None) -> Variant:
    found = spec.catalog.variant(endpoint, key) if key else None
    if found is None:
        op = spec.catalog.operation(endpoint, "POST")
        assert op is not None
        found = op.variants[0]
    return found


def _problems(error: JobsFileError) -> list[tuple[int, str | None]]:
    return [(p.line, p.field) for p in error.problems]


def test_jsonl_and_csv_name_fields_by_spec_name_flag_or_alias(bundled_spec: Spec,
                                                              tmp_path: Path) -> None:
    model, ratio = image_model(bundled_spec)
    write_jsonl(tmp_path / "a.jsonl", [
        {"endpoint": "text_to_image", "model": model, "promptText": "one", "ratio": ratio},
        {"endpoint": "/v1/text_to_image", "--model": model, "--prompt-text": "two",
         "ratio": ratio, "seed": 7},
        {"endpoint": "text-to-image", "model": model, "prompt": "three", "ratio": ratio},
        {"endpoint": "text_to_image", "id": "hero shot",
         "body": {"model": model, "promptText": "four", "ratio": ratio}},
    ])
    (tmp_path / "a.csv").write_text(
        "endpoint,model,prompt-text,--ratio,seed,id\n"
        f"text_to_image,{model},one,{ratio},,\n"
        f"text_to_image,{model},two,{ratio},7,\n"
        f'text_to_image,{model},"three, with a comma",{ratio},,\n'
        f"text_to_image,{model},four,{ratio},,hero shot\n", encoding="utf-8")
    from_jsonl = load_jobs(tmp_path / "a.jsonl", bundled_spec).jobs
    from_csv = load_jobs(tmp_path / "a.csv", bundled_spec).jobs
    expected = [{"model": model, "promptText": "one", "ratio": ratio},
                {"model": model, "promptText": "two", "ratio": ratio, "seed": 7},
                {"model": model, "promptText": "three", "ratio": ratio},
                {"model": model, "promptText": "four", "ratio": ratio}]
    assert [dict(j.body) for j in from_jsonl] == expected
    assert [dict(j.body) for j in from_csv][1]["seed"] == 7, "CSV cells take the field's type"
    assert from_csv[2].body["promptText"] == "three, with a comma"
    assert [j.key for j in from_jsonl] == ["job-0001", "job-0002", "job-0003", "hero-shot"]
    assert [j.line for j in from_csv] == [2, 3, 4, 5]
    assert {j.endpoint for j in from_jsonl + from_csv} == {"text_to_image"}


def test_every_bad_line_is_reported_at_once_with_line_field_and_fix(bundled_spec: Spec,
                                                                    tmp_path: Path) -> None:
    model, ratio = image_model(bundled_spec)
    (tmp_path / "bad.csv").write_text(
        "id,endpoint,model,prompt,ratio,seed,promptImage,duration\n"
        f"ok,text_to_image,{model},fine,{ratio},,,\n"                 # line 2: fine
        f"b,text_to_image,{model},x,999:1,seven,,\n"                  # 3: ratio and seed
        f"c,image_to_video,gen4.5,x,1280:720,,missing.png,5\n"        # 4: no such file
        f"ok,text_to_image,{model},again,{ratio},,,\n"                # 5: repeated id
        f"e,txt_to_image,{model},x,{ratio},,,\n"                      # 6: unknown endpoint
        f"f,text_to_image,,x,{ratio},,,\n", encoding="utf-8")         # 7: no model
    with pytest.raises(JobsFileError) as caught:
        load_jobs(tmp_path / "bad.csv", bundled_spec)
    error = caught.value
    assert sorted(_problems(error)) == sorted([
        (3, "ratio"), (3, "seed"), (4, "promptImage"), (5, "id"), (6, "endpoint"),
        (7, "model")])
    text = str(error)
    assert "5 of 6 job line(s) failed the check; nothing was sent" in text
    assert "line 3: seed takes an integer here, got 'seven'" in text  # spec names only
    assert "closest accepted ratios" in text
    assert "missing.png" in text and "did you mean text_to_image" in text
    assert "already used on line 2" in text and "missing required field model" in text
    assert error.exit_code == 2
    assert error.to_dict()["problems"][0]["line"] == 3


def test_unknown_fields_are_errors_with_a_suggestion(bundled_spec: Spec,
                                                     tmp_path: Path) -> None:
    model, ratio = image_model(bundled_spec)
    path = write_jsonl(tmp_path / "typo.jsonl", [
        {"endpoint": "text_to_image", "model": model, "promt": "x", "ratio": ratio}])
    with pytest.raises(JobsFileError) as caught:
        load_jobs(path, bundled_spec)
    assert (1, "promt") in _problems(caught.value)
    assert "did you mean promptText?" in str(caught.value)
    with pytest.raises(JobsFileError) as named:
        load_jobs(path, bundled_spec, flags=job_flags)  # the CLI's names beside them
    assert "did you mean promptText (--prompt-text)?" in str(named.value)


def test_unknown_models_pass_with_a_warning(bundled_spec: Spec, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "new.jsonl", [
        {"endpoint": "text_to_image", "model": "model_from_tomorrow", "anything": 1}])
    found = load_jobs(path, bundled_spec)
    assert [dict(j.body) for j in found.jobs] == [{"model": "model_from_tomorrow",
                                                   "anything": 1}]
    assert "not in the spec" in str(found.warnings[0])


def test_skip_invalid_keeps_the_good_lines_and_lists_the_rest(bundled_spec: Spec,
                                                              tmp_path: Path) -> None:
    model, ratio = image_model(bundled_spec)
    path = tmp_path / "mixed.jsonl"
    path.write_text(json.dumps({"endpoint": "text_to_image", "model": model,
                                "promptText": "a", "ratio": ratio}) + "\n"
                    "# a comment, skipped\n\n{broken\n"
                    + json.dumps(["not", "an", "object"]) + "\n", encoding="utf-8")
    found = load_jobs(path, bundled_spec, skip_invalid=True)
    assert [j.line for j in found.jobs] == [1]
    assert [(p.line, p.message.split(" (")[0]) for p in found.skipped] == [
        (4, "not valid JSON"), (5, "a job line must be a JSON object")]


def test_defaults_fill_lines_that_name_no_endpoint_or_model(bundled_spec: Spec) -> None:
    model, ratio = image_model(bundled_spec)
    found = parse_jobs(f"promptText,ratio\nhello,{ratio}\n", bundled_spec, fmt="csv",
                       endpoint="text_to_image", model=model)
    assert dict(found.jobs[0].body) == {"promptText": "hello", "ratio": ratio, "model": model}
    with pytest.raises(JobsFileError, match="no endpoint"):
        parse_jobs(f"promptText,ratio\nhello,{ratio}\n", bundled_spec, fmt="csv")


def test_local_media_are_found_from_the_jobs_file_and_checked(bundled_spec: Spec,
                                                              tmp_path: Path) -> None:
    shots = tmp_path / "shots"
    shots.mkdir()
    (shots / "p1.png").write_bytes(PNG_MAGIC + b"\0" * 32)
    job = {"endpoint": "image_to_video", "model": "gen4.5", "promptText": "pan",
           "ratio": "1280:720", "duration": 5, "promptImage": "shots/p1.png"}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    found = load_jobs(write_jsonl(tmp_path / "j.jsonl", [job]), bundled_spec)
    assert found.jobs[0].body["promptImage"] == str(shots / "p1.png"), "absolute, for resumes"
    assert json.dumps(job)  # the caller's line is unchanged
    with pytest.raises(JobsFileError, match="is not a file"):
        load_jobs(write_jsonl(elsewhere / "j.jsonl", [job]), bundled_spec)


@pytest.mark.parametrize(("text", "fmt", "words"), [
    ("", "jsonl", "no jobs"),
    ("endpoint,model\n", "csv", "no jobs"),
    ("endpoint,model,model\ntext_to_image,a,b\n", "csv", "repeated column(s) model"),
    ('endpoint,model\n"unterminated', "csv", "unreadable CSV"),
    ('endpoint,model\n"a"b,c\n', "csv", "unreadable CSV"),
])
def test_files_without_usable_jobs_are_refused(bundled_spec: Spec, text: str, fmt: str,
                                               words: str) -> None:
    with pytest.raises(JobsFileError, match=words.replace("(", r"\(").replace(")", r"\)")):
        parse_jobs(text, bundled_spec, fmt=fmt)


def test_a_missing_or_binary_jobs_file_is_a_clear_error(bundled_spec: Spec,
                                                        tmp_path: Path) -> None:
    with pytest.raises(Exception, match="cannot read jobs file"):
        load_jobs(tmp_path / "nope.jsonl", bundled_spec)
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00junk")
    with pytest.raises(Exception, match="is not UTF-8"):
        load_jobs(tmp_path / "bin.csv", bundled_spec)


# --------------------------------------------------------------------------- properties


def _csv_text(body: dict[str, Any], endpoint: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    names = ["endpoint", *body]
    writer.writerow(names)
    writer.writerow([endpoint, *(v if isinstance(v, str) else json.dumps(v)
                                 for v in body.values())])
    return out.getvalue()


@pytest.mark.parametrize(("endpoint", "key"), TASK_VARIANTS)
@given(data=__import__("hypothesis").strategies.data())
@examples(8)
def test_valid_bodies_load_back_unchanged_from_jsonl_and_csv(
    bundled_spec: Spec, endpoint: str, key: str | None, data: Any
) -> None:
    """Every body valid for a variant, written as a JSONL line or a CSV row (its cells as
    text), loads as one job with the same body and no problem."""
    variant = _variant(bundled_spec, endpoint, key)
    body = data.draw(bodies(variant.schema))
    from_jsonl = parse_jobs(json.dumps({"endpoint": endpoint, **body}), bundled_spec)
    assert [dict(j.body) for j in from_jsonl.jobs] == [body]
    kinds = {f.name: f.kind for f in variant.fields}
    # A CSV cell cannot tell an empty string from "not given", nor, for a field that takes
    # text or JSON, the text "[1]" from the list [1]: those bodies have no CSV form.
    assume(all(not isinstance(v, str) or (v.strip() and not (
        kinds.get(k) in ("any", "mixed") and v.lstrip().startswith(("[", "{"))))
        for k, v in body.items()))
    from_csv = parse_jobs(_csv_text(body, endpoint), bundled_spec, fmt="csv")
    assert [dict(j.body) for j in from_csv.jobs] == [body]


@pytest.mark.parametrize(("endpoint", "key"), [
    p for p in TASK_VARIANTS
    if [n for n in _variant(_SPEC, *p.values).required if n != "model"]])
@given(data=__import__("hypothesis").strategies.data())
@examples(6)
def test_a_line_missing_a_required_field_is_refused_naming_line_and_field(
    bundled_spec: Spec, endpoint: str, key: str | None, data: Any
) -> None:
    """Drop one required field from an otherwise valid line in the middle of a file: the
    file is refused, and the problem names that line, that field and its flag."""
    variant = _variant(bundled_spec, endpoint, key)
    good = data.draw(bodies(variant.schema))
    droppable = [n for n in variant.required if n != "model"]
    dropped = data.draw(__import__("hypothesis").strategies.sampled_from(droppable))
    bad = {k: v for k, v in good.items() if k != dropped}
    lines = [{"endpoint": endpoint, **good}, {"endpoint": endpoint, **bad},
             {"endpoint": endpoint, **good}]
    with pytest.raises(JobsFileError) as caught:
        parse_jobs("\n".join(json.dumps(line) for line in lines), bundled_spec,
                   flags=job_flags)
    problems = caught.value.problems
    assert {p.line for p in problems} == {2}
    operation = bundled_spec.catalog.operation(endpoint, "POST")
    assert operation is not None
    flag = job_flags(operation)((dropped,))
    assert flag and any(p.field == dropped and p.flag == flag for p in problems), problems


def _dotted_case(spec: Spec) -> tuple[str, str, str, str, Any, str]:
    """A task endpoint and model with an object field whose dotted flag sets one leaf that
    alone makes the field whole (a preset id: one enum value), with its other required
    fields plain text: (endpoint, model, field, flag, value, text field)."""
    from runway_dynamic import shapes
    from runway_dynamic.catalog import schema_choices
    from runway_dynamic.naming import kebab

    for op in spec.catalog.operations:
        if op.kind != CREATES_TASK:
            continue
        for variant in op.variants:
            required = [f for f in variant.fields if f.required and f.name != "model"]
            objects = [f for f in required if f.kind == "object"]
            texts = [f for f in required if f.kind == "string"]
            if len(objects) != 1 or len(texts) != len(required) - 1 or len(texts) != 1:
                continue
            for leaf in shapes.leaves(objects[0].schema):
                choices = schema_choices(leaf.schema)
                if len(leaf.path) == 1 and not leaf.is_tag and choices:
                    flag = f"--{objects[0].name}.{kebab(leaf.path[0])}"
                    return (op.endpoint, str(variant.key), objects[0].name, flag,
                            choices[0], texts[0].name)
    raise AssertionError("no object field with a one-leaf shape in the bundled spec")


def test_dotted_keys_set_nested_fields_as_the_cli_dotted_flags_do(bundled_spec: Spec,
                                                                  tmp_path: Path) -> None:
    """``voice.preset-id`` in a JSONL line or a CSV header (with or without ``--``, or in
    spec names) builds the object the CLI's ``--voice.preset-id`` builds, its shape's
    constants filled in."""
    from runway_dynamic.cli.call import command_options

    endpoint, model, name, flag, value, text = _dotted_case(bundled_spec)
    op = bundled_spec.catalog.operation(endpoint, "POST")
    options = command_options(op)
    nested = next(item for item in options.nested if item.flag == flag)
    from_cli = options.merge_nested({}, {nested.param: str(value)}, model)[name]
    assert isinstance(from_cli, dict) and len(from_cli) >= 1

    leaf = flag[2:].split(".", 1)[1]
    keys = [f"{name}.{leaf}", flag, f"{name}.{nested.leaf[0]}"]
    path = write_jsonl(tmp_path / "dotted.jsonl", [
        {"endpoint": endpoint, "model": model, text: "hello", key: value} for key in keys])
    (tmp_path / "dotted.csv").write_text(
        f"endpoint,model,{text},{name}.{leaf}\n{endpoint},{model},hello,{value}\n",
        encoding="utf-8")
    for flags in (None, job_flags):
        jobs = [*load_jobs(path, bundled_spec, flags=flags).jobs,
                *load_jobs(tmp_path / "dotted.csv", bundled_spec, flags=flags).jobs]
        assert [j.body[name] for j in jobs] == [from_cli] * 4


def test_dotted_keys_that_fit_no_one_shape_are_a_line_problem_naming_the_flags(
        bundled_spec: Spec) -> None:
    """Two leaves of different shapes on one line: refused, by line, naming what picks
    each shape (as the CLI says for its dotted flags)."""
    from runway_dynamic import shapes

    for op in bundled_spec.catalog.operations:
        if op.kind != CREATES_TASK:
            continue
        for variant in op.variants:
            for field in variant.fields:
                if field.kind != "object":
                    continue
                picks = [leaf for leaf in shapes.leaves(field.schema)
                         if len(leaf.path) == 1 and not leaf.is_tag and len(leaf.shapes) == 1]
                by_shape = {leaf.shapes: leaf for leaf in picks}
                if len(by_shape) < 2:
                    continue
                first, second = list(by_shape.values())[:2]
                line = {"endpoint": op.endpoint, "model": variant.key,
                        f"{field.name}.{first.path[0]}": "a",
                        f"{field.name}.{second.path[0]}": "b"}
                with pytest.raises(JobsFileError) as caught:
                    parse_jobs(json.dumps(line), bundled_spec, flags=job_flags)
                problem = next(p for p in caught.value.problems if p.field == field.name)
                assert problem.line == 1 and "do not fit one shape" in problem.message
                assert f"--{field.name}." in problem.message
                return
    pytest.skip("no object field with two shapes picked by different leaves in this spec")
