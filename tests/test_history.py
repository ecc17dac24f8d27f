"""Run history: `wb.runs()` and `workbench runs` say which prompt version scored what."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from fakes import current_fake

import workbench as wb
from workbench.cli import main
from workbench.config import get_settings
from workbench.engine.progress import NullProgress
from workbench.engine.store import Store

Capture = pytest.CaptureFixture[str]


def experiment(system: str = "Answer.") -> wb.Experiment:
    ds = wb.Dataset(
        pd.DataFrame(
            {"id": ["a", "b", "c", "d"], "q": ["paris", "tokyo", "rome", "oslo"]}
            | {"expected": ["paris", "tokyo", "milan", "oslo"]}
        )
    )
    current_fake().script("wrong", {"tokyo": "kyoto"})
    variants = [
        wb.Variant("echo", model="fake/echo", system=system, user="{{ q }}"),
        wb.Variant("wrong", model="fake/wrong", system=system, user="{{ q }}"),
    ]
    return wb.Experiment("capitals", ds, variants, [wb.scorers.contains("{{ expected }}")])


def test_runs_record_each_variants_prompt_and_score_newest_first() -> None:
    first = experiment().run(progress=NullProgress())
    second = experiment(system="Answer in one word.").run(progress=NullProgress())
    history = wb.runs("capitals")
    assert list(history["run_id"]) == [second.run_id] * 2 + [first.run_id] * 2
    assert set(history["status"]) == {"complete"}
    summary = first.summary().set_index("variant")
    old = history[history["run_id"] == first.run_id].set_index("variant")
    for variant in ("echo", "wrong"):
        assert old.loc[variant, "pass_rate"] == pytest.approx(
            summary.loc[variant, "contains_pass_rate"]
        )
        assert old.loc[variant, "pass_low"] == pytest.approx(
            summary.loc[variant, "contains_pass_low"]
        )
        assert old.loc[variant, "scorer"] == "contains"
        assert old.loc[variant, "rows"] == 4
    assert old.loc["echo", "pass_rate"] == 0.75 and old.loc["wrong", "pass_rate"] == 0.5
    # A reworded prompt under the same name has a new fingerprint; the same prompt keeps its own.
    new = history[history["run_id"] == second.run_id].set_index("variant")
    assert str(new.loc["echo", "prompt"]) != str(old.loc["echo", "prompt"])
    assert old.loc["echo", "prompt"] == experiment().variants[0].fingerprint
    assert new.loc["echo", "cached"] == 0 and old.loc["echo", "cells"] == 8
    assert set(history["dataset"]) == {experiment().dataset.fingerprint[:12]}
    assert wb.runs("other").empty


def test_runs_without_a_store_is_empty_and_creates_nothing(tmp_path: Path) -> None:
    history = wb.runs(store=tmp_path / "nowhere")
    assert history.empty and "pass_rate" in history.columns
    assert not (tmp_path / "nowhere").exists()


def test_runs_reads_a_store_given_as_folder_or_file() -> None:
    res = experiment().run(progress=NullProgress())
    path = get_settings().store_path
    assert list(wb.runs(store=path.parent)["run_id"].unique()) == [res.run_id]
    assert list(wb.runs(store=path)["run_id"].unique()) == [res.run_id]


def test_a_run_whose_process_died_is_reported_killed() -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with Store(get_settings().store_path) as store:
        store.start_run("alive", "exp", {})
        store.start_run("other-host", "exp", {})
        store.start_run("dead", "exp", {})
        store._db.execute(
            "UPDATE runs SET summary=? WHERE run_id='dead'",
            (f'{{"pid": {dead.pid}, "host": "{socket.gethostname()}"}}',),
        )
        store._db.execute(
            "UPDATE runs SET summary=? WHERE run_id='other-host'",
            (f'{{"pid": {dead.pid}, "host": "not-this-machine"}}',),
        )
        statuses = {r["run_id"]: r["status"] for r in store.runs()}
    assert statuses == {"alive": "running", "other-host": "running", "dead": "killed"}
    assert os.getpid() != dead.pid
    history = wb.runs()
    assert history.set_index("run_id").loc["dead", "status"] == "killed"
    assert history["variant"].isna().all()  # never scored: the run's row only


def test_cli_runs_prints_history(capsys: Capture) -> None:
    res = experiment().run(progress=NullProgress())
    assert main(["runs"]) == 0
    out = capsys.readouterr().out
    assert f"{res.run_id}  capitals  " in out and "complete  (8 cells, 0 cached, $0.0000)" in out
    assert f"dataset {experiment().dataset.fingerprint[:12]}" in out
    fingerprint = experiment().variants[0].fingerprint
    assert f"echo             {fingerprint}  fake/echo" in out
    assert "contains 0.75 [" in out and "contains 0.50 [" in out
    assert main(["runs", "nothing-here"]) == 0
    assert capsys.readouterr().out.strip() == "No runs of 'nothing-here' in the store yet."


def test_cli_runs_limit(capsys: Capture) -> None:
    for system in ("One.", "Two.", "Three."):
        experiment(system).run(progress=NullProgress())
    assert main(["runs", "--limit", "2"]) == 0
    out = capsys.readouterr().out
    assert out.count("capitals  ") == 2
