"""A broken, truncated, foreign or too-new store file: a clear StoreError that names
`workbench store move-aside`, nothing changed or deleted, and after moving it aside the next run
works. (Random bytes and a plain foreign database are covered in test_cli.py.)
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from fakes import current_fake

import workbench as wb
from workbench.cli import main
from workbench.config import get_settings
from workbench.engine.progress import NullProgress
from workbench.engine.store import SCHEMA_VERSION, Store
from workbench.errors import StoreError
from workbench.providers.fake import FakeProvider

Capture = pytest.CaptureFixture[str]
ROWS = 300


def experiment(rows: int = ROWS) -> wb.Experiment:
    ds = wb.Dataset(pd.DataFrame({"q": [f"question {i} " + "x" * 200 for i in range(rows)]}))
    return wb.Experiment("safety", ds, [wb.Variant("v", model="fake/echo", user="{{ q }}")])


def run(exp: wb.Experiment) -> wb.Results:
    return exp.run(progress=NullProgress())


def store_path() -> Path:
    return get_settings().store_path


def real_store() -> Path:
    """A real store with a few hundred responses (many pages), closed cleanly."""
    assert run(experiment()).df["error"].isna().all()
    path = store_path()
    assert path.stat().st_size > 50_000
    return path


def truncate_half(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2 + 123])


def zero_middle(path: Path) -> None:
    data = bytearray(path.read_bytes())
    page = 4096
    for start in range(page, len(data) - page, 3 * page):  # every third page after the header
        data[start : start + page] = os.urandom(page)
    path.write_bytes(bytes(data))


def foreign_tables(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
        db.execute("CREATE TABLE responses (whatever BLOB)")  # a same-named table: still foreign
        db.execute("INSERT INTO users (name) VALUES ('alice')")
        db.execute("PRAGMA application_id = 1234")
    db.close()


def newer_schema(path: Path) -> None:
    real_store()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION + 1),))
    db.close()


def html_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("<html>not a database, a downloaded login page</html>\n" * 200)


BREAKERS: dict[str, Callable[[Path], None]] = {
    "truncated": lambda p: (real_store(), truncate_half(p)),  # type: ignore[dict-item]
    "damaged_pages": lambda p: (real_store(), zero_middle(p)),  # type: ignore[dict-item]
    "foreign_tables": foreign_tables,
    "newer_schema": newer_schema,
    "html_file": html_file,
}


def break_store(kind: str) -> Path:
    path = store_path()
    BREAKERS[kind](path)
    current_fake().calls.clear()
    return path


def use_store(path: Path) -> None:
    """What a run and `store info` do with the store, so corruption past the header is found."""
    with Store(path) as store:
        store.get_many([f"k{i}" for i in range(2000)])
        store.runs()
        store.count_responses()
    run(experiment(20))


@pytest.mark.parametrize("kind", list(BREAKERS))
def test_broken_store_is_a_clear_error_and_nothing_is_changed(
    kind: str, fake: FakeProvider
) -> None:
    path = break_store(kind)
    before = path.read_bytes()
    with pytest.raises(StoreError) as info:
        use_store(path)
    message = str(info.value)
    assert "workbench store move-aside" in message
    assert str(path) in message
    assert "Traceback" not in message and len(message) < 600
    assert path.read_bytes() == before  # never repaired, rewritten or deleted behind one's back
    assert fake.calls.total() == 0


@pytest.mark.parametrize("kind", list(BREAKERS))
def test_run_on_a_broken_store_fails_before_any_call(kind: str, fake: FakeProvider) -> None:
    path = break_store(kind)
    before = path.read_bytes()
    with pytest.raises(StoreError, match="workbench store move-aside"):
        run(experiment(20))
    with pytest.raises(StoreError, match="workbench store move-aside"):
        experiment(20).estimate()
    assert fake.calls.total() == 0
    assert path.read_bytes() == before


@pytest.mark.parametrize("kind", list(BREAKERS))
def test_cli_reports_one_line_then_move_aside_and_the_next_run_works(
    kind: str, capsys: Capture
) -> None:
    path = break_store(kind)
    before = path.read_bytes()
    capsys.readouterr()
    assert main(["store", "info"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("workbench: error: ") and "\n" not in err
    assert "workbench store move-aside" in err

    assert main(["store", "move-aside"]) == 0
    out = capsys.readouterr().out
    assert not path.exists()
    (moved,) = path.parent.glob("store.sqlite.bad-*[0-9]")
    assert moved.read_bytes() == before  # moved whole, never deleted
    assert moved.name in out

    res = run(experiment(20))
    assert res.df["error"].isna().all() and not res.df["cached"].any()
    assert main(["store", "info"]) == 0
    assert "(20 cached responses, 1 runs)" in capsys.readouterr().out
    assert moved.read_bytes() == before


def test_move_aside_takes_the_wal_and_shm_files_along() -> None:
    path = real_store()
    # Leave -wal and -shm behind as a crashed writer would: an open connection mid-transaction.
    holder = sqlite3.connect(path)
    holder.execute("PRAGMA journal_mode = WAL")
    holder.execute("INSERT INTO meta VALUES ('note', 'pending')")
    holder.commit()
    sides = {s: path.with_name(path.name + s) for s in ("-wal", "-shm")}
    assert all(p.exists() for p in sides.values())
    contents = {s: p.read_bytes() for s, p in sides.items()}
    main_bytes = path.read_bytes()
    try:
        moved = Store.move_aside(path)
    finally:
        holder.close()
    assert not path.exists()
    assert moved.read_bytes() == main_bytes
    for suffix, data in contents.items():
        side = moved.with_name(moved.name + suffix)
        assert side.exists() and not sides[suffix].exists()
        if suffix == "-wal":
            assert side.read_bytes()[: len(data)] == data
    # The moved store (with its WAL) still opens: cached calls are recoverable by hand.
    with Store(moved) as store:
        assert store.count_responses() == ROWS


def test_move_aside_twice_never_overwrites() -> None:
    path = store_path()
    names = []
    for i in range(3):
        html_file(path)
        path.write_text(f"broken store number {i}")
        names.append(Store.move_aside(path))
    assert len(set(names)) == 3
    assert sorted(p.read_text() for p in names) == [f"broken store number {i}" for i in range(3)]


def test_store_path_that_is_a_folder_is_a_clear_error() -> None:
    path = store_path()
    path.mkdir(parents=True)
    with pytest.raises(StoreError) as info:
        Store(path)
    assert "move-aside" in str(info.value)
    assert path.is_dir()


def test_readonly_store_folder_is_a_clear_error(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root ignores file permissions")
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(StoreError):
            Store(folder / "store.sqlite")
    finally:
        folder.chmod(0o700)
