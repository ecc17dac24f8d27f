"""The comparison grid on 1,000 rows × 4 variants: time to first render and to page.

    python benchmarks/bench_grid.py [--rows 1000] [--variants 4] [--repeats 1] [--page-size 25]

Synthetic ``res.df`` (two scorers, outputs of ~40 words); prints one line per figure. "First
render" is what the kernel does before the browser draws: group the table and build page 1
(and, for the widget, the summary header with its bootstrap intervals and the verdict). The
browser gets one page of rows, never the whole table.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable

import pandas as pd

from workbench.results.table import Results
from workbench.views.grid_model import Filters, GridModel, Sort

WORDS = [
    *("the", "a", "capital", "city", "of", "is", "in", "river"),
    *("north", "south", "old", "new", "large", "small", "famous"),
]


def synthetic(rows: int, variants: int, repeats: int, seed: int = 0) -> Results:
    rng = random.Random(seed)
    names = [f"v{j}" for j in range(variants)]
    records = []
    for i in range(rows):
        base = [rng.choice(WORDS) for _ in range(40)]
        for name in names:
            for rep in range(repeats):
                words = [w if rng.random() > 0.1 else rng.choice(WORDS) for w in base]
                ok = rng.random() < 0.7
                records.append(
                    {
                        "row_id": i,
                        "question": f"question {i} " + " ".join(base[:8]),
                        "variant": name,
                        "repeat": rep,
                        "model": "fake/echo",
                        "provider": "fake",
                        "messages": json.dumps([{"role": "user", "content": f"q{i}"}]),
                        "output": " ".join(words),
                        "error": None,
                        "finish_reason": "stop",
                        "input_tokens": 50,
                        "output_tokens": 40,
                        "latency_ms": rng.uniform(100, 900),
                        "cost_usd": 1e-4,
                        "scoring_cost_usd": 0.0,
                        "cached": False,
                        "request_key": f"k{i}-{name}-{rep}",
                        "human_label": None,
                        "human_comment": None,
                        "ok": float(ok),
                        "ok_pass": ok,
                        "ok_reason": "",
                        "score": rng.random(),
                        "score_pass": rng.random() < 0.5,
                        "score_reason": "",
                    }
                )
    df = pd.DataFrame.from_records(records)
    for col in ("ok_pass", "score_pass"):
        df[col] = df[col].astype("boolean")
    return Results(df, experiment="bench", run_id="bench", scorers=["ok", "score"], variants=names)


def timed(fn: Callable[[], object], repeat: int = 5) -> float:
    """Median seconds of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--variants", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--page-size", type=int, default=25)
    args = ap.parse_args()
    res = synthetic(args.rows, args.variants, args.repeats)
    size = args.page_size
    label = f"{args.rows} rows × {args.variants} variants × {args.repeats} repeats"
    print(f"grid {label}: {len(res.df)} cells, page size {size}")

    def figure(name: str, fn: Callable[[], object], repeat: int = 5) -> None:
        print(f"{name + ':':38s}{timed(fn, repeat) * 1000:8.1f} ms")

    figure(
        "grid model build (group, index)", lambda: GridModel(res.df, res.variants, res.scorers), 3
    )
    model = GridModel(res.df, res.variants, res.scorers)
    figure("first page (with diff vs baseline)", lambda: model.page(page_size=size, baseline="v0"))
    figure("next page", lambda: model.page(page=7, page_size=size, baseline="v0"))
    figure("next page (no diff)", lambda: model.page(page=8, page_size=size))
    figure(
        "filter failures + disagreements",
        lambda: model.page(Filters(failures=True, disagree=True), page_size=size),
    )
    figure("search text", lambda: model.page(Filters(search="river north"), page_size=size))
    figure(
        "sort by latency of one variant, desc",
        lambda: model.page(sort=Sort("latency", "v2", True), page_size=size),
    )
    page = model.page(page_size=size, baseline="v0")
    print(f"{'page payload sent to the browser:':38s}{len(json.dumps(page)) / 1024:8.1f} KiB")
    try:
        from workbench.views.grid import Compare
    except ImportError:
        print("widget: skipped (pip install 'prompt-workbench[notebook]')")
        return
    os.environ.setdefault("WORKBENCH_STORE", tempfile.mkdtemp())
    figure("widget first render (model + page 1)", lambda: Compare(res, background=True), 3)
    start = time.perf_counter()
    w = Compare(res, background=True)
    w.wait_header()
    header = time.perf_counter() - start
    print(f"{'header statistics ready (background):':38s}{header * 1000:8.1f} ms")

    def turn() -> None:
        w.page = (w.page + 1) % w.pages

    figure("widget page turn (trait → rows)", turn, 9)


if __name__ == "__main__":
    main()
