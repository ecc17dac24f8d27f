"""Named, recorded migrations: a store written by 0.1.0.dev0 opens, upgrades once and answers
every request of its experiments from the cache; newer stores are refused untouched."""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
from pathlib import Path

import pytest
from store_fixture_cases import FIXTURE_VERSION, experiments, script_fakes

import workbench as wb
from workbench.cli import main
from workbench.config import get_settings
from workbench.engine.migrations import MIGRATIONS
from workbench.engine.progress import NullProgress
from workbench.engine.store import SCHEMA_VERSION, Store
from workbench.errors import StoreError

Capture = pytest.CaptureFixture[str]
DATA = Path(__file__).parent / "data"
FIXTURE = DATA / f"store-{FIXTURE_VERSION}.sqlite"
NAMES = [m.__name__ for m in MIGRATIONS]


def old_store() -> Path:
    """A copy of the 0.1.0.dev0 store where the configured store lives (never the original)."""
    path = get_settings().store_path
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(FIXTURE, path)
    return path


def recorded(path: Path) -> list[str]:
    db = sqlite3.connect(path)
    try:
        return [r[0] for r in db.execute("SELECT name FROM migrations ORDER BY rowid")]
    finally:
        db.close()


def schema_version(path: Path) -> int:
    db = sqlite3.connect(path)
    try:
        return int(db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0])
    finally:
        db.close()


def test_the_fixture_is_a_0_1_0_dev0_store() -> None:
    db = sqlite3.connect(f"{FIXTURE.as_uri()}?mode=ro", uri=True)
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    version = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0]
    db.close()
    assert "migrations" not in tables and "labels" in tables
    assert version == "1"
    assert not FIXTURE.with_name(FIXTURE.name + "-wal").exists()


def test_an_old_store_upgrades_and_its_experiments_rerun_with_zero_calls() -> None:
    path = old_store()
    expected = json.loads(FIXTURE.with_suffix(".json").read_text())["experiments"]
    fake = script_fakes()
    for exp in experiments():
        res = exp.run(progress=NullProgress())
        assert res.status == "complete"
        assert fake.calls.total() == 0, f"{exp.name}: {dict(fake.calls)} calls after upgrading"
        assert res.record.spend.judge_calls == 0
        assert res.df["cached"].all()
        # The same requests (cache keys), outputs, verdicts and human labels as in 0.1.0.dev0.
        columns = list(expected[exp.name][0])
        now = json.loads(res.df[columns].to_json(orient="records"))
        assert now == expected[exp.name]
    assert recorded(path) == NAMES
    assert schema_version(path) == SCHEMA_VERSION > 1  # 0.1.0.dev0 now refuses it, clearly
    history = wb.runs()
    assert set(history["kind"]) == {"run"}
    assert history["run_id"].nunique() == 4  # the two old runs and the two reruns


def test_migrations_are_applied_once_and_recorded_by_name() -> None:
    path = old_store()
    Store(path).close()
    first = sqlite3.connect(path).execute("SELECT name, applied FROM migrations").fetchall()
    Store(path).close()
    assert sqlite3.connect(path).execute("SELECT name, applied FROM migrations").fetchall() == (
        first
    )
    assert [name for name, _ in first] == NAMES


def test_a_new_store_records_every_migration(tmp_path: Path) -> None:
    path = tmp_path / "new" / "store.sqlite"
    Store(path).close()
    assert recorded(path) == NAMES
    assert schema_version(path) == SCHEMA_VERSION


def test_two_processes_upgrading_at_once_apply_each_migration_once() -> None:
    path = old_store()
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def open_it() -> None:
        try:
            start.wait()
            Store(path).close()
        except BaseException as exc:  # handed to the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert recorded(path) == NAMES


def test_a_store_with_a_migration_this_version_does_not_know_is_refused_untouched() -> None:
    path = old_store()
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute("INSERT INTO migrations VALUES ('m999_from_the_future', 0)")
    db.commit()
    db.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="newer workbench") as info:
        Store(path)
    assert "pip install -U prompt-workbench" in str(info.value)
    with pytest.raises(StoreError, match="newer workbench"):
        wb.runs()
    assert path.read_bytes() == before


def test_read_only_commands_read_an_old_store_without_upgrading_it(capsys: Capture) -> None:
    path = old_store()
    before = path.read_bytes()
    history = wb.runs()
    assert set(history["experiment"]) == {"capitals", "support"}
    assert set(history["kind"]) == {"run"} and set(history["status"]) == {"complete"}
    assert main(["runs"]) == 0
    assert main(["store", "info"]) == 0
    out = capsys.readouterr().out
    assert "capitals" in out and "support" in out
    assert "(26 cached responses, 2 runs)" in out
    assert "upgraded by the next run" in out
    exp = experiments()[0]
    assert exp.estimate().calls == 0
    assert path.read_bytes() == before
    assert "migrations" not in {
        r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master")
    }
