"""Model ids the spec does not list (issue 14 §4): a near miss of a listed id is refused as
a typo (unless the caller allows it), an id far from every listed one passes with one
warning, and a value for an unknown model is typed as the listed models agree."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from schema_strategies import examples

from runway_dynamic._exceptions import PreflightError
from runway_dynamic.catalog import SCALAR, agreed_kind, edit_distance
from runway_dynamic.coerce import from_text, unchecked_from_text
from runway_dynamic.sources import bundled_spec_path
from runway_dynamic.spec import Spec
from runway_dynamic.tools import Toolbox
from runway_dynamic.validation import ERROR, WARNING

_SPEC = Spec.from_bytes(bundled_spec_path().read_bytes())
_MODELS = _SPEC.models()
#: Letters and separators: an edit with these never changes an id's version digits.
_TYPO_CHARS = "abcdefghijklmnopqrstuvwxyz_."


def _spelling(model: str) -> str:
    return model.lower().replace("-", "_")


def _levenshtein(a: str, b: str) -> int:
    """Plain edit distance, written here independently of the library's (the oracle)."""
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, start=1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def _endpoint_of(model: str) -> str:
    return _SPEC.endpoints_for(model)[0]


def _one_edit(data: st.DataObject, model: str) -> str:
    """``model`` with one insertion, deletion, substitution or swap of neighbours, none of
    which touches a digit (a changed digit is another version, not a typo)."""
    op = data.draw(st.sampled_from(["insert", "delete", "substitute", "swap"]), label="op")
    char = data.draw(st.sampled_from(_TYPO_CHARS), label="char")
    if op == "insert":
        at = data.draw(st.integers(0, len(model)), label="at")
        return model[:at] + char + model[at:]
    at = data.draw(st.integers(0, len(model) - 1), label="at")
    assume(not model[at].isdigit())
    if op == "delete":
        return model[:at] + model[at + 1:]
    if op == "substitute":
        return model[:at] + char + model[at + 1:]
    assume(at + 1 < len(model) and not model[at + 1].isdigit())
    return model[:at] + model[at + 1] + model[at] + model[at + 2:]


@examples(200)
@given(data=st.data())
def test_one_edit_variants_of_listed_ids_are_refused_with_did_you_mean(
    data: st.DataObject,
) -> None:
    """Every one-edit variant of a listed id (not itself listed) is a pre-flight error that
    names the id, and a warning only when the caller allows unknown models."""
    model = data.draw(st.sampled_from(_MODELS), label="model")
    typo = _one_edit(data, model)
    assume(typo and typo not in _MODELS)
    endpoint = _endpoint_of(model)
    problems = _SPEC.preflight(endpoint, {"model": typo, "promptText": "x"})
    assert [(p.kind, p.severity) for p in problems] == [("unknown_model", ERROR)]
    assert model in problems[0].suggestions
    assert f"did you mean {problems[0].suggestions[0]}" in problems[0].message
    allowed = _SPEC.preflight(endpoint, {"model": typo, "promptText": "x"},
                              allow_unknown_model=True)
    assert [(p.kind, p.severity) for p in allowed] == [("unknown_model", WARNING)]


_IDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-.", min_size=1, max_size=24)


@examples(200)
@given(model=_IDS, endpoint=st.sampled_from(_SPEC.endpoints()))
def test_ids_far_from_every_listed_id_pass_with_one_warning(model: str, endpoint: str) -> None:
    """An id more than two edits from every listed id (a model newer than the spec) is
    never blocked: exactly one warning, on every model endpoint."""
    assume(all(_levenshtein(_spelling(model), _spelling(m)) > 2 for m in _MODELS))
    problems = _SPEC.preflight(endpoint, {"model": model, "promptText": "x"})
    assert [(p.kind, p.severity, p.field) for p in problems] == [
        ("unknown_model", WARNING, "model")]


@pytest.mark.parametrize(("typo", "meant"), [
    ("veo3.1fast", "veo3.1_fast"), ("Gen4.5", "gen4.5"), ("gen45", "gen4.5"),
    ("seedanse2", "seedance2"), ("veo3.1-fast", "veo3.1_fast")])
def test_near_misses_name_the_listed_id(typo: str, meant: str) -> None:
    assert _SPEC.catalog.near_misses(typo)[0] == meant


@pytest.mark.parametrize("model", ["kling_4", "gen4.6", "seedance3", "eleven_v4", "veo3",
                                   "gen4.5"])
def test_new_versions_and_listed_ids_are_not_near_misses(model: str) -> None:
    """Other version digits make another model (``gen4.6`` is newer than the spec, not a
    typo of ``gen4.5``); a listed id is no miss at all."""
    assert _SPEC.catalog.near_misses(model) == []


@examples(100)
@given(a=st.text("abc_.", max_size=8), b=st.text("abc_.", max_size=8), limit=st.integers(0, 3))
def test_edit_distance_within_its_limit_never_exceeds_plain_levenshtein(
    a: str, b: str, limit: int
) -> None:
    """Swaps count one, so the library's distance is at most Levenshtein's, capped at
    ``limit + 1``; and zero only for equal strings."""
    found = edit_distance(a, b, limit)
    assert found <= min(_levenshtein(a, b), limit + 1)
    assert (found == 0) == (a == b)


@pytest.mark.parametrize(("kinds", "agreed"), [
    (["integer"], "integer"), (["integer", "number"], "integer"), (["number"], "number"),
    (["string", "any"], "string"), (["number", "any"], "number"), (["any"], "any"),
    (["string", "integer"], SCALAR), (["boolean", "number"], SCALAR),
])
def test_an_unknown_models_value_takes_the_narrowest_kind_every_listed_model_accepts(
    kinds: list[str], agreed: str
) -> None:
    assert agreed_kind(kinds) == agreed


def test_unknown_model_kinds_come_from_the_endpoint() -> None:
    video = _SPEC.catalog.model_operation("text_to_video")
    assert video is not None
    assert video.unknown_model_kind("duration") == "integer"  # integer here, number there
    assert video.unknown_model_kind("promptText") == "string"
    assert video.unknown_model_kind("noSuchField") is None


@pytest.mark.parametrize(("text", "kind", "value"), [
    ("5", "integer", 5), ("5.5", "integer", 5.5), ("true", "integer", True),
    ("abc", "integer", "abc"), ("7", SCALAR, 7), ("2.5", SCALAR, 2.5), ("false", SCALAR, False),
    ("nan", SCALAR, "nan"), ("x", SCALAR, "x"), ('{"a": 1}', SCALAR, {"a": 1})])
def test_unchecked_values_are_typed_when_they_read_so(text: str, kind: str,
                                                      value: object) -> None:
    assert unchecked_from_text(text, kind, "--f") == value
    assert type(unchecked_from_text(text, kind, "--f")) is type(value)


def test_scalar_is_a_kind_from_text_knows() -> None:
    assert from_text("12", SCALAR, "--f") == 12 and from_text("1e3", SCALAR, "--f") == 1000.0


def test_tools_refuse_a_near_miss_as_a_preflight_error_not_a_crash() -> None:
    box = Toolbox(_SPEC)
    tool = next(t for t in box.tools if t.endpoint == "text_to_video")
    with pytest.raises(PreflightError) as caught:
        box.plan(tool.name, {"model": "veo3.1fast", "promptText": "x"})
    assert "did you mean veo3.1_fast" in str(caught.value)
    assert "--" not in str(caught.value)  # argument names, never CLI flags
