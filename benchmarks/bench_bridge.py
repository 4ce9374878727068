"""The realtime bridge's pipeline: CPU per output second, and frame latency.

Run: python benchmarks/bench_bridge.py [--seconds 10] [--repeat 3]

Source: the sandbox's example video (ffmpeg's testsrc2) at 1280x720, 30 fps, with its
440 Hz tone (AAC 48 kHz mono) — a busier picture than a talking head, so the figures are on
the high side. Three output shapes:

* ``watch``: the watch preset — 256x256 cover, 8 fps, H.264 fMP4, 200 kbps, no sound;
* ``720p``: 1280x720, 30 fps, H.264 fMP4, 2.5 Mbps, no sound;
* ``watch+a``: the watch preset with the voice: AAC 48 kHz mono at 64 kbps in the same
  fMP4 (the sound decoded, resampled and encoded too; ffmpeg does the same).

CPU per output second: frames are decoded and pushed as fast as they go (no pacing) until
``--seconds`` of output are made; CPU is the process's user+system time over the run
(decoding the source included, as a LiveKit track's decoding would be). The peer is the
``ffmpeg`` command line doing the same crop/scale/encode on the same file in the same run
(its CPU from ``getrusage`` of the child); the ratio is ours ÷ ffmpeg's.

Latency: the source is paced live (real time), and each frame's latency is from the moment
the source hands it over to the moment its encoded packet exists (crop, scale, encode, on
the worker thread), median and p95 over the run.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from runway_dynamic.realtime.pipeline import ChunkSink, run_pipeline
from runway_dynamic.realtime.settings import BridgeSettings
from runway_dynamic.realtime.sources import file_frames, sandbox_media

SHAPES = {
    "watch": BridgeSettings.from_preset("watch", audio=False),
    "720p": BridgeSettings.from_preset(None, width=1280, height=720, fps=30, codec="h264",
                                       bitrate=2_500_000, audio=False),
    "watch+a": BridgeSettings.from_preset("watch"),
}


def ours(media: bytes, settings: BridgeSettings, seconds: float, live: bool) -> dict:
    sent = [0]

    def deliver(chunk: object) -> None:
        sent[0] += 1

    async def go() -> object:
        return await run_pipeline(
            file_frames(media, loop=True, realtime=live, audio=settings.audio), settings,
            [ChunkSink(settings, deliver)], duration=seconds)

    start = time.process_time()
    stats = asyncio.run(go())
    cpu = time.process_time() - start
    return {"cpu_per_output_second": cpu / stats.output_seconds,  # type: ignore[attr-defined]
            "latencies": stats.latencies}  # type: ignore[attr-defined]


def ffmpeg_peer(source: Path, settings: BridgeSettings, seconds: float) -> float:
    """CPU seconds per output second of the ffmpeg CLI doing the same work."""
    width, height = settings.output_size(1280, 720)
    geo = settings.geometry(1280, 720)
    x, y, w, h = geo.crop
    chain = f"crop={w}:{h}:{x}:{y},scale={width}:{height},fps={settings.fps:g}"
    sound = (["-c:a", "aac", "-ar", "48000", "-ac", "1", "-b:a", str(settings.audio_bitrate)]
             if settings.audio else ["-an"])
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-stream_loop", "-1", "-i", str(source),
         "-t", str(seconds), "-vf", chain, "-c:v", "libx264", "-preset", "veryfast",
         "-tune", "zerolatency", "-g", str(settings.gop_size), "-bf", "0",
         "-b:v", str(settings.bitrate), "-maxrate", str(settings.bitrate),
         "-bufsize", str(settings.bitrate), *sound, "-f", "mp4",
         "-movflags", "empty_moov+default_base_moof+frag_every_frame", "-y", "/dev/null"],
        check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu / seconds


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    media = sandbox_media((1280, 720), 30, 2.0)
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "source.mp4"
        source.write_bytes(media)
        print(f"source: 1280x720 30 fps, {len(media) // 1024} KiB; "
              f"{args.seconds:g} s of output per round, median of {args.repeat}")
        print(f"{'shape':<7} {'CPU s / output s':>17} {'ffmpeg CLI':>11} {'ratio':>6} "
              f"{'latency p50':>12} {'p95':>8}")
        for name, settings in SHAPES.items():
            cpu, peer, p50, p95 = [], [], [], []
            for _ in range(args.repeat):
                cpu.append(ours(media, settings, args.seconds, live=False)
                           ["cpu_per_output_second"])
                peer.append(ffmpeg_peer(source, settings, args.seconds))
                live = ours(media, settings, min(args.seconds, 5.0), live=True)["latencies"]
                p50.append(statistics.median(live))
                p95.append(percentile(live, 0.95))
            mine, theirs = statistics.median(cpu), statistics.median(peer)
            middle, high = statistics.median(p50) * 1e3, statistics.median(p95) * 1e3
            print(f"{name:<7} {mine:>17.3f} {theirs:>11.3f} {mine / theirs:>6.2f} "
                  f"{middle:>9.1f} ms {high:>5.1f} ms")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
