"""The sandbox under load: requests per second and CPU per request of ``runway sandbox serve``
against the CPU a bare httpx client spends on the same requests, measured in the same run.

Run: python benchmarks/bench_sandbox.py [--tasks 1000] [--repeat 3] [--connections 64 256 1000]
     python benchmarks/bench_sandbox.py --in-flight 64 256 1000 [--repeat 3]

Each round starts a fresh ``runway sandbox serve`` (own process, limits raised so that it
never throttles, tasks take ``TASK_SECONDS``) and a fresh client process: a bare
``httpx.AsyncClient`` with a pool of N connections that creates ``--tasks`` text_to_image
tasks at once (``asyncio.gather``) and polls each every ``POLL`` s until it has finished —
what a user's ten-line script does. CPU is user + system time: the client's from
``getrusage`` in its own process, the sandbox's from ``/proc/PID/task/*/schedstat`` before and after
the round (the sum of its threads' run time), so each side is measured alone. Before the
measured span the sandbox answers one create and one poll: what it does once per process
(imports, compiling the pre-flight and response-schema checks) is not per request, as the
clients' one-off costs are not. Every failed request is counted by exception type: a lost
create answer is what a batch cannot recover from, so ``errors`` must be 0.

The goal (issue 16): the sandbox spends at most a third of the client's CPU per request.
Measured 2026-12 against our client (``ours``), medians and ranges of 3 rounds, before
(Starlette, h11, conform on every answer) and after (plain ASGI, httptools, compiled
checks of answers): ``--in-flight`` 64/256/1000: 0.52 (0.52-0.52) / 0.55 (0.54-0.55) /
0.56 (0.55-0.56) before, 0.24 (0.23-0.25) / 0.26 (0.25-0.27) / 0.27 (0.25-0.27) after;
0.51/0.49/0.50 ms of sandbox CPU per request before, 0.24/0.22/0.23 after.

The same rounds run with the library's own client in place of the bare one (``ours``):
``AsyncRunwayClient(..., max_connections=N)``, one ``client.run`` (create, then poll
every ``POLL`` s) per task, all at once. Goal: ours spends less CPU per request than the
bare client at every size. Both clients' rounds use a fresh sandbox each.

``--in-flight N ...`` measures the library as a user gets it: N tasks at once, and both
clients with their defaults — ``httpx.AsyncClient()`` (httpx's pool: 100 connections, 20
kept alive) against ``AsyncRunwayClient()`` with nothing but the URL, poll interval and
timeout. A round then costs a few hundred requests at N=64, so the fixed costs that are not
per request (importing, loading the spec, compiling the pre-flight validator) are paid
before the measured span in both clients.

``--startup`` measures instead what ``runway --sandbox`` adds to a command (the sandbox
starts in-process on a loopback port and stops at the end): wall and CPU time of
``runway models`` with and without ``--sandbox``, and of a ``--sandbox video ... --download``
(create, poll, download one MP4), medians of ``--repeat`` whole processes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from typing import Any

TASK_SECONDS = 0.5
POLL = 0.25
CONNECTIONS = (64, 256, 1000)
HUGE = "1000000000"


def _body() -> dict[str, Any]:
    from runway_dynamic.spec import load_spec

    spec = load_spec()
    for model in spec.models("text_to_image"):
        required = {f.name for f in spec.fields("text_to_image", model)["required"]}
        ratios = spec.ratios("text_to_image", model)
        if required <= {"model", "promptText", "ratio"} and ratios:
            return {"model": model, "promptText": "a lighthouse", "ratio": ratios[0]}
    raise SystemExit("no text_to_image model with only promptText and ratio in this spec")


def _headers() -> dict[str, str]:
    from runway_dynamic.spec import load_spec

    headers = {"Authorization": "Bearer bench-key-not-secret"}
    for op in load_spec().catalog.operations:
        headers.update(op.constant_headers)
    return headers


def child(url: str, tasks: int, connections: int) -> None:
    """The bare client: prints one JSON line with its CPU, wall time, requests and errors."""
    import httpx

    body, headers = _body(), _headers()
    errors: dict[str, int] = {}
    requests = 0

    async def one(client: httpx.AsyncClient) -> None:
        nonlocal requests
        try:
            requests += 1
            created = await client.post("/v1/text_to_image", json=body)
            created.raise_for_status()
            task_id = created.json()["id"]
            while True:
                await asyncio.sleep(POLL)
                requests += 1
                polled = await client.get(f"/v1/tasks/{task_id}")
                polled.raise_for_status()
                if polled.json()["status"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
                    return
        except Exception as exc:  # counted, not raised: the round reports every failure
            errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1

    async def run() -> None:
        pool = ({"limits": httpx.Limits(max_connections=connections,
                                        max_keepalive_connections=connections)}
                if connections else {})  # 0: httpx's default pool
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60,
                                     **pool) as client:
            await asyncio.gather(*(one(client) for _ in range(tasks)))

    _measured(run, lambda: requests, errors)


def child_ours(url: str, tasks: int, connections: int) -> None:
    """The library's client doing what :func:`child` does; the same JSON line."""
    import httpx

    from runway_dynamic.client import AsyncRunwayClient
    from runway_dynamic.spec import load_spec

    spec, body = load_spec(), _body()
    spec.validator.validate("text_to_image", body)  # compiled once per process, not per request
    errors: dict[str, int] = {}
    requests = 0

    def count(request: httpx.Request) -> None:
        nonlocal requests
        requests += 1

    async def one(client: AsyncRunwayClient) -> None:
        try:
            await client.run("text_to_image", body, timeout=300)
        except Exception as exc:  # counted, not raised: the round reports every failure
            errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1

    async def run() -> None:
        pool = {"max_connections": connections} if connections else {}  # 0: our defaults
        async with AsyncRunwayClient("bench-key-not-secret", base_url=url, spec=spec,
                                     poll_interval=POLL, timeout=60, **pool) as client:
            client._http.event_hooks["request"].append(_async(count))
            await asyncio.gather(*(one(client) for _ in range(tasks)))

    _measured(run, lambda: requests, errors)


def _measured(run: Any, requests: Any, errors: dict[str, int]) -> None:
    """Run the round; print its CPU, wall time, request count and errors as one JSON line.

    What httpx imports on its first client and request (httpcore, anyio's backend, h11) is
    imported first: a one-off cost, the same for both clients, and at N=64 a third of the
    round's CPU."""
    import anyio._backends._asyncio  # noqa: F401
    import h11  # noqa: F401
    import httpcore  # noqa: F401

    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    asyncio.run(run())
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(json.dumps({"cpu": cpu, "wall": wall, "requests": requests(), "errors": errors}))


def _async(hook: Any) -> Any:
    async def wrapped(request: Any) -> None:
        hook(request)

    return wrapped


def _proc_cpu(pid: int) -> float:
    """User + system seconds of a running process (Linux ``/proc``): the sum of its
    threads' run time in ns (``schedstat``; ``stat`` counts 10 ms ticks, too coarse for a
    round of a few hundred requests), else ``stat``'s ticks."""
    try:
        total = 0
        for thread in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{thread}/schedstat") as sched:
                total += int(sched.read().split()[0])
        return total / 1e9
    except (OSError, ValueError, IndexError):
        pass
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _sandbox() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "runway_dynamic", "sandbox", "serve", "--no-auth",
         "--task-seconds", str(TASK_SECONDS), "--concurrency-limit", HUGE,
         "--daily-limit", HUGE, "--credits", HUGE],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http"):
        proc.kill()
        raise SystemExit("the sandbox did not start")
    return proc, url


def _warm_up(url: str) -> None:
    """One create and one poll before the measured span: what the sandbox does once per
    process (importing, compiling the body's pre-flight and the response schemas' checks)
    is not per request, as the clients' own one-off costs are not (see ``_measured``)."""
    import httpx

    with httpx.Client(base_url=url, headers=_headers(), timeout=60) as client:
        created = client.post("/v1/text_to_image", json=_body())
        created.raise_for_status()
        client.get(f"/v1/tasks/{created.json()['id']}").raise_for_status()


def round_(tasks: int, connections: int, kind: str = "bare") -> dict[str, Any]:
    proc, url = _sandbox()
    try:
        _warm_up(url)
        server_before = _proc_cpu(proc.pid)
        done = subprocess.run(
            [sys.executable, __file__, "--child", "--url", url, "--tasks", str(tasks),
             "--connections", str(connections), "--kind", kind],
            capture_output=True, text=True, check=True)
        server = _proc_cpu(proc.pid) - server_before
    finally:
        proc.terminate()
        proc.wait(10)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["server_cpu"] = server
    return result


def _process(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one whole process."""
    before = os.times()
    start = time.perf_counter()
    subprocess.run(argv, capture_output=True, env=env, check=True)
    wall = time.perf_counter() - start
    after = os.times()
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system)
    return wall, cpu


def startup(repeat: int) -> None:
    import tempfile

    runway = [sys.executable, "-m", "runway_dynamic"]
    body = _body()
    with tempfile.TemporaryDirectory() as out:
        env = {**os.environ, "RUNWAY_SANDBOX_TASK_SECONDS": "0.2", "HOME": out,
               "XDG_CACHE_HOME": out + "/cache", "XDG_CONFIG_HOME": out + "/config"}
        commands = {
            "runway models": [*runway, "models"],
            "runway --sandbox models": [*runway, "--sandbox", "models"],
            "runway --sandbox image ... --download": [
                *runway, "--sandbox", "image", "--model", body["model"], "--prompt-text",
                body["promptText"], "--ratio", body["ratio"], "--download",
                "--output-dir", out + "/files"],
        }
        video = _video_args()
        if video:
            commands["runway --sandbox video ... --download"] = [
                *runway, "--sandbox", "video", *video, "--download",
                "--output-dir", out + "/files"]
        for argv in commands.values():
            _process(argv, env)  # warm the page cache and the index cache
        print(f"whole processes, median of {repeat}; {os.cpu_count()} CPUs")
        print(f"\n{'command':<40} {'wall ms':>8} {'CPU ms':>7}")
        for name, argv in commands.items():
            runs = [_process(argv, env) for _ in range(repeat)]
            wall = statistics.median(w for w, _ in runs) * 1e3
            cpu = statistics.median(c for _, c in runs) * 1e3
            print(f"{name:<40} {wall:>8.0f} {cpu:>7.0f}", flush=True)


def _video_args() -> list[str] | None:
    """Flags for the first text_to_video model whose required fields are plain values."""
    from runway_dynamic.spec import load_spec

    spec = load_spec()
    for model in spec.models("text_to_video"):
        required = {f.name for f in spec.fields("text_to_video", model)["required"]}
        ratios = spec.ratios("text_to_video", model)
        if required <= {"model", "promptText", "ratio", "duration"} and ratios:
            args = ["--model", model, "--prompt-text", "a fox", "--ratio", ratios[0]]
            return args + (["--duration", "5"] if "duration" in required else [])
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--connections", type=int, nargs="*", default=list(CONNECTIONS))
    parser.add_argument("--in-flight", type=int, nargs="*", metavar="N",
                        help="N tasks at once, both clients with their default pools")
    parser.add_argument("--startup", action="store_true",
                        help="measure what --sandbox adds to a command instead")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--kind", default="bare", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        (child_ours if args.kind == "ours" else child)(args.url, args.tasks,
                                                       args.connections[0])
        return
    if args.startup:
        startup(max(args.repeat, 5))
        return

    if args.in_flight:
        print(f"N tasks in flight, created and polled every {POLL}s (tasks take "
              f"{TASK_SECONDS}s); both clients with their defaults; client and sandbox in "
              f"separate processes; {os.cpu_count()} CPUs; median of {args.repeat}")
        rounds_of = [(n, n, 0) for n in args.in_flight]
    else:
        print(f"{args.tasks} tasks created and polled every {POLL}s (tasks take "
              f"{TASK_SECONDS}s); a pool of N connections in both clients; client and "
              f"sandbox in separate processes; {os.cpu_count()} CPUs; median of {args.repeat}")
        rounds_of = [(c, args.tasks, c) for c in args.connections]
    print(f"\n{'client':>6} {'N':>5} {'requests':>8} {'req/s':>7} "
          f"{'sandbox CPU ms/req':>19} {'client CPU ms/req':>18} {'sandbox/client':>17} "
          f"{'ours/bare':>10}  errors")
    for n, tasks, connections in rounds_of:
        both = [(round_(tasks, connections), round_(tasks, connections, "ours"))
                for _ in range(args.repeat)]
        _report(n, both)
    print("\nsandbox/client, ours/bare: median (and range) of the per-round ratios of CPU per "
          "request; each round pairs the two clients back to back.")


def _report(n: int, both: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
    """One line per client for size ``n``: medians over the rounds, ours/bare with its range."""
    versus = [(o["cpu"] / o["requests"]) / (b["cpu"] / b["requests"]) for b, o in both]
    for index, kind in enumerate(("bare", "ours")):
        rounds = [pair[index] for pair in both]
        requests = statistics.median(r["requests"] for r in rounds)
        rate = statistics.median(r["requests"] / r["wall"] for r in rounds)
        server = statistics.median(r["server_cpu"] / r["requests"] * 1e3 for r in rounds)
        client = [r["cpu"] / r["requests"] * 1e3 for r in rounds]
        ratios = [r["server_cpu"] / r["cpu"] for r in rounds]
        ratio = f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})"
        errors: dict[str, int] = {}
        for r in rounds:
            for name, count in r["errors"].items():
                errors[name] = errors.get(name, 0) + count
        shown = (f"{statistics.median(versus):.2f} ({min(versus):.2f}-{max(versus):.2f})"
                 if kind == "ours" else "")
        print(f"{kind:>6} {n:>5} {requests:>8.0f} {rate:>7.1f} {server:>19.3f} "
              f"{statistics.median(client):>7.3f} ({min(client):.2f}-{max(client):.2f}) "
              f"{ratio:>17} {shown:>10}  {errors or 0}", flush=True)


if __name__ == "__main__":
    main()
