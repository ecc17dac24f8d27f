"""Subprocess entry point for tests/test_resume.py: one experiment against a mock server.

    python tests/scripts/run_experiment.py --url http://127.0.0.1:PORT --store DIR \
        --name NAME --rows 0:80 [--concurrency 4] [--max-retries 3] [--ready FILE --go FILE]

With ``--ready``/``--go`` it builds everything, creates the ready file, then waits (at most 30 s)
for the go file, so that a test can start several processes at the same moment. It ends by
printing ``RESULT {json}`` with the run's status, cell, cached and error counts.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pandas as pd

import workbench as wb
from workbench.engine.progress import NullProgress


def build_experiment(name: str, start: int, stop: int, concurrency: int) -> wb.Experiment:
    """Rows ``start..stop-1`` of one shared question list: equal rows give equal requests."""
    ds = wb.Dataset(
        pd.DataFrame({"id": range(start, stop), "q": [f"question {i}" for i in range(start, stop)]})
    )
    variant = wb.Variant("v", model="mock/model", system="Be brief.", user="{{ q }}")
    return wb.Experiment(name, ds, [variant], concurrency=concurrency)


def configure(url: str, store: str, max_retries: int = 3) -> None:
    """Point workbench at the mock server (an OpenAI-compatible endpoint named ``mock``)."""
    wb.configure(
        endpoints={"mock": {"base_url": url.rstrip("/") + "/v1"}},
        store=store,
        timeout=10.0,
        max_retries=max_retries,
        backoff_base=0.01,
        backoff_cap=0.2,
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--store", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--rows", required=True, help="START:STOP")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--max-retries", type=int, default=3)
    parser.add_argument("--ready", type=Path)
    parser.add_argument("--go", type=Path)
    args = parser.parse_args()
    start, stop = (int(x) for x in args.rows.split(":"))
    configure(args.url, args.store, args.max_retries)
    exp = build_experiment(args.name, start, stop, args.concurrency)
    exp.plan()  # validation and the SDK import done before the start signal
    import openai.resources.chat  # noqa: F401

    if args.ready is not None and args.go is not None:
        args.ready.touch()
        deadline = time.monotonic() + 30
        while not args.go.exists():
            if time.monotonic() > deadline:
                print("no go signal within 30 s", file=sys.stderr)
                return 2
            time.sleep(0.005)
    res = exp.run(progress=NullProgress())
    summary = {
        "status": res.status,
        "cells": len(res.df),
        "cached": int(res.df["cached"].sum()),
        "errors": int(res.df["error"].notna().sum()),
        "error_messages": sorted(set(res.df["error"].dropna().astype(str)))[:5],
    }
    print("RESULT " + json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
