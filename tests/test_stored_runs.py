"""A finished run's table is kept in the store and reads back exactly, by id, latest or
previous, in another process, without the dataset file; an old run says why it cannot."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from fakes import current_fake

import workbench as wb
from workbench.config import get_settings
from workbench.engine.store import open_readonly
from workbench.errors import WorkbenchError
from workbench.providers.fake import FakeProvider
from workbench.results.stored import load_run

DATA = Path(__file__).parent / "data"


def experiment(name: str = "kept", user: str = "{{ question }}") -> wb.Experiment:
    current_fake().script("wrong", {"tokyo": "Kyoto"})
    ds = wb.Dataset(
        pd.DataFrame(
            {"id": ["r0", "r1"], "question": ["paris", "tokyo"], "expected": ["Paris", "Tokyo"]}
        )
    )
    return wb.Experiment(
        name,
        ds,
        [
            wb.Variant("echo", model="fake/echo", user=user),
            wb.Variant("wrong", model="fake/wrong", user=user),
        ],
        scorers=[wb.scorers.contains("{{ expected }}")],
        repeats=2,
    )


def test_a_run_reads_back_as_it_was(fake: FakeProvider) -> None:
    res = experiment().run()
    res.set_label("r1", "wrong", "down", "Kyoto is not the capital")
    table = load_run("latest")
    assert table.record == res.record
    pd.testing.assert_frame_equal(table.df, res.df)
    assert table.df.loc[table.df["variant"] == "wrong", "human_label"].tolist() == [
        None,
        None,
        "down",
        "down",
    ]
    assert load_run(res.run_id).record.run_id == res.run_id
    assert load_run(res.run_id[:17]).record.run_id == res.run_id  # a unique start of the id


def test_latest_and_previous_by_experiment(fake: FakeProvider) -> None:
    first = experiment().run()
    second = experiment(user="{{ question }}?").run()
    other = experiment("other").run()
    assert load_run("latest").record.run_id == other.run_id
    assert load_run("latest", experiment="kept").record.run_id == second.run_id
    assert load_run("previous", experiment="kept").record.run_id == first.run_id
    with pytest.raises(WorkbenchError, match="has only one finished run"):
        load_run("previous")  # of 'other', the newest run's experiment


def test_unknown_runs_and_missing_stores_are_named(fake: FakeProvider, tmp_path: Path) -> None:
    with pytest.raises(WorkbenchError, match=r"No store at .*run an experiment first"):
        load_run("latest")
    assert not get_settings().store_path.exists()  # reading created nothing
    res = experiment().run()
    with pytest.raises(WorkbenchError, match=rf"No run 'nope' .*newest: {res.run_id}"):
        load_run("nope")


def test_a_run_from_before_kept_tables_says_what_to_do() -> None:
    path = get_settings().store_path
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(DATA / "store-0.1.0.dev0.sqlite", path)
    opened = open_readonly(path)
    assert opened is not None
    with opened:
        old = opened.runs()[0]["run_id"]
    with pytest.raises(WorkbenchError, match=f"Run {old} has no kept table: .*Run the experiment"):
        load_run(old)
    db = sqlite3.connect(path)
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    db.close()
    assert "run_tables" not in tables and "migrations" not in tables  # read only: not upgraded
