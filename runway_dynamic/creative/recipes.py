"""Creative recipes: product photoshoots, marketplace card sets, short ad videos.

A recipe turns a product description (and optional reference photos) into a *plan of
jobs*: one labelled generation each, with a prompt written from our guidance for the
chosen mode, a model, and the ratio that model accepts closest to the shape the job
wants. The mode names are product vocabulary; models, ratios, prompt limits and the field
that takes reference images all come from the spec. Reference photos are capped by that
field's ``maxItems`` — never sent past it.

>>> plan = build_recipe(spec.catalog, "product-photoshoot", "product_shot",
...                     RecipeRequest(product="a matte black ceramic mug"))
>>> [job["label"] for job in plan["jobs"]]
['hero', 'three-quarter', 'detail']
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runway_dynamic._constants import RATIO_PROPERTY
from runway_dynamic._exceptions import UsageError
from runway_dynamic.catalog import Catalog
from runway_dynamic.creative import _facts
from runway_dynamic.creative.jobs import (
    DEFAULT_CONCURRENCY,
    DEFAULT_RETRY_ON_INTERNAL_ERROR,
    EventCallback,
    Job,
    JobResult,
    Step,
    preflight_jobs,
    run_jobs,
)
from runway_dynamic.creative.planner import fit_text
from runway_dynamic.uploads import is_uri

if TYPE_CHECKING:
    from runway_dynamic.client import AsyncRunwayClient

RECIPE_PLAN = "recipe.plan.json"
TEXT_TO_IMAGE = "text_to_image"
TEXT_TO_VIDEO = "text_to_video"
IMAGE_TO_VIDEO = "image_to_video"

# Each job: (label, shape W:H, our prompt guidance with {product} and {style}).
Shot = tuple[str, str, str]

PHOTOSHOOT_MODES: dict[str, list[Shot]] = {
    "product_shot": [
        ("hero", "1:1", "Studio photograph of {product}, centred on a seamless backdrop, soft "
                        "key light from the left, gentle shadow, crisp edges, true colours."),
        ("three-quarter", "4:5", "{product} turned three-quarters to camera on a plinth, "
                                 "rim light tracing its outline, shallow depth of field."),
        ("detail", "1:1", "Macro close-up of {product}: texture, material and finish fill the "
                          "frame, raking light reveals the surface."),
    ],
    "lifestyle_scene": [
        ("in-use", "4:5", "{product} in everyday use in a lived-in home, morning window light, "
                          "candid and warm, the product clearly in focus."),
        ("table-top", "1:1", "{product} on a styled table with a few complementary objects, "
                             "natural light, calm composition."),
    ],
    "closeup_product_with_person": [
        ("hands", "4:5", "Close-up of hands holding {product}, relaxed grip, soft daylight, "
                         "skin and material both sharp."),
        ("face-and-product", "4:5", "Head-and-shoulders portrait of a person enjoying "
                                    "{product}, the product near the face, friendly expression."),
    ],
    "moodboard_pin": [
        ("pin", "2:3", "Editorial flat lay featuring {product} among textures and colour swatches "
                       "that match its palette, tall pin composition, airy negative space."),
    ],
    "hero_banner": [
        ("banner", "21:9", "Wide cinematic banner with {product} on the right third, clean "
                           "empty space on the left for a headline, dramatic but soft light."),
    ],
    "social_carousel": [
        ("slide-1", "4:5", "Eye-catching first slide: {product} large in frame on a bold "
                           "colour background."),
        ("slide-2", "4:5", "{product} from another angle, showing what makes it different."),
        ("slide-3", "4:5", "{product} in context with a person using it, natural light."),
        ("slide-4", "4:5", "Detail of {product}'s material and craftsmanship."),
    ],
    "ad_creative_pack": [
        ("square", "1:1", "Advertising image of {product}, bold composition, clear "
                          "silhouette, room for a short tagline."),
        ("story", "9:16", "Vertical advertising image of {product}, top third left calm for "
                          "text, product in the lower half."),
        ("landscape", "16:9", "Landscape advertising image of {product} in a striking setting."),
    ],
    "virtual_model_tryout": [
        ("full-look", "2:3", "Full-length fashion photograph of a model wearing {product}, "
                             "neutral studio, natural pose, fabric drape visible."),
        ("detail-look", "4:5", "Waist-up photograph of a model wearing {product}, fit and "
                               "texture visible, soft light."),
    ],
    "conceptual_product": [
        ("concept", "1:1", "Surreal conceptual still life of {product}: an unexpected scale or "
                           "material play that tells what it does, clean studio light."),
    ],
    "restyle": [
        ("restyled", "1:1", "{product} restyled in a new art direction, same product shape "
                            "and details, fresh setting and palette."),
    ],
}

MARKETPLACE_SCOPES: dict[str, list[Shot]] = {
    "main": [
        ("main", "1:1", "{product} alone on a pure white background, filling most of the "
                        "frame, evenly lit, no props, no text."),
    ],
    "product-images": [
        ("angle", "1:1", "{product} from a second angle on white, showing its shape."),
        ("detail", "1:1", "Close detail of {product}: material, finish, important features."),
        ("scale", "1:1", "{product} next to an everyday object for a sense of size, on white."),
        ("in-use", "1:1", "{product} in use in a realistic setting, the product in focus."),
    ],
    "aplus": [
        ("aplus-feature", "97:30", "Wide content banner: {product} on one side, an uncluttered "
                                   "area for a feature headline on the other."),
        ("aplus-story", "97:30", "Wide lifestyle banner showing who {product} is for, warm "
                                 "natural light."),
        ("aplus-detail", "97:30", "Wide banner of {product}'s details in a row, clean light."),
    ],
}
MARKETPLACE_SCOPES["full-set"] = [
    *MARKETPLACE_SCOPES["main"], *MARKETPLACE_SCOPES["product-images"],
    *MARKETPLACE_SCOPES["aplus"]]

AD_MODES: dict[str, list[Shot]] = {
    "ugc": [
        ("selfie-hook", "9:16", "Handheld phone-camera video: a person talks to camera while "
                                "showing {product}, casual home setting, natural light."),
        ("use", "9:16", "Phone-style video of the same person using {product}, quick and "
                        "authentic, slight camera shake."),
    ],
    "unboxing": [
        ("unboxing", "9:16", "Top-down video of hands opening a box and lifting out {product}, "
                             "tissue paper, satisfying slow reveal."),
    ],
    "product_showcase": [
        ("turntable", "1:1", "{product} turning slowly on a turntable, studio light sweeping "
                             "across its surface, seamless backdrop."),
        ("feature", "1:1", "Slow push-in on {product}'s standout detail, shallow focus."),
    ],
    "product_review": [
        ("review", "9:16", "A person holds {product} up to camera and points at its features "
                           "while speaking, bright room, steady framing."),
    ],
    "tv_spot": [
        ("open", "16:9", "Cinematic wide opening: the world {product} belongs to, golden light."),
        ("hero", "16:9", "Cinematic hero move around {product}, polished reflections."),
        ("close", "16:9", "Final shot: {product} settled in frame, calm, room for an end card."),
    ],
    "virtual_try_on": [
        ("try-on", "9:16", "A model wearing {product} turns in front of a mirror, fabric "
                           "moving naturally, soft studio light."),
    ],
}

#: recipe kind → (mode table, endpoint without reference image, endpoint with one).
RECIPES: dict[str, tuple[dict[str, list[Shot]], str, str]] = {
    "product-photoshoot": (PHOTOSHOOT_MODES, TEXT_TO_IMAGE, TEXT_TO_IMAGE),
    "marketplace-cards": (MARKETPLACE_SCOPES, TEXT_TO_IMAGE, TEXT_TO_IMAGE),
    "ad-video": (AD_MODES, TEXT_TO_VIDEO, IMAGE_TO_VIDEO),
}


#: Fields a recipe fills itself (a default model must not require any other).
_FILLABLE = ("model", _facts.PROMPT_PROPERTY, RATIO_PROPERTY, _facts.DURATION_PROPERTY,
             _facts.SEED_PROPERTY)


@dataclass
class RecipeRequest:
    product: str
    model: str | None = None
    ratio: str | None = None
    style: str | None = None
    images: list[str] = field(default_factory=list)
    soul_ids: list[str] = field(default_factory=list)
    duration: float | None = None
    seed: int | None = None

    def as_saved(self) -> dict[str, Any]:
        """The request as the plan keeps it: local photos as absolute paths, so the rerun
        command works from any directory."""
        saved = asdict(self)
        saved["images"] = [i if is_uri(i) else str(Path(i).expanduser().absolute())
                           for i in self.images]
        return saved


def _mode_flag(kind: str) -> str:
    return "--scope" if kind == "marketplace-cards" else "--mode"


def rerun_command(plan: dict[str, Any], out_dir: Path, keys: Collection[str]) -> list[str]:
    """The command that makes jobs ``keys`` of ``plan`` again into ``out_dir``, with every
    flag of the original request (the gallery's copy button and failure messages use it)."""
    kind, mode = str(plan.get("kind", "")), str(plan.get("mode", ""))
    request = plan.get("request") or {"product": plan.get("product"), "style": plan.get("style"),
                                      "seed": plan.get("seed")}
    command = ["runway", kind, "create", "--product", str(request.get("product") or ""),
               _mode_flag(kind), mode]
    for key, flag in (("model", "--model"), ("ratio", "--ratio"), ("style", "--style"),
                      ("seed", "--seed"), ("duration", "--duration")):
        if request.get(key) is not None:
            command += [flag, _plain(request[key])]
    for key, flag in (("images", "--image"), ("soul_ids", "--soul-id")):
        for value in request.get(key) or []:
            command += [flag, str(value)]
    command += ["--output-dir", str(out_dir.absolute())]
    for key in sorted(keys, key=lambda k: (len(k), k)):
        command += ["--only", key]
    return command


def _plain(value: Any) -> str:
    """A number as a user would type it (``5``, not ``5.0``)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def rerun_line(plan: dict[str, Any], out_dir: Path, keys: Collection[str]) -> str:
    return shlex.join(rerun_command(plan, out_dir, keys))


def merge_earlier_run(plan: dict[str, Any], saved: dict[str, Any], only: Collection[str],
                      plan_file: Path) -> None:
    """Carry the results of jobs not in ``only`` over from the plan an earlier run saved.

    The earlier plan must come from the same request: otherwise its files would be labelled
    with jobs they were not made for."""
    same = {k: saved.get(k) == plan.get(k) for k in ("kind", "mode", "request")}
    if not all(same.values()):
        differ = [k for k, ok in same.items() if not ok]
        raise UsageError(
            f"{plan_file} was written for a different request (differs in: "
            f"{', '.join(differ)}); give the same flags as that run, or another --output-dir")
    plan["results"] = {k: v for k, v in (saved.get("results") or {}).items()
                       if k not in only}


def check_only(plan: dict[str, Any], only: Collection[str]) -> None:
    """``--only`` names jobs the plan has (exit 2 before anything is sent)."""
    known = [str(job["index"]) for job in plan["jobs"]]
    unknown = [k for k in only if k not in known]
    if unknown:
        raise UsageError(f"--only {', '.join(unknown)}: this plan has jobs "
                         f"{', '.join(known)}")


def load_recipe_plan(path: Path) -> dict[str, Any] | None:
    """The plan saved at ``path``, or None when there is none (a broken file is an error)."""
    if not path.is_file():
        return None
    try:
        plan = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: cannot read the earlier plan: {exc}") from None
    if not isinstance(plan, dict) or not isinstance(plan.get("jobs"), list):
        raise UsageError(f"{path}: not a recipe plan")
    return plan


def _models_with_references(catalog: Catalog, endpoint: str) -> list[str]:
    return [m for m in catalog.models(endpoint)
            if _facts.reference_slot(catalog.variant(endpoint, m)) is not None]  # type: ignore[arg-type]


def build_recipe(catalog: Catalog, kind: str, mode: str, request: RecipeRequest,
                 notes: list[str] | None = None) -> dict[str, Any]:
    """The plan of jobs for ``kind``/``mode`` (no network; pre-flight comes later)."""
    if kind not in RECIPES:
        raise UsageError(f"unknown recipe {kind!r}; choose one of {', '.join(RECIPES)}")
    table, plain_endpoint, ref_endpoint = RECIPES[kind]
    if mode not in table:
        raise UsageError(f"{_mode_flag(kind)} {mode!r}: choose one of {', '.join(table)}")
    if not request.product.strip():
        raise UsageError("--product must describe the product")
    said = notes if notes is not None else []
    references = list(request.images)
    if request.soul_ids:
        from runway_dynamic.creative.soul_id import photos_for

        references += photos_for(request.soul_ids)
    endpoint = ref_endpoint if references else plain_endpoint
    model = _facts.pick_model(catalog, endpoint, request.model,
                              can_fill=None if references else _FILLABLE)
    variant = _facts.require_variant(catalog, endpoint, model)
    slot = _facts.reference_slot(variant) if references else None
    if references and slot is None:
        takers = _models_with_references(catalog, endpoint)
        raise UsageError(f"{model} on {endpoint} takes no reference images; models that do: "
                         f"{', '.join(takers) or 'none in this spec'}")
    if slot is not None and slot.max_items is not None and len(references) > slot.max_items:
        said.append(f"{model} takes at most {slot.max_items} reference image(s) in "
                    f"{slot.field}; using the first {slot.max_items} of {len(references)}")
        references = references[:slot.max_items]
    prompt_field = _facts.prompt_field(variant)
    limit = _facts.prompt_limit(variant)
    style = f" Look: {request.style.strip()}." if request.style and request.style.strip() else ""
    jobs = []
    for number, (label, shape, guidance) in enumerate(table[mode], start=1):
        ratio, note = _facts.fit_ratio(variant, request.ratio or shape)
        if note and request.ratio:
            said.append(note)
        prompt = fit_text(guidance.format(product=request.product.strip()) + style, limit)
        job: dict[str, Any] = {"index": number, "label": label, "endpoint": endpoint,
                               "model": model, "ratio": ratio, "shape": request.ratio or shape,
                               "prompt": prompt, "prompt_field": prompt_field.name
                               if prompt_field else None,
                               "references": references,
                               "reference_field": slot.field if slot else None}
        duration = _facts.fit_duration(_facts.duration_field(variant), request.duration)
        if duration is not None:
            job["duration"] = duration
        jobs.append(job)
    return {"version": 1, "kind": kind, "mode": mode, "product": request.product.strip(),
            "style": request.style, "seed": request.seed, "request": request.as_saved(),
            "jobs": jobs, "results": {}}


def recipe_jobs(plan: dict[str, Any], catalog: Catalog) -> list[Job]:
    """One single-step job per planned job (reference photos resolved at run time)."""
    out = []
    for job in plan["jobs"]:
        variant = _facts.require_variant(catalog, job["endpoint"], job["model"])
        body: dict[str, Any] = {"model": job["model"]}
        if job.get("prompt_field"):
            body[job["prompt_field"]] = job["prompt"]
        if job.get("ratio") is not None and RATIO_PROPERTY in variant.field_map:
            body[RATIO_PROPERTY] = job["ratio"]
        if job.get("duration") is not None:
            body[_facts.DURATION_PROPERTY] = job["duration"]
        if plan.get("seed") is not None and _facts.SEED_PROPERTY in variant.field_map:
            body[_facts.SEED_PROPERTY] = plan["seed"]
        inputs = {job["reference_field"]: list(job["references"])} if job.get(
            "reference_field") and job.get("references") else {}
        prefix = f"{job['index']:02d}-{job['label']}"
        out.append(Job(str(job["index"]), job["label"],
                       [Step("output", job["endpoint"], body, prefix, inputs=inputs)]))
    return out


def save_recipe_plan(plan: dict[str, Any], path: Path) -> None:
    from runway_dynamic._files import atomic_write_bytes

    atomic_write_bytes(path, (json.dumps(plan, indent=2, ensure_ascii=False) + "\n").encode())


async def run_recipe(
    plan: dict[str, Any],
    out_dir: Path,
    client: AsyncRunwayClient,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    retry_on_internal_error: int = DEFAULT_RETRY_ON_INTERNAL_ERROR,
    retry_backoff_seconds: float | None = None,
    poll_interval: float | None = None,
    on_event: EventCallback | None = None,
    log: Callable[[str], None] | None = None,
    only: Collection[str] = (),
) -> dict[str, JobResult]:
    """Pre-flight every job, write the plan beside the outputs, run all jobs concurrently.

    With ``only``, just those jobs run; the plan keeps the other jobs' earlier results."""
    jobs = [job for job in recipe_jobs(plan, client.spec.catalog)
            if not only or job.key in only]
    preflight_jobs(client.spec, jobs)
    out_dir = out_dir.absolute()
    plan_file = out_dir / RECIPE_PLAN
    save_recipe_plan(plan, plan_file)
    if log:
        log(f"plan: {plan_file}")

    def changed(key: str, result: JobResult) -> None:
        plan["results"][key] = {
            "status": result.status,
            "files": [os.path.relpath(p, out_dir) for p in result.files.get("output", [])],
            "task_ids": list(result.task_ids), "error": result.error,
            "failure_code": result.failure_code}
        save_recipe_plan(plan, plan_file)

    return await run_jobs(client, jobs, out_dir, concurrency=concurrency,
                          retry_on_internal_error=retry_on_internal_error,
                          retry_backoff_seconds=retry_backoff_seconds,
                          poll_interval=poll_interval, on_event=on_event, on_change=changed)
