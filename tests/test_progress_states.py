"""The progress widget tells the run's state: elapsed time and time left, hints on why it is slow,
a clear end state, and an error before any call in its place, without workbench's frames."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.engine.progress import Tally
from workbench.errors import ConfigError, MissingKeyError

pytest.importorskip("ipywidgets")

from workbench.views.progress_widget import ProgressWidget


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_elapsed_time_and_time_left() -> None:
    clock = Clock()
    p = ProgressWidget("exp", display=False, interval=0.0, clock=clock)
    p.start(Tally(total=100), budget=None)
    clock.now += 12.4
    p.update(Tally(total=100, done=40, rate=2.0))
    assert "elapsed 12 s · about 30 s left" in p.text.value
    clock.now += 30
    p.update(Tally(total=100, done=100, rate=2.0))
    assert "elapsed 42 s" in p.text.value and "left" not in p.text.value


def test_done_is_a_clear_state_without_a_stop_button() -> None:
    p = ProgressWidget("exp", display=False, interval=0.0)
    p.start(Tally(total=4), budget=None)
    p.finish(Tally(total=4, done=4, spent=0.0), "complete", "")
    assert "— <b>done</b>" in p.text.value and "free" in p.text.value
    assert p.bar.bar_style == "success" and p.stop_button.layout.display == "none"
    stopped = ProgressWidget("exp", display=False)
    stopped.start(Tally(total=4), budget=1.0)
    stopped.finish(
        Tally(total=4, done=1, spent=0.25, rate=2.0), "interrupted", "Interrupted: 1 of 4"
    )
    assert "— <b>stopped</b>" in stopped.text.value and "Interrupted: 1 of 4" in stopped.text.value
    assert "$0.25 of $1.00 budget" in stopped.text.value
    assert "left" not in stopped.text.value  # no time left once it has ended


def test_slow_local_model_hint_shows_apart_and_stays_at_the_end() -> None:
    p = ProgressWidget("exp", display=False, interval=0.0)
    tally = Tally(total=10)
    p.start(tally, budget=None)
    tally.note("local", "local model slow: 9 tokens/s on 2 threads (one free core gives ~50)")
    p.update(tally)
    assert "⚠ local model slow: 9 tokens/s" in p.hints.value
    assert "--jp-warn-color0" in p.hints.value  # the theme's colour
    p.finish(tally, "complete", "")
    assert "local model slow" in p.hints.value


def test_an_error_before_the_run_takes_the_widgets_place() -> None:
    p = ProgressWidget("capitals", display=False)
    p.fail(MissingKeyError("openai", "OPENAI_API_KEY"))
    (panel,) = p.box.children  # no bar, no Stop: only the message
    assert "capitals</b> did not start: no call was made" in panel.value
    assert "MissingKeyError</b>: No API key for provider &#x27;openai&#x27;" in panel.value
    assert "OPENAI_API_KEY" in panel.value


def test_jupyter_shows_a_workbench_error_without_its_internal_frames() -> None:
    def user_code() -> None:
        from workbench.providers.registry import parse_model_id

        parse_model_id("no-slash-here")

    try:
        user_code()
    except ConfigError as exc:
        lines = exc._render_traceback_()
    assert any("user_code()" in line for line in lines)  # the caller's own line
    assert not any("workbench/" in line for line in lines)  # none of workbench's frames
    assert lines[-1].startswith("ConfigError: ")


def test_missing_key_in_a_notebook_shows_the_message_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import pandas as pd, workbench as wb\n"
            "ds = wb.Dataset(pd.DataFrame({'q': ['a']}))\n"
            "exp = wb.Experiment('keys', ds, [wb.Variant('v', model='openai/gpt-4o-mini', "
            "user='{{ q }}')])\n"
            "res = exp.run()"
        )
    ]
    client = NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    with pytest.raises(CellExecutionError):
        client.execute()
    client.set_widgets_metadata()
    (error,) = [o for o in nb.cells[0].outputs if o.output_type == "error"]
    assert error.ename == "MissingKeyError"
    shown = "\n".join(error.traceback)
    assert "res = exp.run()" in shown and "OPENAI_API_KEY" in shown
    assert "workbench/" not in shown and len(error.traceback) < 8
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    html = [str(m["state"].get("value", "")) for m in state.values()]
    assert any("did not start: no call was made" in v for v in html)
    boxes = [m["state"] for m in state.values() if m["model_name"] == "VBoxModel"]
    assert [len(b["children"]) for b in boxes] == [1]  # the panel alone: no bar, no Stop
