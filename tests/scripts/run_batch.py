"""Subprocess entry point for tests/test_batch_resume.py: one batch run against a mock server.

    python tests/scripts/run_batch.py --url http://127.0.0.1:PORT --store DIR --name NAME \
        --kind openai|anthropic --rows 6 [--timeout 5]

Keys come from the environment (the test sets them). It waits for the batches and ends by
printing ``RESULT {json}`` with the run's status, cell count and errors.
"""

from __future__ import annotations

import argparse
import json
import sys

import pandas as pd

import workbench as wb
from workbench.engine.progress import NullProgress

MODELS = {"openai": "openai/gpt-6.2-sol", "anthropic": "anthropic/claude-haiku-4-5"}


def build_experiment(name: str, kind: str, rows: int) -> wb.Experiment:
    ds = wb.Dataset(pd.DataFrame({"q": [f"q{i}" for i in range(rows)]}))
    variant = wb.Variant(kind, model=MODELS[kind], system="Be brief.", user="{{ q }}")
    return wb.Experiment(name, ds, [variant])


def configure(url: str, store: str, timeout: float = 5.0) -> None:
    """Point the OpenAI and Anthropic providers at the mock server; poll fast."""
    url = url.rstrip("/")
    wb.configure(
        provider_urls={"openai": url + "/v1", "anthropic": url},
        store=store,
        timeout=timeout,
        max_retries=2,
        backoff_base=0.01,
        backoff_cap=0.05,
        batch_poll=0.05,
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--store", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--kind", choices=sorted(MODELS), required=True)
    parser.add_argument("--rows", type=int, default=6)
    parser.add_argument("--timeout", type=float, default=5.0)
    args = parser.parse_args()
    configure(args.url, args.store, args.timeout)
    res = build_experiment(args.name, args.kind, args.rows).run(
        mode="batch", progress=NullProgress()
    )
    assert isinstance(res, wb.Results)
    summary = {
        "status": res.status,
        "cells": len(res.df),
        "errors": int(res.df["error"].notna().sum()),
    }
    print("RESULT " + json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
