"""Planning a short video: settings from the spec, and our deterministic planner.

:func:`resolve_settings` turns what the user asked (model, ratio, length, keyframes…)
into values the chosen models accept, reading every limit from the catalog.
:func:`deterministic_plan` splits the scenario into beats, gives each shot a role
(establish, action, transition, resolve) and writes keyframe and video prompts that fit
the models' ``promptText`` limits. It is a pure function: the same input gives the same
plan, byte for byte.

>>> request = PlanRequest("A barista opens the cafe at dawn. The first customer arrives.")
>>> plan = deterministic_plan(request, resolve_settings(spec.catalog, request))
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from runway_dynamic._exceptions import UsageError
from runway_dynamic.catalog import Catalog
from runway_dynamic.creative import _facts
from runway_dynamic.creative.brief import Brief
from runway_dynamic.creative.plan import ShortVideoPlan, Shot

TEXT_TO_VIDEO = "text_to_video"
IMAGE_TO_VIDEO = "image_to_video"
TEXT_TO_IMAGE = "text_to_image"
#: Shots when neither --shots nor a length says otherwise: one per role.
DEFAULT_SHOTS = 4
MAX_SHOTS = 50
_TITLE_WORDS = 8
#: Titles are names, not prose (the plan schema allows 200 characters).
TITLE_LIMIT = 120


@dataclass
class PlanRequest:
    """What the user asked for; ``None`` means "use the default" (brief, then spec)."""

    scenario: str
    shots: int | None = None
    duration: float | None = None
    ratio: str | None = None
    model: str | None = None
    style: str | None = None
    seed: int | None = None
    keyframes: str | None = None
    audio: bool = False
    title: str | None = None
    brief: Brief | None = None


@dataclass
class Settings:
    """The request made concrete for the spec in use (every value accepted by its model)."""

    model: str
    ratio: str | None
    shots: int
    shot_duration: int | float | None
    total: float | None
    video_limit: int | None
    keyframes_model: str | None = None
    keyframes_ratio: str | None = None
    keyframe_limit: int | None = None
    style: str | None = None
    notes: list[str] = field(default_factory=list)


def resolve_settings(catalog: Catalog, request: PlanRequest) -> Settings:
    """Model, ratio, shot count and durations that the spec's variants accept."""
    if not request.scenario or not request.scenario.strip():
        raise UsageError("the scenario is empty: say what the video should show")
    notes: list[str] = []
    brief = request.brief
    keyframes = request.keyframes
    if keyframes:
        _facts.require_variant(catalog, TEXT_TO_IMAGE, keyframes)
        model = _facts.pick_model(catalog, IMAGE_TO_VIDEO, request.model)
        video = _facts.require_variant(catalog, IMAGE_TO_VIDEO, model)
    else:
        model = _facts.pick_model(catalog, TEXT_TO_VIDEO, request.model)
        video = _facts.require_variant(catalog, TEXT_TO_VIDEO, model)
    wanted_ratio = request.ratio or (brief.shape() if brief else None)
    ratio, note = _facts.fit_ratio(video, wanted_ratio)
    if note:
        notes.append(note)
    if ratio is None and wanted_ratio:
        notes.append(f"{model} takes no ratio; the shots keep the model's own shape")
    total = request.duration if request.duration is not None else (
        brief.seconds() if brief else None)
    if total is not None and total <= 0:
        raise UsageError(f"--duration must be positive seconds, got {total}")
    field_ = _facts.duration_field(video)
    shots = request.shots
    if shots is None:
        if total is None:
            shots = DEFAULT_SHOTS
        else:
            typical = _facts.fit_duration(field_, None) or _facts.TYPICAL_SHOT_SECONDS
            shots = max(1, round(total / float(typical)))
    if not 1 <= shots <= MAX_SHOTS:
        raise UsageError(f"--shots must be between 1 and {MAX_SHOTS}, got {shots}")
    per_shot = _facts.fit_duration(field_, None if total is None else total / shots)
    if total is not None and per_shot is not None and abs(per_shot * shots - total) > 0.5:
        notes.append(f"{model} makes shots of {per_shot}s here: {shots} shots last "
                     f"{per_shot * shots:g}s, not {total:g}s")
    settings = Settings(model=model, ratio=ratio, shots=shots, shot_duration=per_shot,
                        total=total, video_limit=_facts.prompt_limit(video),
                        style=request.style or (brief.tone() if brief else None), notes=notes)
    if keyframes:
        image = _facts.require_variant(catalog, TEXT_TO_IMAGE, keyframes)
        key_ratio, key_note = _facts.fit_ratio(image, ratio or wanted_ratio)
        settings.keyframes_model = keyframes
        settings.keyframes_ratio = key_ratio
        settings.keyframe_limit = _facts.prompt_limit(image)
        if key_note:
            notes.append(f"keyframes: {key_note}")
    return settings


# --------------------------------------------------------------------------- beats


_SENTENCE = re.compile(r"(?<=[.!?;])\s+|\n+")
_CLAUSE = re.compile(r",?\s+(?:and\s+)?then\s+|,?\s+while\s+|,?\s+until\s+|,\s+|\s+and\s+"
                     r"|\s+—\s+|\s+-\s+", re.IGNORECASE)


def _tidy(text: str) -> str:
    return " ".join(text.split()).strip(" ,;:.-—")


def split_beats(scenario: str, count: int) -> list[str]:
    """Exactly ``count`` beats covering the scenario in order (merged, split or reused)."""
    beats = [_tidy(s) for s in _SENTENCE.split(scenario)]
    beats = [b for b in beats if b] or [_tidy(scenario) or scenario.strip()]
    while len(beats) < count:
        longest = max(range(len(beats)), key=lambda i: (len(beats[i]), -i))
        parts = _split_clause(beats[longest])
        if len(parts) < 2:
            break
        beats[longest:longest + 1] = parts
    if len(beats) > count:
        size = len(beats) / count
        beats = ["; ".join(beats[math.floor(i * size):math.floor((i + 1) * size)])
                 for i in range(count)]
    if len(beats) < count:
        beats = [beats[min(len(beats) - 1, (i * len(beats)) // count)] for i in range(count)]
    return beats


def _split_clause(text: str) -> list[str]:
    """Split at the clause boundary nearest the middle; ``[text]`` when there is none."""
    middle = len(text) / 2
    best = None
    for match in _CLAUSE.finditer(text):
        if best is None or abs(match.start() - middle) < abs(best.start() - middle):
            best = match
    if best is None:
        return [text]
    left, right = _tidy(text[:best.start()]), _tidy(text[best.end():])
    return [left, right] if left and right else [text]


def roles_for(count: int) -> list[str]:
    """establish first, resolve last, a transition before the resolve from 4 shots on."""
    if count == 1:
        return ["establish"]
    roles = ["establish"] + ["action"] * (count - 2) + ["resolve"]
    if count >= 4:
        roles[-2] = "transition"
    return roles


# --------------------------------------------------------------------------- prompts

#: Our guidance per role: (frame of the still, camera and motion of the shot).
_ROLE_GUIDANCE = {
    "establish": ("Wide establishing frame, the whole setting legible at a glance",
                  "Slow push-in that lets the place and its light register before anything "
                  "moves fast"),
    "action": ("Medium shot at eye level, the subject mid-gesture",
               "Camera follows the movement closely; motion carries the moment, steady "
               "framing"),
    "transition": ("Composition that bridges two moments, shapes and colours that will "
                   "carry over",
                   "Fluid lateral move that hands colour and direction on to the next scene"),
    "resolve": ("Clean closing composition with room to breathe, the subject settled",
                "Gentle pull-back that comes to rest on a calm, readable final frame"),
}
_CONTINUITY = "Same characters, wardrobe and palette as the rest of the film"


def fit_text(text: str, limit: int | None) -> str:
    """``text`` cut at a word boundary to at most ``limit`` characters (never empty)."""
    text = " ".join(text.split())
    if limit is None or len(text) <= limit:
        return text
    cut = text[:limit]
    if " " in cut[limit // 2:]:
        cut = cut[:cut.rindex(" ")]
    return cut.rstrip(" ,;:") or text[:max(1, limit)]


_DOUBLED_STOP = re.compile(r"([.!?…])[.:](?=\s|$)")


def _compose(parts: list[str], beat: str, limit: int | None) -> str:
    """Join the prompt parts around ``beat``; shorten the beat first, then the whole."""
    def build(b: str) -> str:
        # a beat that ends in its own mark keeps it: "coffee!" not "coffee!."
        return _DOUBLED_STOP.sub(r"\1", " ".join(p.replace("{beat}", b) for p in parts if p))

    full = build(beat)
    if limit is None or len(full) <= limit:
        return " ".join(full.split())
    room = limit - len(build(""))
    if room > 12:
        return fit_text(build(fit_text(beat, room)), limit)
    return fit_text(full, limit)


def shot_prompts(beat: str, role: str, index: int, count: int, style: str | None,
                 video_limit: int | None, keyframe_limit: int | None,
                 keyframes: bool) -> tuple[str | None, str]:
    """(keyframe prompt or None, video prompt) for one shot, each within its limit."""
    still, motion = _ROLE_GUIDANCE[role]
    look = f"Look: {_tidy(style)}." if style and _tidy(style) else ""
    continuity = f"{_CONTINUITY}." if count > 1 else ""
    keyframe = None
    if keyframes:
        keyframe = _compose([f"{still}:", "{beat}.", look, continuity], beat, keyframe_limit)
        video = _compose([f"Shot {index} of {count}.", f"{motion}.", "Scene: {beat}.", look],
                         beat, video_limit)
    else:
        video = _compose([f"Shot {index} of {count}.", f"{still}:", "{beat}.", f"{motion}.",
                          look, continuity], beat, video_limit)
    return keyframe, video


def make_title(scenario: str) -> str:
    words = _tidy(scenario).split()
    title = " ".join(words[:_TITLE_WORDS])
    title = title + ("…" if len(words) > _TITLE_WORDS else "")
    return fit_text(title, TITLE_LIMIT) or "Untitled"


def deterministic_plan(request: PlanRequest, settings: Settings) -> ShortVideoPlan:
    """Our planner: beats → roles → prompts within the models' limits; pure and stable."""
    count = settings.shots
    beats = split_beats(request.scenario, count)
    roles = roles_for(count)
    shots = []
    for index, (beat, role) in enumerate(zip(beats, roles, strict=False), start=1):
        keyframe, video = shot_prompts(beat, role, index, count, settings.style,
                                       settings.video_limit, settings.keyframe_limit,
                                       settings.keyframes_model is not None)
        shots.append(Shot(index=index, role=role, beat=beat, keyframe_prompt=keyframe,
                          video_prompt=video, duration=settings.shot_duration))
    return plan_from_shots(request, settings, shots, {"name": "deterministic"})


def plan_from_shots(request: PlanRequest, settings: Settings, shots: list[Shot],
                    planner: dict[str, object]) -> ShortVideoPlan:
    return ShortVideoPlan(
        scenario=request.scenario.strip(), model=settings.model, ratio=settings.ratio,
        shots=shots, planner=dict(planner),
        title=fit_text(request.title, TITLE_LIMIT) if request.title else make_title(
            request.scenario),
        duration=settings.total, style=settings.style, seed=request.seed,
        keyframes_model=settings.keyframes_model, keyframes_ratio=settings.keyframes_ratio,
        audio=request.audio, brief=request.brief.to_dict() if request.brief else None,
    )
