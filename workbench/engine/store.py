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
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from workbench.engine.migrations import MIGRATIONS, applied, has_table, migrate, pending
from workbench.errors import StoreError
from workbench.providers.base import Response

__all__ = ["RUN_KINDS", "SCHEMA_VERSION", "Store", "StoredBatch", "open_readonly"]

SCHEMA_VERSION = len(MIGRATIONS)
"""Recorded in ``meta``; 0.1.0.dev0 refuses a store whose number is higher than its own (1)."""
_APP_ID = 0x57424E43  # "WBNC": marks the file as a workbench store

RUN_KINDS = ("run", "check", "export")
"""What a run was made for: an experiment run, ``workbench check`` or ``workbench export``."""


def _dump(response: Response) -> str:
    # vars(), not dataclasses.asdict: asdict deep-copies the raw body, a hot spot at 100s of calls/s.
    return json.dumps(vars(response), ensure_ascii=False, separators=(",", ":"))


def _load(text: str) -> Response:
    return Response(**json.loads(text))


@dataclass(frozen=True)
class StoredBatch:
    """A provider batch as the store last saw it."""

    id: str
    """Workbench's own id (``wbb-...``), known before the provider's."""
    provider: str
    model: str
    provider_batch: str | None
    """The provider's batch id; None while (or if) the submission was never confirmed."""
    run_id: str
    experiment: str
    purpose: str
    """``cell`` or ``judge``."""
    created: float
    state: str
    """``submitting`` until the provider accepted it, then the provider's word."""
    outcome: str | None
    """completed, cancelled, expired, failed or lost once it ended; None while it goes on."""
    total: int
    succeeded: int
    failed: int
    checked: float | None
    """When its state was last asked of the provider."""
    collected: float | None
    """When its results were saved to the cache (None: not yet)."""
    message: str

    @property
    def open(self) -> bool:
        """True while its results are still to be collected."""
        return self.collected is None


_BATCH_COLUMNS = (
    "id, provider, model, provider_batch, run_id, experiment, purpose, created, state, outcome, "
    "total, succeeded, failed, checked, collected, message"
)


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
    """Open the store at ``path`` (a ``.sqlite`` file): created if needed and upgraded by its
    pending migrations; or, with ``readonly=True``, only read (nothing is created or changed;
    see :func:`open_readonly`)."""

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self.pending: list[str] = []
        """Migrations not applied yet (only a read-only store can have some)."""
        self.empty = False
        """True when the file holds no store yet (a read-only open of an empty file)."""
        if not readonly:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"Cannot create the store folder {self.path.parent}: {exc}"
                ) from exc
        try:
            if readonly:
                uri = f"{self.path.absolute().as_uri()}?mode=ro"
                self._db = sqlite3.connect(uri, uri=True, timeout=30.0, isolation_level=None)
            else:
                self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            self._db.execute("PRAGMA busy_timeout = 30000")
            self.empty = self._identify()  # before any write: a foreign file stays byte-identical
            if readonly:
                self.pending = [m.__name__ for m in pending(self._db)]
            else:
                self._enable_wal()
                self._db.execute("PRAGMA synchronous = NORMAL")
                self._upgrade()
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
            known = {m.__name__ for m in MIGRATIONS}
            unknown = [name for name in applied(self._db) if name not in known]
            if (row and int(row[0]) > SCHEMA_VERSION) or unknown:
                raise StoreError(
                    f"{self.path} was written by a newer workbench (store schema "
                    f"{row[0] if row else '?'}, this version reads {SCHEMA_VERSION}). Upgrade: "
                    f"pip install -U prompt-workbench, or start a fresh store with "
                    f"`workbench store move-aside`."
                )
            return False
        return not tables

    def _upgrade(self) -> None:
        """Apply pending migrations (one write transaction; a second process waits, then finds
        nothing left), and mark the file as a workbench store of this schema."""
        if not pending(self._db):
            return
        with self._write():
            if migrate(self._db):
                self._db.execute(f"PRAGMA application_id = {_APP_ID}")
                self._db.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )

    @staticmethod
    def disk_usage(path: Path) -> tuple[int, int]:
        """Bytes on disk of the store file and of its write-ahead log (0 when absent)."""
        wal = path.with_name(path.name + "-wal")
        return (
            path.stat().st_size if path.is_file() else 0,
            wal.stat().st_size if wal.is_file() else 0,
        )

    def _write(self) -> _Transaction:
        if self.readonly:
            raise StoreError(
                f"{self.path} was opened read-only; open it with Store(path) to write."
            )
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
        if "m002_labels" in self.pending and not has_table(self._db, "labels"):
            return {}  # a read-only 0.1.0.dev0 store that never had a label
        rows = self._db.execute(
            "SELECT row_id, variant, repeat, label, comment FROM labels WHERE experiment=?",
            (experiment,),
        )
        return {(r, v, int(n)): (lab, com) for r, v, n, lab, com in rows}

    # -- runs -----------------------------------------------------------------------------
    def start_run(
        self, run_id: str, experiment: str, spec: dict[str, Any], kind: str = "run"
    ) -> None:
        """Record that a run began, what for (one of :data:`RUN_KINDS`), and which process runs
        it (to tell a killed run later)."""
        owner = {"pid": os.getpid(), "host": socket.gethostname()}
        with self._write():
            self._db.execute(
                "INSERT INTO runs (run_id, experiment, started, finished, status, spec, summary, "
                "kind) VALUES (?, ?, ?, NULL, 'running', ?, ?, ?)",
                (
                    run_id,
                    experiment,
                    time.time(),
                    json.dumps(spec, default=str),
                    json.dumps(owner),
                    kind,
                ),
            )

    def finish_run(self, run_id: str, status: str, summary: dict[str, Any]) -> None:
        """Record how a run ended: complete, budget (stopped at it), interrupted (stopped
        cleanly) or failed (an error ended it)."""
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
        """Past runs, newest first, with their kind and spec. A run still marked ``running``
        whose process on this machine has gone is reported as ``killed`` (what it finished is
        saved)."""
        kind = "'run'" if "m003_run_kind" in self.pending else "kind"  # read-only, not upgraded
        sql = (
            f"SELECT run_id, experiment, {kind}, started, finished, status, spec, summary FROM runs"
        )
        args: tuple[str, ...] = ()
        if experiment:
            sql, args = sql + " WHERE experiment=?", (experiment,)
        rows = self._db.execute(sql + " ORDER BY started DESC", args).fetchall()
        keys = ("run_id", "experiment", "kind", "started", "finished", "status", "spec", "summary")
        out = [dict(zip(keys, r, strict=True)) for r in rows]
        for r in out:
            r["spec"] = json.loads(r["spec"]) if r["spec"] else None
            r["summary"] = json.loads(r["summary"]) if r["summary"] else None
            if r["status"] == "running" and _gone(r["summary"]):
                r["status"] = "killed"
        return out

    # -- run tables ---------------------------------------------------------------------------
    def put_run_table(self, run_id: str, version: int, record: str, data: bytes) -> None:
        """Keep a finished run's table (``data``, in the layout ``version``) and its record."""
        with self._write():
            self._db.execute(
                "INSERT OR REPLACE INTO run_tables VALUES (?, ?, ?, ?)",
                (run_id, version, record, data),
            )

    def run_table(self, run_id: str) -> tuple[int, str, bytes] | None:
        """``(version, record, data)`` of a run's kept table, or None (a run made before tables
        were kept, or one that ended before its table was written)."""
        if "m004_run_tables" in self.pending and not has_table(self._db, "run_tables"):
            return None  # a read-only store from before run tables
        row = self._db.execute(
            "SELECT version, record, data FROM run_tables WHERE run_id=?", (run_id,)
        ).fetchone()
        return None if row is None else (int(row[0]), str(row[1]), bytes(row[2]))

    def tabled_runs(self) -> set[str]:
        """Ids of the runs whose table is kept."""
        if "m004_run_tables" in self.pending and not has_table(self._db, "run_tables"):
            return set()
        return {r[0] for r in self._db.execute("SELECT run_id FROM run_tables")}

    # -- provider batches -----------------------------------------------------------------
    def add_batch(
        self, batch: StoredBatch, requests: Sequence[tuple[str, str, Sequence[int]]]
    ) -> dict[str, str]:
        """Journal a batch before it is submitted: the batch and each request's (custom id,
        cache key, cells of the submitting run). Requests another open batch already holds
        (another process submitting the same requests right now) are left out, in the same
        write transaction: returned as cache key -> that batch's id. Nothing is journaled when
        no request is left."""
        with self._write():
            held = self.open_batch_keys(key for _, key, _ in requests)
            rows = [(cid, key, cells) for cid, key, cells in requests if key not in held]
            if rows:
                kept = replace(batch, total=len(rows))
                values = [getattr(kept, name.strip()) for name in _BATCH_COLUMNS.split(",")]
                marks = ", ".join("?" * len(values))
                self._db.execute(f"INSERT INTO batches ({_BATCH_COLUMNS}) VALUES ({marks})", values)
                self._db.executemany(
                    "INSERT INTO batch_requests VALUES (?, ?, ?, ?)",
                    [(batch.id, cid, key, json.dumps(list(cells))) for cid, key, cells in rows],
                )
        return held

    def update_batch(self, batch_id: str, **values: Any) -> None:
        """Record what is now known of a batch (``provider_batch``, ``state``, counts, ...)."""
        known = {name.strip() for name in _BATCH_COLUMNS.split(",")} - {"id"}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"not batch columns: {sorted(unknown)}")
        sets = ", ".join(f"{name}=?" for name in values)
        with self._write():
            self._db.execute(f"UPDATE batches SET {sets} WHERE id=?", [*values.values(), batch_id])

    def batches(self, *, open_only: bool = False, limit: int | None = None) -> list[StoredBatch]:
        """Batches, newest first (``open_only``: those whose results are not collected yet)."""
        if "m006_batches" in self.pending:
            return []  # a read-only store from before batches
        sql = f"SELECT {_BATCH_COLUMNS} FROM batches"
        if open_only:
            sql += " WHERE collected IS NULL"
        sql += " ORDER BY created DESC, rowid DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [StoredBatch(*row) for row in self._db.execute(sql)]

    def batch(self, ref: str) -> StoredBatch | None:
        """A batch by workbench's id or the provider's."""
        if "m006_batches" in self.pending:
            return None
        row = self._db.execute(
            f"SELECT {_BATCH_COLUMNS} FROM batches WHERE id=? OR provider_batch=? "
            "ORDER BY created DESC LIMIT 1",
            (ref, ref),
        ).fetchone()
        return StoredBatch(*row) if row else None

    def batch_requests(self, batch_id: str) -> dict[str, tuple[str, list[int]]]:
        """custom id -> (cache key, cells of the submitting run) of one batch."""
        rows = self._db.execute(
            "SELECT custom_id, key, cells FROM batch_requests WHERE batch=?", (batch_id,)
        )
        return {cid: (key, json.loads(cells)) for cid, key, cells in rows}

    def open_batch_keys(self, keys: Iterable[str]) -> dict[str, str]:
        """Cache key -> id of the open batch holding it, for these keys."""
        wanted = list(dict.fromkeys(keys))
        found: dict[str, str] = {}
        if "m006_batches" in self.pending:
            return found  # a read-only store from before batches
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for key, batch in self._db.execute(
                "SELECT r.key, r.batch FROM batch_requests r JOIN batches b ON b.id = r.batch "
                f"WHERE b.collected IS NULL AND r.key IN ({marks})",
                chunk,
            ):
                found.setdefault(key, batch)
        return found

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


def open_readonly(path: Path) -> Store | None:
    """The store at ``path`` opened for reading only, or None when there is none yet: read-only
    commands treat a missing store as empty and never create one. A store written by an older
    workbench is read as it is (upgraded by the next run); a foreign or newer file is refused."""
    if not path.exists():
        return None
    store = Store(path, readonly=True)
    if store.empty:
        store.close()
        return None
    return store


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, so two writers queue instead of deadlocking."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self._db.execute("ROLLBACK" if exc_type else "COMMIT")
