"""Run kinds and statuses: `workbench check` and `workbench export` runs are recorded as such,
not as ordinary runs; a run stopped cleanly is `interrupted`."""

from __future__ import annotations

import _thread
import asyncio
import time
from pathlib import Path

import pandas as pd
import pytest
from fakes import current_fake

import workbench as wb
from workbench.cli import EXIT_INTERRUPTED, main
from workbench.engine.progress import NullProgress
from workbench.errors import ConfigError
from workbench.providers.base import ChatRequest
from workbench.providers.fake import FakeProvider, last_user_text

Capture = pytest.CaptureFixture[str]

YAML = """\
name: capitals
dataset: questions.csv
defaults: {model: fake/echo}
variants:
  - {name: terse, user: "{{ question }}"}
scorers:
  - contains: "{{ expected }}"
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "questions.csv").write_text(
        "id,question,expected\nfr,Paris?,Paris\njp,Tokyo?,Tokyo\n", encoding="utf-8"
    )
    (tmp_path / "exp.yaml").write_text(YAML, encoding="utf-8")
    return tmp_path


def test_check_and_export_runs_are_recorded_as_such(
    project: Path, capsys: Capture, fake: FakeProvider
) -> None:
    assert main(["run", "exp.yaml", "--out", "out"]) == 0
    assert main(["export", "exp.yaml", "--name", "cap", "--to", "prompts"]) == 0
    assert main(["check", "prompts/cap"]) == 0
    history = wb.runs("capitals")
    assert list(history["kind"]) == ["check", "export", "run"]  # newest first
    assert set(history["status"]) == {"complete"}
    capsys.readouterr()
    assert main(["runs"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if "capitals" in line]
    assert len(lines) == 3
    assert " complete [check] " in lines[0] and " complete [export] " in lines[1]
    assert "[" not in lines[2]  # an ordinary run carries no mark
    assert main(["store", "info"]) == 0
    info = capsys.readouterr().out
    assert "complete [check]" in info and "complete [export]" in info
    assert fake.calls.total() == 2  # export and check came from the cache


def test_an_unknown_run_kind_is_refused_before_any_call(fake: FakeProvider) -> None:
    exp = wb.Experiment(
        "k",
        wb.Dataset(pd.DataFrame({"q": ["a"]})),
        [wb.Variant("v", model="fake/echo", user="{{ q }}")],
    )
    with pytest.raises(ConfigError, match="Unknown run kind 'test'; use one of run, check, export"):
        exp.run(progress=NullProgress(), kind="test")
    assert fake.calls.total() == 0
    assert wb.runs().empty


def stopping_experiment(stop: asyncio.Event) -> wb.Experiment:
    """Six rows, one call at a time; the first call sets ``stop`` as it starts (a Ctrl-C)."""

    def reply(request: ChatRequest) -> str:
        stop.set()
        return last_user_text(request)

    current_fake().script("stopper", reply)
    ds = wb.Dataset(pd.DataFrame({"q": [f"question {i}" for i in range(6)]}))
    variant = wb.Variant("v", model="fake/stopper", user="{{ q }}")
    return wb.Experiment("stopped", ds, [variant], concurrency=1)


def test_a_run_stopped_cleanly_is_recorded_as_interrupted(
    capsys: Capture, fake: FakeProvider
) -> None:
    async def go() -> wb.Results:
        stop = asyncio.Event()
        return await stopping_experiment(stop).arun(progress=NullProgress(), stop=stop)

    res = asyncio.run(go())
    assert res.status == "interrupted"
    assert fake.calls["stopper"] == 1
    assert res.df["error"].eq("not run: interrupted").sum() == 5
    history = wb.runs("stopped")
    assert list(history["status"]) == ["interrupted"] and list(history["kind"]) == ["run"]
    assert main(["runs", "stopped"]) == 0
    assert f"{res.run_id}  stopped  " in capsys.readouterr().out
    # Run again (nothing stops this one): it resumes, paying only for the five that never ran.
    again = stopping_experiment(asyncio.Event()).run(progress=NullProgress())
    assert again.status == "complete" and int(again.df["cached"].sum()) == 1
    assert fake.calls["stopper"] == 6


def test_ctrl_c_in_the_cli_exits_130_and_records_interrupted(
    project: Path,
    capsys: Capture,
    fake: FakeProvider,
) -> None:
    (project / "exp.yaml").write_text(
        YAML.replace("fake/echo", "fake/stopper").replace("defaults:", "concurrency: 1\ndefaults:"),
        encoding="utf-8",
    )
    fake.script("stopper", _interrupt_once)
    assert main(["run", "exp.yaml", "--out", "out"]) == EXIT_INTERRUPTED
    assert list(wb.runs("capitals")["status"]) == ["interrupted"]
    assert "Interrupted: 1 of 2 cells finished" in capsys.readouterr().err


def _interrupt_once(request: ChatRequest) -> str:
    """Act out a Ctrl-C arriving while the first call is answered: the main thread gets a
    KeyboardInterrupt and asks the run to stop before the call returns (the sleep holds the
    run's event loop until then)."""
    if current_fake().calls["stopper"] == 0:
        _thread.interrupt_main()
        time.sleep(0.5)
    return last_user_text(request)


def test_a_run_ended_by_an_error_is_recorded_as_failed_not_interrupted(fake: FakeProvider) -> None:
    def broken(request: ChatRequest) -> str:
        raise RuntimeError("a bug in the provider")  # not a ProviderError: it ends the run

    fake.script("broken", broken)
    ds = wb.Dataset(pd.DataFrame({"q": ["a", "b"]}))
    exp = wb.Experiment("bug", ds, [wb.Variant("v", model="fake/broken", user="{{ q }}")])
    with pytest.raises(RuntimeError, match="a bug in the provider"):
        exp.run(progress=NullProgress())
    assert list(wb.runs("bug")["status"]) == ["failed"]
