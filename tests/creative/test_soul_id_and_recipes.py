"""soul-id registry and the recipe commands against the sandbox."""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path
from typing import Any

import pytest
from creative_support import posts

from runway_dynamic._exceptions import UsageError
from runway_dynamic.creative import _facts, soul_id
from runway_dynamic.creative.recipes import RECIPES, RecipeRequest, build_recipe, recipe_jobs
from runway_dynamic.sandbox import FAULT_HEADER, Sandbox
from runway_dynamic.spec import Spec

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00"
       b"\x00\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe"
       b"\x92\xef\x00\x00\x00\x00IEND\xaeB`\x82")
FAST = ("--poll-interval", "0.02", "--retry-backoff-seconds", "0")


def photo(directory: Path, name: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_bytes(PNG)
    return path


def test_soul_id_lifecycle_and_validation(tmp_path: Path) -> None:
    a, b = photo(tmp_path, "a.png"), photo(tmp_path, "b.png")
    bogus = tmp_path / "notes.txt"
    bogus.write_text("not an image")
    with pytest.raises(UsageError, match=r"notes\.txt"):
        soul_id.create("Ana", [str(a), str(bogus), str(tmp_path / "missing.png")])
    assert soul_id.list_all() == [], "nothing is copied when one photo is bad"
    made = soul_id.create("Ana Silva", [str(a), str(b)], variant="studio")
    record = json.loads((made.folder / "soul.json").read_text())
    assert record["images"] == ["photo-01.png", "photo-02.png"], "paths are stored relative"
    assert [s.id for s in soul_id.list_all()] == [made.id]
    assert all(p.is_file() for p in soul_id.get(made.id).image_paths)
    for bad in ("..", "../x", "a/b", "", ".hidden"):
        with pytest.raises(UsageError, match="invalid soul-id"):
            soul_id.get(bad)
    soul_id.delete(made.id)
    assert soul_id.list_all() == []


def test_soul_ids_are_also_read_from_the_reference_cli_folder(tmp_path: Path) -> None:
    legacy = Path(os.environ["HOME"]) / ".runway-cli" / "soul-ids" / "old-one"
    photo(legacy, "p.png")
    (legacy / "soul.json").write_text(json.dumps({"name": "Old", "images": ["p.png"]}))
    assert [s.id for s in soul_id.list_all()] == ["old-one"]
    (legacy / "soul.json").write_text(json.dumps({"name": "Old", "images": ["../../x.png"]}))
    with pytest.raises(UsageError, match="leaves its folder"):
        soul_id.get("old-one")


def test_reference_field_comes_from_the_schema(bundled_spec: Spec) -> None:
    catalog = bundled_spec.catalog
    for model in catalog.models("text_to_image"):
        variant = catalog.variant("text_to_image", model)
        assert variant is not None
        slot = _facts.reference_slot(variant)
        if slot is None:
            continue
        schema = variant.field_map[slot.field].schema
        assert slot.shape == "array" and slot.max_items == schema.get("maxItems")
    i2v = catalog.variant("image_to_video", catalog.models("image_to_video")[0])
    assert i2v is not None
    single = _facts.reference_slot(i2v)
    assert single is not None and single.shape == "single"


@pytest.mark.parametrize("kind", sorted(RECIPES))
def test_every_mode_plans_jobs_that_pass_preflight(bundled_spec: Spec, kind: str) -> None:
    from runway_dynamic.creative.jobs import preflight_jobs

    table = RECIPES[kind][0]
    for mode in table:
        plan = build_recipe(bundled_spec.catalog, kind, mode, RecipeRequest("a green kettle"))
        assert len(plan["jobs"]) == len(table[mode])
        for job in plan["jobs"]:
            ratios = bundled_spec.catalog.ratios(job["endpoint"], job["model"])
            assert ratios is None or job["ratio"] in ratios
        preflight_jobs(bundled_spec, recipe_jobs(plan, bundled_spec.catalog))


def test_references_are_capped_by_the_models_max_items(bundled_spec: Spec, tmp_path: Path
                                                       ) -> None:
    catalog = bundled_spec.catalog
    model, slot = next((m, s) for m in catalog.models("text_to_image")
                       if (s := _facts.reference_slot(catalog.variant("text_to_image", m)))  # type: ignore[arg-type]
                       and s.max_items)
    photos = [str(photo(tmp_path, f"{i}.png")) for i in range(slot.max_items + 2)]  # type: ignore[operator]
    notes: list[str] = []
    plan = build_recipe(catalog, "product-photoshoot", "product_shot",
                        RecipeRequest("a lamp", model=model, images=photos), notes)
    assert all(len(j["references"]) == slot.max_items for j in plan["jobs"])
    assert notes and f"at most {slot.max_items}" in notes[0]


def test_cli_photoshoot_with_soul_id_runs_concurrently_and_writes_the_plan(
        cli: Any, sandbox: Sandbox, tmp_path: Path) -> None:
    made = cli("soul-id", "create", "--name", "Mia", "--image",
               str(photo(tmp_path, "mia.png")), "--json")
    assert made.code == 0, made.err
    sid = json.loads(made.out)["id"]
    assert cli("soul-id", "wait", sid).code == 0
    out = tmp_path / "shoot"
    result = cli("product-photoshoot", "create", "--product", "a linen tote bag", "--mode",
                 "closeup_product_with_person", "--soul-id", sid, "--output-dir", str(out),
                 *FAST)
    assert result.code == 0, result.err
    files = result.out.split()
    assert len(files) == 2 and all(Path(f).is_file() and f.endswith(".png") for f in files)
    plan = json.loads((out / "recipe.plan.json").read_text())
    assert {r["status"] for r in plan["results"].values()} == {"succeeded"}
    bodies = posts(sandbox, "text_to_image")
    field = plan["jobs"][0]["reference_field"]
    assert all(b[field][0]["uri"].startswith("data:image/png") for b in bodies)
    assert cli("soul-id", "delete", "..").code == 2


def test_cli_ad_video_failure_is_reported_and_nonzero(
        cli: Any, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNWAY_EXTRA_HEADERS",
                       json.dumps({FAULT_HEADER: "task-fail=SAFETY.OUTPUT.VIDEO; times=1"}))
    result = cli("ad-video", "create", "--product", "running shoes", "--mode", "tv_spot",
                 "--concurrency", "1", "--output-dir", str(tmp_path / "ad"), *FAST)
    assert result.code == 3
    assert "job 1 (open) failed" in result.err
    assert len(result.out.split()) == 2, "the other clips are still delivered"
    assert len(posts(sandbox, "text_to_video")) == 3
    kept = {p: Path(p).stat().st_mtime_ns for p in result.out.split()}

    # The failure names the command that makes job 1 again, with every original flag.
    line = next(ln for ln in result.err.splitlines() if "make the failed job(s) again" in ln)
    rerun = shlex.split(line.split("again with: ", 1)[1])
    assert rerun[:3] == ["runway", "ad-video", "create"] and rerun[-2:] == ["--only", "1"]
    assert rerun[rerun.index("--mode") + 1] == "tv_spot"
    monkeypatch.delenv("RUNWAY_EXTRA_HEADERS")
    again = cli(*rerun[1:], *FAST)
    assert again.code == 0, again.err
    assert len(posts(sandbox, "text_to_video")) == 4, "only job 1 is made again"
    plan = json.loads((tmp_path / "ad" / "recipe.plan.json").read_text())
    assert {r["status"] for r in plan["results"].values()} == {"succeeded"}
    assert len(plan["results"]) == 3
    assert all(Path(p).stat().st_mtime_ns == t for p, t in kept.items()), "others untouched"
    assert len(again.out.split()) == 1 and again.out.split()[0] not in kept


def test_cli_recipe_only_is_checked_before_anything_is_sent(
        cli: Any, sandbox: Sandbox, tmp_path: Path) -> None:
    out = tmp_path / "cards"
    base = ("marketplace-cards", "create", "--product", "a cotton tee", "--output-dir",
            str(out), *FAST)
    assert cli(*base).code == 0
    sent = len(posts(sandbox, "text_to_image"))
    missing = cli(*base, "--only", "9")
    assert missing.code == 2 and "this plan has jobs 1" in missing.err
    no_dir = cli("marketplace-cards", "create", "--product", "a cotton tee", "--only", "1")
    assert no_dir.code == 2 and "--output-dir" in no_dir.err
    other = cli("marketplace-cards", "create", "--product", "a wool tee", "--output-dir",
                str(out), "--only", "1", *FAST)
    assert other.code == 2 and "differs in: request" in other.err
    assert len(posts(sandbox, "text_to_image")) == sent, "nothing was sent"


def test_cli_plan_only_and_preflight(cli: Any, sandbox: Sandbox) -> None:
    planned = cli("marketplace-cards", "create", "--product", "a cotton tee", "--scope",
                  "full-set", "--plan-only")
    assert planned.code == 0, planned.err
    assert len(json.loads(planned.out)["jobs"]) == 8
    bad = cli("marketplace-cards", "create", "--product", "a tee", "--scope", "everything")
    assert bad.code == 2 and "full-set" in bad.err
    assert posts(sandbox, "text_to_image") == []
