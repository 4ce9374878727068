"""The deterministic planner and the settings it is given, all read from the spec."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runway_dynamic._exceptions import UsageError
from runway_dynamic.creative import _facts
from runway_dynamic.creative.brief import parse_brief, parse_seconds
from runway_dynamic.creative.plan import ROLES, ShortVideoPlan, plan_problems, plan_schema
from runway_dynamic.creative.planner import (
    PlanRequest,
    deterministic_plan,
    resolve_settings,
    roles_for,
    split_beats,
)
from runway_dynamic.spec import Spec

SCENARIO = ("A barista unlocks the cafe before dawn. Steam rises from the first espresso. "
            "Regulars drift in, shaking off the rain. The room fills with warm light.")


def test_split_beats_follows_sentences_in_order() -> None:
    beats = split_beats(SCENARIO, 4)
    assert beats == ["A barista unlocks the cafe before dawn",
                     "Steam rises from the first espresso",
                     "Regulars drift in, shaking off the rain",
                     "The room fills with warm light"]


def test_split_beats_splits_clauses_when_short_and_merges_when_long() -> None:
    assert split_beats("She runs to the station, then the train leaves", 2) == [
        "She runs to the station", "the train leaves"]
    merged = split_beats(SCENARIO, 2)
    assert len(merged) == 2 and "espresso" in merged[0] and "warm light" in merged[1]


def test_roles_open_and_close_the_story() -> None:
    assert roles_for(1) == ["establish"]
    assert roles_for(3) == ["establish", "action", "resolve"]
    assert roles_for(5) == ["establish", "action", "action", "transition", "resolve"]


def test_settings_come_from_the_spec(bundled_spec: Spec) -> None:
    catalog = bundled_spec.catalog
    first = catalog.models("text_to_video")[0]
    chosen = resolve_settings(catalog, PlanRequest(SCENARIO))
    assert chosen.model == first
    assert chosen.ratio in catalog.ratios("text_to_video", first)  # type: ignore[operator]
    portrait = resolve_settings(catalog, PlanRequest(SCENARIO, ratio="9:16"))
    w, _, h = portrait.ratio.partition(":")
    assert int(w) < int(h) and portrait.notes, "a shape the model lacks maps to its closest"


def test_durations_fit_each_models_field(bundled_spec: Spec) -> None:
    catalog = bundled_spec.catalog
    for model in catalog.models("text_to_video"):
        variant = catalog.variant("text_to_video", model)
        assert variant is not None
        field = _facts.duration_field(variant)
        got = resolve_settings(catalog, PlanRequest(SCENARIO, model=model, duration=31, shots=4))
        if field is None:
            assert got.shot_duration is None
            continue
        problems = bundled_spec.preflight("text_to_video", {
            "model": model, "promptText": "x", "ratio": got.ratio,
            "duration": got.shot_duration})
        assert not [p for p in problems if p.field == "duration" and p.is_error], (model, got)


def test_unknown_model_and_missing_audio_are_usage_errors(bundled_spec: Spec) -> None:
    with pytest.raises(UsageError, match="closest"):
        resolve_settings(bundled_spec.catalog, PlanRequest(SCENARIO, model="gen4.55"))
    with pytest.raises(UsageError, match="empty"):
        resolve_settings(bundled_spec.catalog, PlanRequest("   "))


def test_keyframe_ratio_is_the_image_models_closest(bundled_spec: Spec) -> None:
    catalog = bundled_spec.catalog
    image_model = catalog.models("text_to_image")[-1]
    got = resolve_settings(catalog, PlanRequest(SCENARIO, keyframes=image_model, ratio="16:9"))
    accepted = catalog.ratios("text_to_image", image_model) or []
    assert got.keyframes_ratio in accepted
    assert got.model in catalog.models("image_to_video")


def test_plan_validates_against_the_shipped_schema(bundled_spec: Spec) -> None:
    request = PlanRequest(SCENARIO, keyframes=bundled_spec.catalog.models("text_to_image")[0])
    plan = deterministic_plan(request, resolve_settings(bundled_spec.catalog, request))
    data = plan.to_dict()
    assert plan_problems(data) == []
    assert ShortVideoPlan.from_dict(data).to_dict() == data
    assert plan_schema()["properties"]["shots"]["items"]["properties"]["role"]["enum"] == list(
        ROLES)
    broken = {**data, "shots": [{**data["shots"][0], "role": "montage", "index": 3}]}
    problems = plan_problems(broken)
    assert any("montage" in p for p in problems)


def test_marketing_brief_gives_platform_shape_and_length() -> None:
    brief = parse_brief("# Launch\n- **Platform**: TikTok and Reels\n## Length\n30 seconds\n"
                        "Tone: playful, bright\n")
    assert brief.shape() == "9:16"
    assert brief.seconds() == 30
    assert brief.tone() == "playful, bright"
    assert parse_seconds("1:30") == 90 and parse_seconds("2 min") == 120
    assert parse_brief("Aspect ratio: 4x5").shape() == "4:5"


_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1,
                max_size=400).filter(lambda s: s.strip() != "")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=_TEXT, shots=st.integers(1, 12), style=st.none() | st.text(max_size=200),
       model_index=st.integers(0, 50), keyframes=st.booleans(), data=st.data())
def test_deterministic_plan_always_has_n_shots_within_limits_and_is_stable(
        bundled_spec: Spec, scenario: str, shots: int, style: str | None, model_index: int,
        keyframes: bool, data: st.DataObject) -> None:
    """Property: for any scenario, N and model, the plan has exactly N shots, every prompt
    fits its model's promptText maxLength, and planning twice gives the same plan."""
    catalog = bundled_spec.catalog
    endpoint = "image_to_video" if keyframes else "text_to_video"
    models = catalog.models(endpoint)
    model = models[model_index % len(models)]
    image_model = data.draw(st.sampled_from(catalog.models("text_to_image"))) if keyframes else None
    request = PlanRequest(scenario, shots=shots, style=style, model=model, keyframes=image_model)
    chosen = resolve_settings(catalog, request)
    plan = deterministic_plan(request, chosen)
    again = deterministic_plan(request, resolve_settings(catalog, request))
    assert plan.dumps() == again.dumps()
    assert [s.index for s in plan.shots] == list(range(1, shots + 1))
    video_limit = _facts.prompt_limit(catalog.variant(endpoint, model))  # type: ignore[arg-type]
    for shot in plan.shots:
        assert shot.video_prompt.strip()
        assert video_limit is None or len(shot.video_prompt) <= video_limit
        if image_model:
            limit = _facts.prompt_limit(catalog.variant("text_to_image", image_model))  # type: ignore[arg-type]
            assert shot.keyframe_prompt and (limit is None or len(shot.keyframe_prompt) <= limit)
    assert plan_problems(plan.to_dict()) == []
