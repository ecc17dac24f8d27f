"""The SQLite store: response cache, run journal and history, one file per project folder.

WAL mode and short write transactions make it safe for two kernels or processes at once. A
completed call is committed before anyone is told about it, so a crash never loses a paid call.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from workbench.errors import StoreError
from workbench.providers.base import Response

__all__ = ["SCHEMA_VERSION", "Store"]

SCHEMA_VERSION = 1
_APP_ID = 0x57424E43  # "WBNC": marks the file as a workbench store

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    response TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    experiment TEXT NOT NULL,
    started REAL NOT NULL,
    finished REAL,
    status TEXT NOT NULL,
    spec TEXT NOT NULL,
    summary TEXT
);
CREATE TABLE IF NOT EXISTS run_cells (
    run_id TEXT NOT NULL,
    cell INTEGER NOT NULL,
    key TEXT NOT NULL,
    cached INTEGER NOT NULL,
    error TEXT,
    PRIMARY KEY (run_id, cell)
);
"""

# Added after schema 1 shipped; created with the first label, so older stores need no migration.
_LABELS = """
CREATE TABLE IF NOT EXISTS labels (
    experiment TEXT NOT NULL,
    row_id TEXT NOT NULL,
    variant TEXT NOT NULL,
    repeat INTEGER NOT NULL,
    request_key TEXT,
    label TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL,
    PRIMARY KEY (experiment, row_id, variant, repeat)
)
"""


def _dump(response: Response) -> str:
    # vars(), not dataclasses.asdict: asdict deep-copies the raw body, a hot spot at 100s of calls/s.
    return json.dumps(vars(response), ensure_ascii=False, separators=(",", ":"))


def _load(text: str) -> Response:
    return Response(**json.loads(text))


def _gone(owner: dict[str, Any] | None) -> bool:
    """True when the process that started a run ran on this machine and no longer exists."""
    if not owner or owner.get("host") != socket.gethostname() or not owner.get("pid"):
        return False
    try:
        os.kill(int(owner["pid"]), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError, ValueError):
        return False
    return False


class Store:
    """Open (creating if needed) the store at ``path`` (a ``.sqlite`` file)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"Cannot create the store folder {self.path.parent}: {exc}") from exc
        try:
            self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            self._db.execute("PRAGMA busy_timeout = 30000")
            fresh = self._identify()  # before any write: a foreign file must stay byte-identical
            self._enable_wal()
            self._db.execute("PRAGMA synchronous = NORMAL")
            if fresh:
                self._create_schema()
        except (sqlite3.DatabaseError, StoreError) as exc:
            if hasattr(self, "_db"):
                self._db.close()  # no open handle on a file the user is told to move
            if isinstance(exc, StoreError):
                raise
            self._fail(exc)

    def _enable_wal(self) -> None:
        """Switch to WAL. SQLite answers "locked" at once, without waiting on busy_timeout, when
        another process is creating the same new store: retry for as long as busy_timeout."""
        deadline = time.monotonic() + 30.0
        while True:
            try:
                self._db.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                transient = "locked" in str(exc) or "busy" in str(exc)
                if not transient or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def _fail(self, exc: Exception) -> None:
        raise StoreError(
            f"{self.path} is not a readable workbench store ({exc}). Nothing was changed. Move it "
            f"aside and start a fresh one: `workbench store move-aside` (or "
            f"`mv {self.path} {self.path}.bad`); cached calls in it are then not reused."
        ) from exc

    def _identify(self) -> bool:
        """Refuse foreign or too-new files without changing them; True if the schema is missing."""
        app_id = self._db.execute("PRAGMA application_id").fetchone()[0]
        tables = {
            r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        if app_id not in (0, _APP_ID) or (app_id == 0 and tables and "responses" not in tables):
            raise sqlite3.DatabaseError("the file belongs to another program")
        if app_id == _APP_ID and "meta" in tables:
            row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if row and int(row[0]) > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path} was written by a newer workbench (store schema {row[0]}, this "
                    f"version reads {SCHEMA_VERSION}). Upgrade: pip install -U prompt-workbench, "
                    f"or start a fresh store with `workbench store move-aside`."
                )
            return False
        return True

    def _create_schema(self) -> None:
        with self._write():
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)
            self._db.execute(f"PRAGMA application_id = {_APP_ID}")
            self._db.execute(
                "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )

    def _write(self) -> _Transaction:
        return _Transaction(self._db)

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- response cache -------------------------------------------------------------------
    def get_many(self, keys: Sequence[str]) -> dict[str, Response]:
        """Cached successful responses for these keys."""
        found: dict[str, Response] = {}
        unique = list(dict.fromkeys(keys))
        try:
            for start in range(0, len(unique), 500):
                chunk = unique[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for key, text in self._db.execute(
                    f"SELECT key, response FROM responses WHERE key IN ({marks})", chunk
                ):
                    found[key] = _load(text)
        except sqlite3.DatabaseError as exc:
            self._fail(exc)
        return found

    def put(
        self, key: str, model: str, response: Response, journal: Iterable[tuple[str, int]] = ()
    ) -> None:
        """Commit a completed call (successes are cached; failures only journaled) at once."""
        self.put_many([(key, model, response, journal)])

    def put_many(
        self, calls: Sequence[tuple[str, str, Response, Iterable[tuple[str, int]]]]
    ) -> None:
        """Commit completed calls ``(key, model, response, journal)`` in one write transaction
        (a group commit: one transaction per call costs more than the call at high call rates)."""
        if not calls:
            return
        now = time.time()
        responses = [
            (key, model, _dump(response), now) for key, model, response, _ in calls if response.ok
        ]
        cells = [
            (run_id, cell, key, response.error)
            for key, _, response, journal in calls
            for run_id, cell in journal
        ]
        try:
            with self._write():
                if responses:
                    self._db.executemany(
                        "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?)", responses
                    )
                if cells:
                    self._db.executemany(
                        "INSERT OR REPLACE INTO run_cells VALUES (?, ?, ?, 0, ?)", cells
                    )
        except sqlite3.DatabaseError as exc:
            self._fail(exc)

    def journal_cached(self, run_id: str, cells: Iterable[tuple[int, str]]) -> None:
        """Record that these cells of a run were answered from the cache."""
        with self._write():
            self._db.executemany(
                "INSERT OR REPLACE INTO run_cells VALUES (?, ?, ?, 1, NULL)",
                [(run_id, cell, key) for cell, key in cells],
            )

    def count_responses(self) -> int:
        """Number of cached responses."""
        return int(self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    # -- human labels ---------------------------------------------------------------------
    def put_label(
        self,
        experiment: str,
        row_id: object,
        variant: str,
        repeat: int,
        label: str,
        comment: str = "",
        request_key: str | None = None,
    ) -> None:
        """Save (or replace) a human label for one repeat of a cell; ``label=""`` deletes it."""
        args = (experiment, str(row_id), variant, int(repeat))
        with self._write():
            self._db.execute(_LABELS)
            if not label and not comment:
                self._db.execute(
                    "DELETE FROM labels WHERE experiment=? AND row_id=? AND variant=? AND repeat=?",
                    args,
                )
                return
            self._db.execute(
                "INSERT OR REPLACE INTO labels VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (*args, request_key, label, comment, time.time()),
            )

    def labels(self, experiment: str) -> dict[tuple[str, str, int], tuple[str, str]]:
        """Human labels of an experiment: (row_id, variant, repeat) -> (label, comment)."""
        exists = self._db.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='labels'"
        ).fetchone()
        if not exists:
            return {}
        rows = self._db.execute(
            "SELECT row_id, variant, repeat, label, comment FROM labels WHERE experiment=?",
            (experiment,),
        )
        return {(r, v, int(n)): (lab, com) for r, v, n, lab, com in rows}

    # -- runs -----------------------------------------------------------------------------
    def start_run(self, run_id: str, experiment: str, spec: dict[str, Any]) -> None:
        """Record that a run began, and which process runs it (to tell a killed run later)."""
        owner = {"pid": os.getpid(), "host": socket.gethostname()}
        with self._write():
            self._db.execute(
                "INSERT INTO runs VALUES (?, ?, ?, NULL, 'running', ?, ?)",
                (run_id, experiment, time.time(), json.dumps(spec, default=str), json.dumps(owner)),
            )

    def finish_run(self, run_id: str, status: str, summary: dict[str, Any]) -> None:
        """Record how a run ended: complete, interrupted or over budget."""
        with self._write():
            self._db.execute(
                "UPDATE runs SET finished=?, status=?, summary=? WHERE run_id=?",
                (time.time(), status, json.dumps(summary, default=str), run_id),
            )

    def add_to_summary(self, run_id: str, **values: Any) -> None:
        """Merge ``values`` into a finished run's summary (e.g. its per-variant scores)."""
        with self._write():
            row = self._db.execute("SELECT summary FROM runs WHERE run_id=?", (run_id,)).fetchone()
            summary = json.loads(row[0]) if row and row[0] else {}
            summary.update(values)
            self._db.execute(
                "UPDATE runs SET summary=? WHERE run_id=?",
                (json.dumps(summary, default=str), run_id),
            )

    def runs(self, experiment: str | None = None) -> list[dict[str, Any]]:
        """Past runs, newest first, with their spec. A run still marked ``running`` whose
        process on this machine has gone is reported as ``killed`` (what it finished is saved)."""
        sql = "SELECT run_id, experiment, started, finished, status, spec, summary FROM runs"
        args: tuple[str, ...] = ()
        if experiment:
            sql, args = sql + " WHERE experiment=?", (experiment,)
        rows = self._db.execute(sql + " ORDER BY started DESC", args).fetchall()
        keys = ("run_id", "experiment", "started", "finished", "status", "spec", "summary")
        out = [dict(zip(keys, r, strict=True)) for r in rows]
        for r in out:
            r["spec"] = json.loads(r["spec"]) if r["spec"] else None
            r["summary"] = json.loads(r["summary"]) if r["summary"] else None
            if r["status"] == "running" and _gone(r["summary"]):
                r["status"] = "killed"
        return out

    @staticmethod
    def move_aside(path: Path) -> Path:
        """Rename a broken store (and its WAL files) out of the way; returns the new name."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = path.with_name(f"{path.name}.bad-{stamp}")
        n = 1
        while target.exists():
            n += 1
            target = path.with_name(f"{path.name}.bad-{stamp}-{n}")
        path.rename(target)
        for suffix in ("-wal", "-shm"):
            side = path.with_name(path.name + suffix)
            if side.exists():
                side.rename(target.with_name(target.name + suffix))
        return target


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, so two writers queue instead of deadlocking."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self._db.execute("ROLLBACK" if exc_type else "COMMIT")
