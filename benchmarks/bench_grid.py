"""The comparison grid on 1,000 rows × 4 variants: in the kernel, and in JupyterLab as a user sees it.

    python benchmarks/bench_grid.py [--rows 1000] [--variants 4] [--repeats 1] [--page-size 25]
    python benchmarks/bench_grid.py --browser [--times 5]

Synthetic run table (two scorers, outputs of ~40 words); prints one line per figure. The kernel
figures are what Python does before the browser draws: group the table, build a page (and, for
the widget, the header's bootstrap intervals and verdict, in the background). ``--browser``
starts JupyterLab with headless Chromium (``/usr/bin/chromium``) and times, in the page, from
the action to the frame that shows its result: first paint (running ``wb.Compare(res)`` until
the first page of cells is drawn), a page turn, a filter, and a cell's detail. Medians of
``--times`` tries.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from workbench.results.record import DatasetFacts, RunRecord
from workbench.results.table import RunTable
from workbench.views.grid_filters import Filters, Sort
from workbench.views.grid_model import GridModel

WORDS = [
    *("the", "a", "capital", "city", "of", "is", "in", "river"),
    *("north", "south", "old", "new", "large", "small", "famous"),
]


def synthetic(rows: int, variants: int, repeats: int, seed: int = 0) -> RunTable:
    """A run table of ``rows`` × ``variants`` × ``repeats`` cells with two scorers."""
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
    import workbench as wb

    record = RunRecord(
        experiment="bench",
        run_id="bench",
        status="complete",
        variants=tuple(wb.Variant(n, model="fake/echo", user="{{ question }}") for n in names),
        scorers=({"name": "ok", "args": {}}, {"name": "score", "args": {}}),
        scorer_columns=("ok", "score"),
        repeats=repeats,
        dataset=DatasetFacts("bench", "synthetic", None, rows, ("question",), None, "0"),
        models=("fake/echo",),
        store=str(Path(os.environ.get("WORKBENCH_STORE", tempfile.mkdtemp())) / "store.sqlite"),
        started=0.0,
        finished=0.0,
    )
    return RunTable(df, record)


def timed(fn: Callable[[], object], repeat: int = 5) -> float:
    """Median seconds of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def kernel(args: argparse.Namespace) -> None:
    table = synthetic(args.rows, args.variants, args.repeats)
    size = args.page_size
    label = f"{args.rows} rows × {args.variants} variants × {args.repeats} repeats"
    print(f"grid {label}: {len(table.df)} cells, page size {size}")

    def figure(name: str, fn: Callable[[], object], repeat: int = 5) -> None:
        print(f"{name + ':':38s}{timed(fn, repeat) * 1000:8.1f} ms")

    figure(
        "grid model build (group, index)",
        lambda: GridModel(table.df, table.variants, table.scorers),
        3,
    )
    model = GridModel(table.df, table.variants, table.scorers)
    figure("first page (with diff vs baseline)", lambda: model.page(page_size=size, baseline="v0"))
    figure("next page", lambda: model.page(page=7, page_size=size, baseline="v0"))
    figure("next page (no diff)", lambda: model.page(page=8, page_size=size))
    figure(
        "filter failures + disagreements",
        lambda: model.page(Filters(failures=True, disagree=True), page_size=size),
    )
    figure("search text", lambda: model.page(Filters(search="river north"), page_size=size))
    figure("search regex", lambda: model.page(Filters(search=r"riv\w+ n", regex=True)))
    figure(
        "sort by latency of one variant, desc",
        lambda: model.page(sort=Sort("latency", "v2", True), page_size=size),
    )
    figure("cell detail", lambda: model.detail(3, "v1"))
    page = model.page(page_size=size, baseline="v0")
    print(f"{'page payload sent to the browser:':38s}{len(json.dumps(page)) / 1024:8.1f} KiB")
    try:
        from workbench.views.grid import Compare
    except ImportError:
        print("widget: skipped (pip install 'prompt-workbench[notebook]')")
        return
    figure("widget first render (model + page 1)", lambda: Compare(table, background=True), 3)
    start = time.perf_counter()
    w = Compare(table, background=True)
    w.wait_header()
    header = time.perf_counter() - start
    print(f"{'header statistics ready (background):':38s}{header * 1000:8.1f} ms")

    def turn() -> None:
        w.page = (w.page + 1) % w.pages

    figure("widget page turn (trait → rows)", turn, 9)


SETUP = """import sys
sys.path.insert(0, {bench!r})
from bench_grid import synthetic
import workbench as wb
table = synthetic({rows}, {variants}, {repeats})"""

WAIT_JS = """async ([action, done]) => {
  const act = new Function(action), ready = new Function(done);
  const t0 = performance.now();
  act();
  const until = t0 + 60000;
  await new Promise((resolve, reject) => {
    const check = () =>
      ready() ? resolve() : performance.now() > until ? reject(new Error(done)) : requestAnimationFrame(check);
    requestAnimationFrame(check);
  });
  return performance.now() - t0;
}"""
"""Do ``action``, then wait frame by frame until ``done`` holds; milliseconds taken."""


def browser(args: argparse.Namespace) -> None:
    here = Path(__file__).resolve().parent
    sys.path.insert(0, str(here.parent / "tests" / "browser"))
    from lab import jupyterlab, notebook_page, write_notebook
    from playwright.sync_api import expect

    work = Path(tempfile.mkdtemp(prefix="bench-grid-"))
    root = work / "root"
    root.mkdir()
    setup = SETUP.format(
        bench=str(here), rows=args.rows, variants=args.variants, repeats=args.repeats
    )
    show = f"wb.Compare(table, page_size={args.page_size})"
    write_notebook(root / "bench.ipynb", [setup, show])
    env = {"WORKBENCH_STORE": str(root / ".workbench")}
    print(
        f"grid in JupyterLab, {args.rows} rows × {args.variants} variants, median of {args.times}"
    )
    with (
        jupyterlab(root, work, env=env) as url,
        notebook_page(url, "bench", work / "chromium", run_all=False) as page,
    ):
        cells = page.locator(".jp-CodeCell")
        cells.nth(0).locator(".jp-InputArea-editor").click()
        page.keyboard.press("Shift+Enter")
        expect(cells.nth(0).locator(".jp-InputPrompt")).to_contain_text("[1]", timeout=120_000)
        n_cells = min(args.page_size, args.rows) * args.variants
        first: list[float] = []
        for _ in range(args.times):
            page.evaluate("document.querySelectorAll('.wb-grid').forEach(g => g.dataset.old = 1)")
            cells.nth(1).locator(".jp-InputArea-editor").click()
            page.keyboard.press("Escape")
            t0 = page.evaluate("performance.now()")
            page.keyboard.press("Shift+Enter")
            t1 = page.evaluate(
                """async (n) => {
                  const until = performance.now() + 60000;
                  await new Promise((resolve, reject) => {
                    const check = () => document.querySelectorAll(
                      '.wb-grid:not([data-old]) td.wb-cell').length >= n ? resolve()
                      : performance.now() > until ? reject(new Error('no grid in 60 s'))
                      : requestAnimationFrame(check);
                    check();
                  });
                  return performance.now();
                }""",
                n_cells,
            )
            first.append(t1 - t0)
            page.wait_for_timeout(300)
        grid = ".wb-grid:not([data-old])"

        def times(action: str, done: str, reset: tuple[str, str] | None = None) -> list[float]:
            out = []
            for _ in range(args.times):
                out.append(page.evaluate(WAIT_JS, [action, done]))
                if reset:
                    page.evaluate(WAIT_JS, list(reset))
                page.wait_for_timeout(150)
            return out

        first_row = f"(document.querySelector('{grid} .wb-rowid') || {{}}).textContent"
        paging = times(
            f"window.__wbRow = {first_row}; document.querySelector('{grid} .wb-next').click()",
            f"return {first_row} !== window.__wbRow",
        )
        label = f"document.querySelector('{grid} .wb-page').textContent"
        filtering = times(
            f"window.__wbPage = {label}; document.querySelector('{grid} .wb-f-failures').click()",
            f"return {label} !== window.__wbPage",
        )
        detail = times(
            f"document.querySelector('{grid} td.wb-cell .wb-output').click()",
            "const d = document.querySelector('.wb-detail[open] .wb-repeat');"
            " return !!d && d.getBoundingClientRect().height > 0",
            (
                "document.querySelector('.wb-detail[open] .wb-close').click()",
                "return !document.querySelector('.wb-detail[open]')",
            ),
        )
    for name, values in (
        ("first paint (run cell → cells drawn)", first),
        ("page turn (click → new rows drawn)", paging),
        ("filter (click → rows drawn)", filtering),
        ("detail (click → detail drawn)", detail),
    ):
        shown = ", ".join(f"{v:.0f}" for v in values)
        print(f"{name + ':':40s}{statistics.median(values):8.1f} ms   ({shown})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--variants", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--page-size", type=int, default=25)
    ap.add_argument("--browser", action="store_true", help="time the grid in JupyterLab")
    ap.add_argument("--times", type=int, default=5, help="tries per browser figure")
    args = ap.parse_args()
    os.environ.setdefault("WORKBENCH_STORE", tempfile.mkdtemp())
    if args.browser:
        browser(args)
    else:
        kernel(args)


if __name__ == "__main__":
    main()
