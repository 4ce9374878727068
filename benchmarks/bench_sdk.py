"""runway_dynamic.RunwayML against the official SDK (runwayml) it stands in for, same run.

Run: python benchmarks/bench_sdk.py [--repeat 7] [--calls 50]

- start-up: a whole process that imports the client and makes it (``RunwayML(api_key=,
  base_url=)``), median of ``--repeat`` processes, against ``python -c pass``;
- per call, against one sandbox on loopback: ``tasks.retrieve(id)`` and
  ``text_to_image.create(...)`` (ours runs pre-flight first; the official SDK sends as is),
  medians of ``--repeat`` rounds of ``--calls`` calls.

Ratios (ours / official) are what to read; milliseconds move with the machine's load.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import fmt, median_process_seconds, median_seconds

KEY = "key_bench_sdk_not_secret_0123"
CREATE = {"model": "gen4_image", "prompt_text": "a lighthouse", "ratio": "1920:1080"}


def _startup(repeat: int, base_url: str) -> dict[str, float]:
    env = {**os.environ, "RUNWAYML_API_SECRET": KEY, "RUNWAYML_BASE_URL": base_url}
    code = "import {0}; {0}.RunwayML()"
    return {
        "python -c pass": median_process_seconds([sys.executable, "-c", "pass"],
                                                 repeat=repeat, env=env),
        "runwayml": median_process_seconds([sys.executable, "-c", code.format("runwayml")],
                                           repeat=repeat, env=env),
        "runway_dynamic": median_process_seconds(
            [sys.executable, "-c", code.format("runway_dynamic")], repeat=repeat, env=env),
    }


def _per_call(client: Any, task_id: str, repeat: int, calls: int) -> dict[str, float]:
    return {
        "tasks.retrieve": median_seconds(lambda: client.tasks.retrieve(task_id),
                                         repeat=repeat, number=calls),
        "text_to_image.create": median_seconds(lambda: client.text_to_image.create(**CREATE),
                                               repeat=repeat, number=calls),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--calls", type=int, default=50)
    args = parser.parse_args()

    import runwayml

    import runway_dynamic
    from runway_dynamic.sandbox import OrgLimits, Sandbox

    unlimited = OrgLimits(concurrency=10**6, daily=10**9, credits=10**12)
    with Sandbox(task_seconds=60, limits=unlimited) as sandbox:
        startup = _startup(args.repeat, sandbox.base_url)
        official = runwayml.RunwayML(api_key=KEY, base_url=sandbox.base_url)
        ours = runway_dynamic.RunwayML(api_key=KEY, base_url=sandbox.base_url)
        task_id = ours.text_to_image.create(**CREATE).id
        calls = {"runwayml": _per_call(official, task_id, args.repeat, args.calls),
                 "runway_dynamic": _per_call(ours, task_id, args.repeat, args.calls)}
        official.close()
        ours.close()

    base = startup["python -c pass"]
    print("start-up (import + make a client), whole process:")
    for name, seconds in startup.items():
        print(f"  {name:16} {fmt(seconds)}  {seconds / base:5.1f}x python -c pass")
    print(f"  ours / official: {startup['runway_dynamic'] / startup['runwayml']:.2f}")
    print("per call, to the sandbox on loopback:")
    for what in calls["runwayml"]:
        theirs, mine = calls["runwayml"][what], calls["runway_dynamic"][what]
        print(f"  {what:22} runwayml {fmt(theirs)}  runway_dynamic {fmt(mine)}  "
              f"ours / official {mine / theirs:.2f}")


if __name__ == "__main__":
    main()
