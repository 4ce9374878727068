"""What the history costs: per create through the client, per task in the store, and the
speed of reading it back — each against a peer measured in the same run.

Run: python benchmarks/bench_history.py [--entries 20000] [--creates 200] [--repeat 5]

* ``create``: ``RunwayClient.create_task`` against an in-process sandbox on loopback, with
  ``history=`` a store and without (the peer). The difference is what a user pays per
  paid request for the record (an entry written before the request leaves, the answer after).
* ``task cycle``: the store alone, the writes one task causes in a CLI run (begin,
  answered, two polls that change the status, one saved file), on an empty history and on
  one of ``--entries`` entries: its cost must not grow with the history.
* ``search``: ``HistoryStore.search`` (FTS5) in ``--entries`` prompts, against the peer a
  plain table would need: ``LIKE '%word%'`` over the same rows of the same file, giving the
  same entries (common words with all hits and with the CLI's 50, and a rare word).
* ``list``: ``runway history --json`` (50 newest) as a whole process, against
  ``runway history path`` (the same start-up, no history read).

Medians of ``--repeat`` rounds; the store runs synchronous=NORMAL in WAL, as in use.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _util import fmt, median_process_seconds, median_seconds

WORDS = ("lighthouse", "dusk", "harbour", "kite", "fox", "snow", "owl", "heron", "barn",
         "pier", "waves", "night", "dawn", "cafe", "barista", "mug", "ceramic", "portrait",
         "studio", "neon", "rain", "city", "street", "market", "desert", "dune", "forest",
         "river", "mountain", "glacier")
KEY = "bench-key-not-secret-000000"


def _prompt(rng: random.Random, i: int) -> str:
    return f"shot {i}: " + " ".join(rng.choice(WORDS) for _ in range(12))


def _fill(store: Any, n: int) -> None:
    """``n`` settled entries, as many CLI runs would leave them (one transaction for speed)."""
    rng = random.Random(7)
    store.add(endpoint="text_to_image", model="gen4_image", prompt="seed", body={})
    db = store._connection()
    db.execute("BEGIN")
    now = time.time()
    for i in range(n):
        prompt = _prompt(rng, i)
        db.execute(
            "INSERT INTO entries (created, updated, command, method, endpoint, model, prompt, "
            "body, task_id, status, outputs, files) VALUES (?, ?, ?, 'POST', 'text_to_image', "
            "'gen4_image', ?, ?, ?, 'SUCCEEDED', ?, ?)",
            (now - n + i, now - n + i, f"runway image --prompt '{prompt}'", prompt,
             f'{{"model":"gen4_image","ratio":"1920:1080","promptText":"{prompt}"}}',
             f"task-{i:08d}", f'["https://cdn.example/{i}/0.png"]',
             f'["/home/me/out/runway-{i:08d}.png"]'))
    db.execute("COMMIT")


def _task_cycle(store: Any, counter: list[int]) -> None:
    i = counter[0] = counter[0] + 1
    task = f"cycle-{i}"
    entry = store.add(endpoint="text_to_image", model="gen4_image", prompt=f"a kite {i}",
                      body={"model": "gen4_image", "promptText": f"a kite {i}",
                            "ratio": "1920:1080"}, command="runway image --prompt kite")
    store.update(entry, task_id=task, status="PENDING")
    store.update_task(task, status="RUNNING")
    store.update_task(task, status="SUCCEEDED", outputs=[f"https://cdn.example/{task}.png"])
    store.add_files([f"/tmp/out/{task}.png"], task_id=task)


def bench_store(entries: int, repeat: int) -> None:
    from runway_dynamic.history import HistoryStore

    print(f"\ntask cycle (store alone: 1 add + 4 changes per task), search, list "
          f"[{entries:,} entries]")
    with tempfile.TemporaryDirectory() as tmp:
        empty = HistoryStore(Path(tmp) / "empty.sqlite3", max_bytes=None)
        full = HistoryStore(Path(tmp) / "full.sqlite3", max_bytes=None)
        _fill(full, entries)
        counter = [0]
        small = median_seconds(lambda: _task_cycle(empty, counter), repeat=repeat, number=50)
        large = median_seconds(lambda: _task_cycle(full, counter), repeat=repeat, number=50)
        print(f"  task cycle, empty history     {fmt(small)}")
        print(f"  task cycle, {entries:>6,} entries  {fmt(large)}   "
              f"({large / small:.2f}x the empty one)")

        from runway_dynamic.history import Filters
        from runway_dynamic.history.store import _COLUMNS, _entry

        db = sqlite3.connect(full.path)

        def like(*words: str, limit: int | None = None) -> list[Any]:
            """The peer: the same entries, found by a LIKE scan instead of the FTS index."""
            sql = (f"SELECT {_COLUMNS} FROM entries WHERE "
                   + " AND ".join("prompt LIKE ?" for _ in words) + " ORDER BY id DESC"
                   + (f" LIMIT {limit}" if limit else ""))
            return [_entry(r) for r in db.execute(sql, [f"%{w}%" for w in words])]

        cases = [("2 common words, all hits", ("lighthouse", "harbour"), None),
                 ("2 common words, 50 newest", ("lighthouse", "harbour"), 50),
                 ("a rare word, all hits", ("12345:",), None)]
        for label, words, limit in cases:
            query = " ".join(w.rstrip(":") for w in words)
            hits = len(full.search(query, Filters(limit=limit)))
            assert hits == len(like(*words, limit=limit)), label
            fts = median_seconds(lambda q=query, n=limit: full.search(q, Filters(limit=n)),
                                 repeat=repeat)
            scan = median_seconds(lambda w=words, n=limit: like(*w, limit=n), repeat=repeat)
            print(f"  search {label:<26}{fmt(fts)}   peer LIKE {fmt(scan).strip()} "
                  f"({fts / scan:.2f}x), {hits:,} hits")
        newest = median_seconds(lambda: full.entries(Filters(limit=50)), repeat=repeat)
        print(f"  50 newest entries (library)   {fmt(newest)}")
        db.close()

        env = {**os.environ, "RUNWAY_DATA_DIR": tmp, "RUNWAY_CONFIG_DIR": tmp,
               "RUNWAY_CACHE_DIR": tmp}
        os.replace(full.path, Path(tmp) / "history.sqlite3")
        full.close()
        listing = median_process_seconds([sys.executable, "-m", "runway_dynamic", "history",
                                          "--json"], repeat=repeat, env=env)
        path_only = median_process_seconds([sys.executable, "-m", "runway_dynamic", "history",
                                            "path"], repeat=repeat, env=env)
        print(f"  runway history --json (proc)  {fmt(listing)}   peer 'runway history path' "
              f"{fmt(path_only).strip()} ({(listing - path_only) * 1e3:+.1f} ms to read 50)")
        empty.close()


def bench_creates(creates: int, repeat: int) -> None:
    from runway_dynamic import RunwayClient
    from runway_dynamic.history import HistoryStore
    from runway_dynamic.sandbox import Sandbox
    from runway_dynamic.spec import load_spec

    spec = load_spec()
    model = next(m for m in spec.models("text_to_image")
                 if {f.name for f in spec.fields("text_to_image", m)["required"]}
                 <= {"model", "promptText", "ratio"} and spec.ratios("text_to_image", m))
    body = {"model": model, "promptText": "a kite over the harbour",
            "ratio": spec.ratios("text_to_image", model)[0]}
    print(f"\ncreate through RunwayClient against an in-process sandbox ({creates} per round)")
    from runway_dynamic.sandbox.state import OrgLimits

    limits = OrgLimits(concurrency=None, daily=None, credits=None)  # never throttles
    with tempfile.TemporaryDirectory() as tmp, Sandbox(spec=spec, task_seconds=0.05,
                                                       limits=limits) as sb:
        store = HistoryStore(Path(tmp) / "history.sqlite3")
        with RunwayClient(KEY, base_url=sb.base_url, spec=spec, history=store) as recorded, \
                RunwayClient(KEY, base_url=sb.base_url, spec=spec) as bare:
            def run(client: Any) -> None:
                for _ in range(creates):
                    client.create_task("text_to_image", body)

            pairs = []
            for _ in range(repeat):  # interleaved: both see the same machine load
                pairs.append((median_seconds(lambda: run(bare), repeat=1) / creates,
                              median_seconds(lambda: run(recorded), repeat=1) / creates))
        without = sorted(p[0] for p in pairs)[len(pairs) // 2]
        with_history = sorted(p[1] for p in pairs)[len(pairs) // 2]
        print(f"  without history (peer)        {fmt(without)} per create")
        print(f"  with history                  {fmt(with_history)} per create   "
              f"(+{fmt(with_history - without).strip()}, "
              f"{with_history / without:.2f}x)")
        print(f"  entries recorded              {store.count():,}")
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--creates", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, sqlite {sqlite3.sqlite_version}")
    bench_creates(args.creates, args.repeat)
    bench_store(args.entries, args.repeat)


if __name__ == "__main__":
    main()
