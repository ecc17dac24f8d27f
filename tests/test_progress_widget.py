"""The run-progress widget: counts update, and Stop ends a run cleanly keeping what finished."""

from __future__ import annotations

import threading
import time

import pandas as pd
import pytest

import workbench as wb
from workbench.engine.progress import Finished, Tally

pytest.importorskip("ipywidgets")

from workbench.providers.fake import FakeProvider
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
        "$0.25 of $1.00",
        "3.0 calls/s",
    ):
        assert part in p.text.value
    p.finish(Tally(total=10, done=10), "complete", "")
    assert p.bar.bar_style == "success" and p.stop_button.disabled


def test_latest_outputs_show_newest_first_with_errors_marked() -> None:
    p = ProgressWidget("exp", display=False, interval=0.0)
    tally = Tally(total=10)
    p.start(tally, budget=None)
    assert p.latest.value == ""  # nothing finished yet
    tally.recent.append(Finished("terse", "fr", 0, "Paris\n is <b>the</b> answer", None))
    tally.recent.append(Finished("friendly", "jp", 1, None, "HTTP 500: boom"))
    tally.done = 2
    p.update(tally)
    html = p.latest.value
    assert html.index("friendly") < html.index("terse")  # newest first
    assert "Paris is &lt;b&gt;the&lt;/b&gt; answer" in html  # escaped, whitespace folded
    assert "error: HTTP 500: boom" in html and "#d62728" in html
    tally.recent.append(Finished("terse", "it", 0, "x" * 500, None))
    p.update(tally)
    assert "x" * 160 + "…" in p.latest.value and "x" * 161 not in p.latest.value


def test_stop_before_bind_still_stops() -> None:
    p = ProgressWidget("exp", display=False)
    p.stop_button.click()
    called: list[bool] = []
    p.bind(lambda: called.append(True))
    assert called == [True] and p.stop_requested and p.stop_button.disabled


def test_stop_button_ends_the_run_and_keeps_what_finished(fake: FakeProvider) -> None:
    fake.script("slow", lambda request: "ok", latency=0.05)
    ds = wb.Dataset(pd.DataFrame({"q": [f"q{i}" for i in range(40)]}))
    exp = wb.Experiment(
        "stop", ds, [wb.Variant("v", model="fake/slow", user="{{ q }}")], concurrency=1
    )
    p = ProgressWidget("stop", display=False, interval=0.0)

    def click_once_some_finished() -> None:  # clicked while the run works, however slow the box
        deadline = time.monotonic() + 30
        while fake.calls["slow"] < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        p.stop_button.click()

    clicker = threading.Thread(target=click_once_some_finished)
    clicker.start()
    res = exp.run(progress=p)
    clicker.join()
    assert res.status == "interrupted"
    finished = int(res.df["output"].notna().sum())
    assert 0 < finished < 40
    assert f"{finished}/40 done" in p.text.value and "Interrupted" in p.text.value
    assert p.bar.bar_style == "danger"
    assert "<td>v</td>" in p.latest.value and "ok" in p.latest.value  # outputs seen while running
    again = exp.run(progress=ProgressWidget("stop", display=False))  # resumes from the store
    assert again.complete and int(again.df["cached"].sum()) == finished


def test_notes_show_under_the_counts_and_clear() -> None:
    from workbench.engine.progress import Tally

    tally = Tally(total=4)
    tally.note("limit", "in flight limited to 5 of 20: the provider answered 429")
    assert tally.line().endswith("· in flight limited to 5 of 20: the provider answered 429")
    tally.note("limit", "")
    assert "limited" not in tally.line() and not tally.notes
