"""The short-video plan: a typed model, its published JSON Schema, load/save and diff.

The plan is the contract between planning and execution: ``short-video plan`` writes one,
people (or agents) edit it, ``short-video run --plan`` executes it. Its schema ships with
the package (:func:`plan_schema`, ``runway_dynamic/creative/plan.schema.json``); external
planners are asked for JSON matching it.

>>> plan = ShortVideoPlan.from_dict(json.loads(Path("launch.plan.json").read_text()))
>>> [shot.role for shot in plan.shots]
['establish', 'action', 'transition', 'resolve']
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from runway_dynamic._exceptions import UsageError

PLAN_VERSION = 1
PLAN_KIND = "short-video"
ROLES = ("establish", "action", "transition", "resolve")
PLAN_SUFFIX = ".plan.json"


@lru_cache(maxsize=1)
def plan_schema() -> dict[str, Any]:
    """The JSON Schema of a plan document (shipped as ``plan.schema.json``)."""
    text = resources.files(__package__).joinpath("plan.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


class PlanError(UsageError):
    """A plan document that does not match the schema (all problems listed, exit 2)."""

    def __init__(self, where: str, problems: list[str]) -> None:
        self.where = where
        self.problems = problems
        super().__init__(f"{where}: not a valid short-video plan:\n"
                         + "\n".join(f"  - {p}" for p in problems))

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "where": self.where, "problems": self.problems}


def plan_problems(data: Any) -> list[str]:
    """Every way ``data`` breaks the plan schema or the plan's own rules (empty when fine)."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(plan_schema())
    problems = []
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.path))):
        where = "/".join(str(p) for p in error.absolute_path) or "(top)"
        problems.append(f"{where}: {error.message}")
    if problems or not isinstance(data, dict):
        return problems
    indices = [shot.get("index") for shot in data.get("shots", [])]
    if sorted(indices) != list(range(1, len(indices) + 1)):
        problems.append(f"shots: indices must be 1..{len(indices)} without gaps, got {indices}")
    return problems


@dataclass
class Shot:
    """One shot of the plan (see the schema for each field's meaning)."""

    index: int
    role: str
    video_prompt: str
    duration: float | None
    beat: str = ""
    keyframe_prompt: str | None = None
    ratio: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index, "role": self.role}
        if self.beat:
            out["beat"] = self.beat
        out["keyframe_prompt"] = self.keyframe_prompt
        out["video_prompt"] = self.video_prompt
        out["duration"] = self.duration
        if self.ratio is not None:
            out["ratio"] = self.ratio
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Shot:
        return cls(index=int(data["index"]), role=str(data["role"]),
                   video_prompt=str(data["video_prompt"]), duration=data.get("duration"),
                   beat=str(data.get("beat") or ""), keyframe_prompt=data.get("keyframe_prompt"),
                   ratio=data.get("ratio"))


@dataclass
class ShortVideoPlan:
    """A whole plan; ``results`` is filled by the executor and saved with the plan."""

    scenario: str
    model: str
    ratio: str | None
    shots: list[Shot]
    planner: dict[str, Any] = field(default_factory=lambda: {"name": "deterministic"})
    title: str = ""
    duration: float | None = None
    style: str | None = None
    seed: int | None = None
    keyframes_model: str | None = None
    keyframes_ratio: str | None = None
    audio: bool = False
    brief: dict[str, Any] | None = None
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    output: str | None = None

    @property
    def video_endpoint(self) -> str:
        """Keyframes mode animates a still (image_to_video); otherwise text_to_video."""
        return "image_to_video" if self.keyframes_model else "text_to_video"

    def shot(self, index: int) -> Shot:
        for shot in self.shots:
            if shot.index == index:
                return shot
        raise UsageError(f"the plan has no shot {index} (it has 1..{len(self.shots)})")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "version": PLAN_VERSION,
            "kind": PLAN_KIND,
            "title": self.title,
            "scenario": self.scenario,
            "planner": dict(self.planner),
            "model": self.model,
            "ratio": self.ratio,
            "duration": self.duration,
            "style": self.style,
            "seed": self.seed,
            "keyframes_model": self.keyframes_model,
            "keyframes_ratio": self.keyframes_ratio,
            "audio": self.audio,
            "brief": self.brief,
            "shots": [s.to_dict() for s in self.shots],
        }
        if self.results:
            out["results"] = {k: dict(v) for k, v in sorted(self.results.items(),
                                                            key=lambda kv: int(kv[0]))}
        if self.output is not None:
            out["output"] = self.output
        return out

    @classmethod
    def from_dict(cls, data: Any, where: str = "plan") -> ShortVideoPlan:
        """Validate against the schema, then build; :class:`PlanError` lists every problem."""
        problems = plan_problems(data)
        if problems:
            raise PlanError(where, problems)
        shots = sorted((Shot.from_dict(s) for s in data["shots"]), key=lambda s: s.index)
        return cls(
            scenario=data["scenario"], model=data["model"], ratio=data["ratio"], shots=shots,
            planner=dict(data["planner"]), title=data.get("title") or "",
            duration=data.get("duration"), style=data.get("style"), seed=data.get("seed"),
            keyframes_model=data.get("keyframes_model"),
            keyframes_ratio=data.get("keyframes_ratio"), audio=bool(data.get("audio")),
            brief=data.get("brief"), results={str(k): dict(v) for k, v in
                                              (data.get("results") or {}).items()},
            output=data.get("output"),
        )

    def dumps(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"


def load_plan(source: str | Path, stdin_text: str | None = None) -> ShortVideoPlan:
    """A plan from a file, or from ``stdin_text`` when ``source`` is ``-``."""
    where = "<stdin>" if str(source) == "-" else str(source)
    if str(source) == "-":
        text = stdin_text or ""
    else:
        try:
            text = Path(source).read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot read plan {where}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise PlanError(where, ["not a text file (a plan is JSON in UTF-8)"]) from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise PlanError(where, [f"not JSON: {exc}"]) from None
    return ShortVideoPlan.from_dict(data, where)


def save_plan(plan: ShortVideoPlan, path: Path) -> Path:
    """Write the plan atomically (a crash never leaves half a plan)."""
    from runway_dynamic._files import atomic_write_bytes

    atomic_write_bytes(path, plan.dumps().encode("utf-8"))
    return path


def plan_path_for(video: Path) -> Path:
    """``out/launch.mp4`` → ``out/launch.plan.json`` (the plan lives beside the video)."""
    return video.with_name(video.stem + PLAN_SUFFIX)


# --------------------------------------------------------------------------- diff

#: Keys compared by ``short-video diff`` (execution results and file names are not the plan).
_DIFF_IGNORED = {"results", "output"}


def diff_plans(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    """Differences between two plan documents: ``[{"path", "a", "b"}]``, shots by index."""
    changes: list[dict[str, Any]] = []
    keys = [k for k in dict.fromkeys([*a, *b]) if k not in _DIFF_IGNORED and k != "shots"]
    for key in keys:
        if a.get(key) != b.get(key):
            changes.append({"path": key, "a": a.get(key), "b": b.get(key)})
    shots_a = {s.get("index"): s for s in a.get("shots", [])}
    shots_b = {s.get("index"): s for s in b.get("shots", [])}
    for index in sorted({*shots_a, *shots_b}, key=lambda i: (i is None, i)):
        sa, sb = shots_a.get(index), shots_b.get(index)
        if sa is None or sb is None:
            changes.append({"path": f"shots[{index}]", "a": sa, "b": sb})
            continue
        for key in dict.fromkeys([*sa, *sb]):
            if sa.get(key) != sb.get(key):
                changes.append({"path": f"shots[{index}].{key}", "a": sa.get(key),
                                "b": sb.get(key)})
    return changes


def format_diff(changes: list[dict[str, Any]]) -> str:
    if not changes:
        return "plans are the same"
    lines = []
    for change in changes:
        lines.append(f"{change['path']}:")
        lines.append(f"  - {json.dumps(change['a'], ensure_ascii=False)}")
        lines.append(f"  + {json.dumps(change['b'], ensure_ascii=False)}")
    return "\n".join(lines)
