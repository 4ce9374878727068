"""Spec loading within its budget: cold index build and warm load of the bundled spec.

Run: python benchmarks/bench_spec_loading.py [--against GIT_REF] [--repeat N] [--rounds N]

Measures, on the bundled snapshot (JSON) and the same document as YAML:
- cold: read the file, parse it, check its bounds, derive the catalog, write the index
  (an empty cache directory every round);
- warm: read and hash the file, load and verify the cached index.

``--against REF`` measures the package as it was at a git commit in the same run (it is
exported with ``git archive`` into a temporary directory and run in a subprocess beside the
current tree's subprocess, alternating), so "no slower than before" is a ratio of two
measurements taken side by side, not a remembered number. ``orjson.loads`` of the same
bytes is the peer that shows how noisy the machine is.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
#: Budgets as multiples of parsing the same bytes with orjson in the same run (the machine
#: is shared and noisy: absolute milliseconds vary twofold between runs, ratios do not).
#: Before bounded loading, cold was ~6-7x and warm ~1.3-1.9x the parse.
BUDGET_COLD = 10.0
BUDGET_WARM = 2.5
#: "No slower than before": current / --against, per measurement, at most this.
BUDGET_AGAINST = 1.10


def _worker(repeat: int, yaml_repeat: int) -> dict[str, float]:
    """Run inside one tree (current or exported); print medians in ms as JSON."""
    import orjson
    import yaml

    import runway_dynamic as rd

    bundled = REPO / "spec" / "runway.json"
    data = bundled.read_bytes()
    document = orjson.loads(data)
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        json_path = Path(tmp) / "runway.json"
        json_path.write_bytes(data)
        yaml_path = Path(tmp) / "runway.yaml"
        yaml_path.write_text(yaml.safe_dump(document, sort_keys=False))
        for label, path in (("json", json_path), ("yaml", yaml_path)):
            rounds = yaml_repeat if label == "yaml" else repeat
            cold = []
            for index in range(rounds + 1):
                os.environ["RUNWAY_CACHE_DIR"] = str(Path(tmp) / f"cold-{label}-{index}")
                start = time.perf_counter()
                rd.Spec.load(path)
                cold.append(time.perf_counter() - start)
            warm = []
            for _ in range(rounds + 1):
                start = time.perf_counter()
                rd.Spec.load(path)
                warm.append(time.perf_counter() - start)
            out[f"cold_{label}"] = statistics.median(cold[1:]) * 1e3
            out[f"warm_{label}"] = statistics.median(warm[1:]) * 1e3
        peer = []
        for _ in range(repeat):
            start = time.perf_counter()
            orjson.loads(data)
            peer.append(time.perf_counter() - start)
        out["orjson_parse"] = statistics.median(peer) * 1e3
    return out


def _export(ref: str, into: Path) -> Path:
    """The package and spec/ of ``ref``, unpacked into ``into`` (no checkout, no worktree)."""
    archive = into / "tree.tar"
    with archive.open("wb") as handle:
        subprocess.run(["git", "-C", str(REPO), "archive", ref, "runway_dynamic", "spec"],
                       stdout=handle, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into / "tree", filter="data")
    return into / "tree"


def _run_tree(tree: Path, repeat: int, yaml_repeat: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--worker", "--repeat", str(repeat),
         "--yaml-repeat", str(yaml_repeat), "--root", str(tree)],
        capture_output=True, text=True, env=env, check=True, cwd=tree,
    )
    return json.loads(done.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", metavar="GIT_REF", help="also measure this commit")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--yaml-repeat", type=int, default=5,
                        help="loads per YAML measurement (each cold one parses ~0.5 MB of YAML)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs per tree")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        global REPO
        REPO = Path(args.root or REPO)
        print(json.dumps(_worker(args.repeat, args.yaml_repeat)))
        return 0
    trees: dict[str, Path] = {"current": REPO}
    with tempfile.TemporaryDirectory() as tmp:
        if args.against:
            trees[args.against] = _export(args.against, Path(tmp))
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
        for _ in range(args.rounds):  # alternate, so both trees see the same noise
            for name, tree in trees.items():
                runs[name].append(_run_tree(tree, args.repeat, args.yaml_repeat))
    results = {name: {key: statistics.median(r[key] for r in found) for key in found[0]}
               for name, found in runs.items()}
    keys = ("cold_json", "warm_json", "cold_yaml", "warm_yaml", "orjson_parse")
    print(f"{'median ms':14}" + "".join(f"{name[:12]:>14}" for name in results)
          + ("       ratio" if len(results) == 2 else ""))
    for key in keys:
        row = [results[name][key] for name in results]
        ratio = f"{row[0] / row[1]:12.2f}x" if len(row) == 2 and row[1] else ""
        print(f"{key:14}" + "".join(f"{value:14.2f}" for value in row) + ratio)
    current = results["current"]
    parse = current["orjson_parse"]
    cold, warm = current["cold_json"] / parse, current["warm_json"] / parse
    print(f"cold json = {cold:.1f}x orjson parse (budget {BUDGET_COLD:g}x), "
          f"warm json = {warm:.1f}x (budget {BUDGET_WARM:g}x)")
    within = cold <= BUDGET_COLD and warm <= BUDGET_WARM
    if args.against:
        before = results[args.against]
        for key in ("cold_json", "warm_json", "cold_yaml", "warm_yaml"):
            ratio = current[key] / before[key]
            print(f"{key}: {ratio:.2f}x {args.against} (budget {BUDGET_AGAINST:g}x)")
            within = within and ratio <= BUDGET_AGAINST
    print("within budget" if within else "OVER BUDGET")
    return 0 if within else 1


if __name__ == "__main__":
    sys.exit(main())
