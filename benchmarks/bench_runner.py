"""Runner throughput against the loopback mock server, peak memory, and a fully cached rerun.

    python benchmarks/bench_runner.py [--latency 0.2] [--concurrency 1,10,50,200]
                                      [--seconds 4] [--cached-cells 10000]

Prints one line per figure. The mock runs in its own process so it does not share our GIL.
The limit for a given concurrency is concurrency / latency calls per second.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

import workbench as wb
from workbench.config import Limits, configure
from workbench.engine.progress import NullProgress


def start_mock(latency: float) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "workbench.testing.mockserver",
            "--port",
            "0",
            "--latency",
            str(latency),
            "--max-seconds",
            "900",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("READY "):
        proc.kill()
        raise SystemExit(f"mock server did not start: {line!r}")
    return proc, line.split(" ", 1)[1]


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def throughput(url: str, latency: float, concurrency: int, calls: int, quiet: bool = False) -> None:
    configure(
        endpoints={"mock": {"base_url": url + "/v1"}},
        limits={"mock": Limits(concurrency=concurrency)},
        max_retries=0,
    )
    tag = "warm" if quiet else f"c{concurrency}"
    ds = wb.Dataset(pd.DataFrame({"q": [f"{tag} question {i}" for i in range(calls)]}))
    variant = wb.Variant("v", model="mock/bench", user="{{ q }}", params={"max_tokens": 16})
    exp = wb.Experiment("bench-throughput", ds, [variant])
    cpu = cpu_seconds()
    start = time.perf_counter()
    res = exp.run(progress=NullProgress())
    elapsed = time.perf_counter() - start
    cpu = cpu_seconds() - cpu
    if quiet:
        return
    errors = int(res.df["error"].notna().sum())
    rate = calls / elapsed
    limit = concurrency / latency
    print(
        f"throughput: {rate:.1f} calls/s at concurrency {concurrency}, latency "
        f"{latency * 1000:.0f} ms ({calls} calls, {errors} errors, {elapsed:.2f} s)"
    )
    print(f"ratio to limit: {rate / limit:.2f} (limit {limit:.0f} calls/s)")
    print(f"overhead per call: {max(0.0, elapsed * concurrency / calls - latency) * 1000:.1f} ms")
    print(f"CPU per call (this process, c{concurrency}): {cpu / calls * 1000:.2f} ms")


def cached_rerun(cells: int) -> None:
    ds = wb.Dataset(pd.DataFrame({"q": [f"question {i}" for i in range(cells // 2)]}))
    a = wb.Variant("a", model="fake/echo", user="{{ q }}")
    exp = wb.Experiment("bench-cache", ds, [a, a.replace(name="b", system="Be brief.")])
    start = time.perf_counter()
    exp.run(progress=NullProgress())
    first = time.perf_counter() - start
    start = time.perf_counter()
    res = exp.run(progress=NullProgress())
    again = time.perf_counter() - start
    assert bool(res.df["cached"].all())
    print(f"first run of {len(res.df)} cells on fake/echo: {first:.2f} s")
    print(
        f"fully cached rerun of {len(res.df)} cells: {again:.2f} s "
        f"({again / len(res.df) * 1e6:.0f} us/cell)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", default="1,10,50,200", help="comma-separated levels")
    parser.add_argument("--seconds", type=float, default=4.0, help="target run time per level")
    parser.add_argument("--cached-cells", type=int, default=10_000)
    parser.add_argument(
        "--rss-calls", type=int, default=10_000, help="calls at concurrency 200, then peak RSS"
    )
    parser.add_argument(
        "--gc-tuning", choices=["on", "off"], default="on", help="the gc_tuning setting"
    )
    parser.add_argument(
        "--heap-objects",
        type=int,
        default=0,
        help="keep this many small objects alive first, as a notebook's heap would",
    )
    args = parser.parse_args()
    configure(gc_tuning=args.gc_tuning == "on")
    heap = [{"i": i, "s": str(i)} for i in range(args.heap_objects)]  # noqa: F841 - kept alive
    print(f"gc_tuning {args.gc_tuning}, {args.heap_objects:,} objects on the heap")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["WORKBENCH_STORE"] = str(Path(tmp) / "store")
        proc, url = start_mock(args.latency)
        try:
            throughput(url, args.latency, 1, 2, quiet=True)  # warm-up: SDK import, first connection
            for level in [int(c) for c in args.concurrency.split(",")]:
                calls = max(level, int(args.seconds * level / args.latency))
                throughput(url, args.latency, level, calls)
            if args.rss_calls:
                throughput(url, args.latency, 200, args.rss_calls)
                print(
                    f"peak RSS after {args.rss_calls} calls through the mock: {peak_rss_mb():.0f} MB"
                )
        finally:
            proc.terminate()
            proc.wait(10)
        cached_rerun(args.cached_cells)
        print(f"peak RSS: {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
