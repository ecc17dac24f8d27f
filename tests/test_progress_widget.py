"""The run-progress widget: counts update, and Stop ends a run cleanly keeping what finished."""

from __future__ import annotations

import threading

import pandas as pd
import pytest

import workbench as wb
from workbench.engine.progress import Tally
from workbench.providers import fake

pytest.importorskip("ipywidgets")

from workbench.views.progress_widget import ProgressWidget


def test_counts_spend_and_rate_update() -> None:
    p = ProgressWidget("exp", display=False, interval=0.0)
    p.start(Tally(total=10), budget=1.0)
    p.update(Tally(total=10, done=4, cached=1, failed=1, spent=0.25, rate=3.0))
    assert (p.bar.value, p.bar.max) == (4, 10)
    for part in (
        "4/10 done",
        "1 cached",
        "1 failed",
        "6 remaining",
        "$0.2500 of $1.00",
        "3.0 calls/s",
    ):
        assert part in p.text.value
    p.finish(Tally(total=10, done=10), "complete", "")
    assert p.bar.bar_style == "success" and p.stop_button.disabled


def test_stop_before_bind_still_stops() -> None:
    p = ProgressWidget("exp", display=False)
    p.stop_button.click()
    called: list[bool] = []
    p.bind(lambda: called.append(True))
    assert called == [True] and p.stop_requested and p.stop_button.disabled


def test_stop_button_ends_the_run_and_keeps_what_finished() -> None:
    fake.script("slow", lambda request: "ok", latency=0.05)
    ds = wb.Dataset(pd.DataFrame({"q": [f"q{i}" for i in range(40)]}))
    exp = wb.Experiment(
        "stop", ds, [wb.Variant("v", model="fake/slow", user="{{ q }}")], concurrency=1
    )
    p = ProgressWidget("stop", display=False, interval=0.0)
    timer = threading.Timer(0.3, p.stop_button.click)  # clicked while the run works
    timer.start()
    res = exp.run(progress=p)
    timer.join()
    assert res.status == "interrupted"
    finished = int(res.df["output"].notna().sum())
    assert 0 < finished < 40
    assert f"{finished}/40 done" in p.text.value and "Interrupted" in p.text.value
    assert p.bar.bar_style == "danger"
    again = exp.run(progress=ProgressWidget("stop", display=False))  # resumes from the store
    assert again.complete and int(again.df["cached"].sum()) == finished
