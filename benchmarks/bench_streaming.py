"""Streaming against non-streaming: throughput and CPU per call at one concurrency, through the
real SDK paths (an OpenAI-compatible endpoint, and Anthropic), against the loopback mock server.

    python benchmarks/bench_streaming.py [--latency 0.2] [--concurrency 50] [--seconds 6]
                                         [--repeat 2] [--apis openai,anthropic]

Runs alternate (stream off, on, off, on, ...) so load from other processes falls on both alike.
Prints one line per run, then the streamed / non-streamed ratio of the median calls/s per API.
The mock runs in its own process so it does not share our GIL.

First it times, without any network, what streaming adds per call on the client: reading a
reply's server-sent events into a body, against parsing the body of a plain call (CPU time, so
load from other processes moves it little).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))

from bench_runner import cpu_seconds, start_mock

import workbench as wb
from workbench.config import Limits, configure
from workbench.engine.progress import NullProgress
from workbench.providers.anthropic_messages import MessageStream, parse_message
from workbench.providers.openai_chat import ChatStream, parse_chat
from workbench.providers.sse import sse_events
from workbench.testing.mockcore import parse_request
from workbench.testing.mockreply import make_reply, reply_body, reply_events

MODELS = {"openai": "mock/bench", "anthropic": "anthropic/claude-haiku-4-5"}


def one_run(api: str, stream: bool, concurrency: int, calls: int, tag: str) -> tuple[float, float]:
    """(calls/s, ms of CPU per call) of one run of ``calls`` fresh calls."""
    configure(stream=stream)
    ds = wb.Dataset(pd.DataFrame({"q": [f"{tag} question {i}" for i in range(calls)]}))
    variant = wb.Variant("v", model=MODELS[api], user="{{ q }}", params={"max_tokens": 16})
    exp = wb.Experiment("bench-streaming", ds, [variant], concurrency=concurrency)
    cpu = cpu_seconds()
    start = time.perf_counter()
    res = exp.run(progress=NullProgress())
    elapsed = time.perf_counter() - start
    cpu = cpu_seconds() - cpu
    errors = int(res.df["error"].notna().sum())
    if errors:
        raise SystemExit(f"{errors} errors: {res.df['error'].dropna().iloc[0]}")
    if stream and res.df["ttft_ms"].isna().any():
        raise SystemExit("a streamed call recorded no time to first token")
    return calls / elapsed, cpu / calls * 1000


def parse_cost(api: str, n: int = 20_000) -> tuple[float, float]:
    """(µs of CPU to parse a plain reply body, µs to read the same reply streamed) per call."""
    shape = "anthropic" if api == "anthropic" else "openai"
    body = {"model": "m", "messages": [{"role": "user", "content": "what is the capital"}]}
    body["max_tokens"] = 16
    req = parse_request(shape, json.dumps(body).encode())  # type: ignore[arg-type]
    reply = make_reply(req, {}, 0, (0, 0))
    plain = json.dumps(reply_body(req, reply)).encode()
    events = b"".join(reply_events(req, reply))
    parse = parse_message if shape == "anthropic" else parse_chat
    stream = MessageStream if shape == "anthropic" else ChatStream

    decode = json.JSONDecoder().decode

    async def chunks() -> Any:
        yield events

    async def streamed() -> None:
        for _ in range(n):
            acc = stream("bench")
            async for event, data in sse_events(chunks()):
                if event in acc.skip:
                    continue
                done = data == b"[DONE]"
                acc.add("[DONE]" if done else event, {} if done else decode(data.decode()))
            parse(acc.body(), "bench")

    start = time.process_time()
    for _ in range(n):
        parse(json.loads(plain), "bench")
    flat = (time.process_time() - start) / n * 1e6
    start = time.process_time()
    asyncio.run(streamed())
    return flat, (time.process_time() - start) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=6.0, help="target run time per run")
    parser.add_argument("--repeat", type=int, default=2, help="runs per API and mode")
    parser.add_argument("--apis", default="openai,anthropic")
    args = parser.parse_args()
    os.environ.setdefault("ANTHROPIC_API_KEY", "sk-ant-bench-" + "x" * 24)
    for api in args.apis.split(","):
        flat, streamed = parse_cost(api)
        print(
            f"{api}: client CPU to read a reply: {flat:.0f} µs as one body, {streamed:.0f} µs "
            f"streamed (+{streamed - flat:.0f} µs per call)"
        )
    calls = max(args.concurrency, int(args.seconds * args.concurrency / args.latency))
    limit = args.concurrency / args.latency
    print(
        f"concurrency {args.concurrency}, latency {args.latency * 1000:.0f} ms, {calls} calls "
        f"a run (limit {limit:.0f} calls/s), load average {os.getloadavg()[0]:.1f}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["WORKBENCH_STORE"] = str(Path(tmp) / "store")
        proc, url = start_mock(args.latency)
        try:
            configure(
                endpoints={"mock": {"base_url": url + "/v1"}},
                provider_urls={"anthropic": url},
                limits={
                    "mock": Limits(concurrency=args.concurrency),
                    "anthropic": Limits(concurrency=args.concurrency),
                },
                max_retries=0,
            )
            apis = args.apis.split(",")
            for api in apis:  # warm-up: SDK import, first connections
                one_run(api, False, 2, 2, f"warm-{api}-plain")
                one_run(api, True, 2, 2, f"warm-{api}-stream")
            rates: dict[tuple[str, bool], list[float]] = {}
            for n in range(args.repeat):
                for api in apis:
                    for stream in (False, True):
                        tag = f"{api}-{stream}-{n}"
                        rate, cpu = one_run(api, stream, args.concurrency, calls, tag)
                        rates.setdefault((api, stream), []).append(rate)
                        print(
                            f"{api:9} stream={'on ' if stream else 'off'} run {n + 1}: "
                            f"{rate:6.1f} calls/s ({rate / limit:.2f} of the limit), "
                            f"{cpu:.2f} ms CPU/call"
                        )
            for api in apis if rates else []:
                plain = statistics.median(rates[(api, False)])
                streamed = statistics.median(rates[(api, True)])
                print(
                    f"{api}: streamed / not streamed = {streamed / plain:.3f} "
                    f"(medians {streamed:.1f} / {plain:.1f} calls/s)"
                )
        finally:
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    main()
