"""Rate limits that adapt: a server that caps calls in flight, 5xx on top, a clean run, and the
whole ``workbench run`` process against a minimal client of the raw openai SDK.

    python benchmarks/bench_limits.py [--only a,b,c,d] [--repeat 1]

Prints one line per figure, each beside its floor (the best any client could do). The mock runs
in its own process (``python -m workbench.testing.mockserver``), so it does not share our GIL.

(a) 600 calls of 200 ms at concurrency 50; the server answers 20 at once, 429 + Retry-After: 1
    above that. Floor 600 / 20 x 0.2 = 6 s. Also: how long a call waited after a 429 before
    its next attempt (asked: 1 s).
(b) 500 cells at concurrency 40; the server answers 10 at once (latency 50 ms) and 5% 500s.
    Ceiling 10 / 0.05 = 200 calls/s.
(c) 2,000 clean calls of 200 ms at concurrency 50: ratio to the limit (250 calls/s).
(d) ``workbench run experiment.yaml`` (600 calls of 200 ms, concurrency 50) as a process, against
    a minimal asyncio client of the raw openai SDK making the same calls (floor 2.4 s).
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
from bench_runner import start_mock

import workbench as wb
from workbench.config import Limits, configure
from workbench.engine.limits import Slots
from workbench.engine.progress import NullProgress
from workbench.errors import ProviderError
from workbench.providers.openai_chat import OpenAIProvider


class Mock:
    """Control of the mock server process over its ``/_control`` endpoints."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.host, port = url.removeprefix("http://").split(":")
        self.port = int(port)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            conn.request(method, path, body=json.dumps(body or {}) if method == "POST" else None)
            return json.loads(conn.getresponse().read())
        finally:
            conn.close()

    def setup(self, **faults: Any) -> None:
        self.call("POST", "/_reset", {"config": True})
        self.call("POST", "/_control", faults)

    def stats(self) -> dict[str, Any]:
        return dict(self.call("GET", "/_stats"))


@contextmanager
def attempts_log() -> Iterator[list[tuple[str, float, float, int | None]]]:
    """Every attempt of the OpenAI-compatible provider: (request, start, end, error status)."""
    log: list[tuple[str, float, float, int | None]] = []
    original = OpenAIProvider.generate

    async def generate(self: OpenAIProvider, request: Any, timeout: float) -> Any:
        start = time.monotonic()
        status: int | None = None
        try:
            return await original(self, request, timeout)
        except ProviderError as exc:
            status = exc.status or 0
            raise
        finally:
            log.append((str(request.messages), start, time.monotonic(), status))

    OpenAIProvider.generate = generate  # type: ignore[method-assign]
    try:
        yield log
    finally:
        OpenAIProvider.generate = original  # type: ignore[method-assign]


@contextmanager
def retry_queueing() -> Iterator[list[float]]:
    """Seconds each retry waited for a slot (the provider's capacity), after its own sleep."""
    queued: list[float] = []
    original = Slots.acquire

    async def acquire(self: Slots, retry: bool = False) -> None:
        start = time.monotonic()
        await original(self, retry)
        if retry:
            queued.append(time.monotonic() - start)

    Slots.acquire = acquire  # type: ignore[method-assign]
    try:
        yield queued
    finally:
        Slots.acquire = original  # type: ignore[method-assign]


def waits_after_429(log: list[tuple[str, float, float, int | None]]) -> list[float]:
    """Seconds from each 429 to the next attempt of the same request."""
    by_request: dict[str, list[tuple[float, float, int | None]]] = defaultdict(list)
    for key, start, end, status in log:
        by_request[key].append((start, end, status))
    waits = []
    for attempts in by_request.values():
        attempts.sort()
        for (_, end, status), (start, _, _) in itertools.pairwise(attempts):
            if status == 429:
                waits.append(start - end)
    return waits


def run_cells(tag: str, cells: int, concurrency: int) -> tuple[float, int, wb.Results]:
    """Run ``cells`` distinct calls through the runner; (seconds, error cells, results)."""
    configure(limits={"mock": Limits(concurrency=concurrency)})
    ds = wb.Dataset(pd.DataFrame({"q": [f"{tag} {time.time_ns()} q {i}" for i in range(cells)]}))
    variant = wb.Variant("v", model="mock/bench", user="{{ q }}", params={"max_tokens": 16})
    exp = wb.Experiment(f"bench-limits-{tag}", ds, [variant])
    start = time.perf_counter()
    res = exp.run(progress=NullProgress())
    elapsed = time.perf_counter() - start
    return elapsed, int(res.df["error"].notna().sum()), res


def figure_a(mock: Mock) -> None:
    mock.setup(latency=0.2, max_in_flight=20, retry_after=1.0)
    with attempts_log() as log, retry_queueing() as queued:
        elapsed, errors, _ = run_cells("a", 600, 50)
    stats = mock.stats()
    waits = waits_after_429(log)
    wait_text = (
        f"next attempt after a 429: median {statistics.median(waits):.2f} s, max "
        f"{max(waits):.2f} s (asked 1 s; of which queued for a slot: median "
        f"{statistics.median(queued):.2f} s)"
        if waits and queued
        else "no 429 retried"
    )
    print(
        f"(a) cap 20, c50, 600 x 200 ms: {elapsed:.2f} s (floor 6.00 s, {6.0 / elapsed:.2f} "
        f"of it; target >= 0.75), {errors} error cells, {stats['over_capacity']} 429s, "
        f"{wait_text}",
        flush=True,
    )


def figure_b(mock: Mock) -> None:
    mock.setup(latency=0.05, max_in_flight=10, retry_after=1.0, error_rate=0.05, seed=11)
    elapsed, errors, _ = run_cells("b", 500, 40)
    stats = mock.stats()
    rate = 500 / elapsed
    print(
        f"(b) cap 10, c40, 500 x 50 ms, 5% 500s: {rate:.1f} calls/s (ceiling 200, "
        f"{rate / 200:.2f} of it), {elapsed:.2f} s, {errors} error cells, "
        f"{stats['over_capacity']} 429s, {stats['faults_fired']['error']} 500s",
        flush=True,
    )


def figure_c(mock: Mock) -> None:
    mock.setup(latency=0.2)
    elapsed, errors, _ = run_cells("c", 2000, 50)
    rate = 2000 / elapsed
    print(
        f"(c) clean c50, 2,000 x 200 ms: {rate:.1f} calls/s (limit 250, {rate / 250:.2f} of it; "
        f"target >= 0.85), {errors} error cells",
        flush=True,
    )


RAW_CLIENT = """
import asyncio, sys, openai
async def main(url, calls, concurrency):
    client = openai.AsyncOpenAI(base_url=url, api_key="not-needed", max_retries=0)
    gate = asyncio.Semaphore(concurrency)
    async def one(i):
        async with gate:
            r = await client.chat.completions.create(
                model="bench", max_tokens=16,
                messages=[{"role": "user", "content": f"raw {i}"}])
            return r.choices[0].message.content
    out = await asyncio.gather(*[one(i) for i in range(calls)])
    assert len(out) == calls
asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
"""

EXPERIMENT_YAML = """
name: bench-cli
dataset: questions.csv
concurrency: 50
defaults:
  model: mock/bench
  params: {max_tokens: 16}
variants:
  - name: v
    user: "{{ q }}"
scorers: []
"""


def timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{cmd[:3]} failed ({done.returncode}): {done.stderr[-2000:]}")
    return elapsed


def figure_d(mock: Mock, calls: int = 600) -> None:
    mock.setup(latency=0.2)
    with tempfile.TemporaryDirectory(prefix="bench-limits-") as tmp:
        folder = Path(tmp)
        pd.DataFrame({"q": [f"cli {time.time_ns()} q {i}" for i in range(calls)]}).to_csv(
            folder / "questions.csv", index=False
        )
        (folder / "experiment.yaml").write_text(EXPERIMENT_YAML)
        (folder / "workbench.toml").write_text(
            f'store = "store"\n[endpoints.mock]\nbase_url = "{mock.url}/v1"\n'
        )
        raw = timed([sys.executable, "-c", RAW_CLIENT, mock.url + "/v1", str(calls), "50"], folder)
        cli = [sys.executable, "-c", "import sys; from workbench.cli import main; sys.exit(main())"]
        whole = timed([*cli, "run", "experiment.yaml", "--out", "out"], folder)
        imports = timed(
            [sys.executable, "-c", "import workbench.cli, workbench.experiment"], folder
        )
    floor = calls / 50 * 0.2
    print(
        f"(d) 600 x 200 ms at c50 as a process: workbench run {whole:.2f} s, raw openai SDK "
        f"{raw:.2f} s ({whole / raw:.2f}x; target <= 1.25x; floor {floor:.1f} s); "
        f"python + workbench imports alone {imports:.2f} s",
        flush=True,
    )


FIGURES = {"a": figure_a, "b": figure_b, "c": figure_c, "d": figure_d}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="a,b,c,d", help="figures to run, e.g. a,d")
    parser.add_argument("--repeat", type=int, default=1, help="run each figure this many times")
    parser.add_argument("--url", help="use this running mock server instead of starting one")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} (2 cores shared: compare ranges)", flush=True)
    proc = None
    url = args.url
    if url is None:
        proc, url = start_mock(0.0)
    mock = Mock(url)
    with tempfile.TemporaryDirectory(prefix="bench-limits-store-") as store:
        configure(endpoints={"mock": {"base_url": url + "/v1"}}, store=store)
        try:
            for _ in range(args.repeat):
                for name in args.only.split(","):
                    FIGURES[name.strip()](mock)
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(10)
    print(f"load average {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
