"""Benchmark: the whole gateway over a call, on one core, faster than real time.

Prints the real-time factor of `lineguard replay` (line simulation, 48 kHz
decimation, spotter, policy, events) on the bundled demo call, and peak RSS.
Run with `make bench`.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from lineguard.app import DEMO_CALL  # noqa: E402
from lineguard.config import parse_settings  # noqa: E402
from lineguard.replay import build_replay, run_rig  # noqa: E402
from lineguard.sinks import MemorySink  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--audio", type=Path, default=DEMO_CALL)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rate", type=int, default=48000, help="simulated device rate")
    args = parser.parse_args()
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})   # one core
    settings = parse_settings({"audio": {"sample_rate_hz": args.rate}})
    best = float("inf")
    for _ in range(args.runs):
        sink = MemorySink()
        rig = build_replay(args.audio, settings, sinks=[sink])
        start = time.perf_counter()
        run_rig(rig)
        best = min(best, time.perf_counter() - start)
        simulated_s = rig.clock.now()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kinds = [e.TYPE for e in sink.events if e.TYPE != "status"]
    print(f"pipeline  audio {args.audio.name}, device rate {args.rate} Hz, {simulated_s:.1f} s of line time")
    print(f"pipeline  wall {best:.3f} s (best of {args.runs}) -> real-time factor {simulated_s / best:.0f}x on one core")
    print(f"pipeline  peak RSS {rss_mb:.0f} MB")
    print(f"pipeline  events: {', '.join(kinds)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
