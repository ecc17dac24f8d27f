"""The store's schema as named migrations, applied in order and recorded in ``migrations``.

Each migration is a function of the open connection, registered with :func:`migration`; its name
is recorded with the time it was applied, so each runs once per store. A shipped migration is
never edited or renumbered: change the schema by adding a new one at the end. Migrations run
inside the store's write transaction (no ``executescript``: it would commit half-way).

A store written by 0.1.0.dev0 has the tables of ``m001_initial`` (and maybe ``labels``) but no
``migrations`` table: every migration then runs, and the first two change nothing.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

__all__ = ["MIGRATIONS", "applied", "has_table", "migrate", "migration", "pending"]

Migration = Callable[[sqlite3.Connection], None]

MIGRATIONS: list[Migration] = []
"""Every migration, in the order they apply."""


def migration(fn: Migration) -> Migration:
    """Register ``fn`` as the next migration; its ``__name__`` is its recorded name."""
    MIGRATIONS.append(fn)
    return fn


def _run(db: sqlite3.Connection, script: str) -> None:
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


@migration
def m001_initial(db: sqlite3.Connection) -> None:
    """The schema of 0.1.0.dev0: key/value meta, cached responses, runs and their cells."""
    _run(
        db,
        """
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
        )
        """,
    )


@migration
def m002_labels(db: sqlite3.Connection) -> None:
    """Human labels per (experiment, row, variant, repeat); 0.1.0.dev0 made it on first label."""
    _run(
        db,
        """
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
        """,
    )


@migration
def m003_run_kind(db: sqlite3.Connection) -> None:
    """What a run was for: ``run`` (an experiment), ``check`` or ``export``."""
    db.execute("ALTER TABLE runs ADD COLUMN kind TEXT NOT NULL DEFAULT 'run'")


@migration
def m004_run_tables(db: sqlite3.Connection) -> None:
    """Each finished run's results table and record, so a run can be read back (reports,
    comparisons across runs) without its dataset file or scorers at hand."""
    _run(
        db,
        """
        CREATE TABLE IF NOT EXISTS run_tables (
            run_id TEXT PRIMARY KEY,
            version INTEGER NOT NULL,
            record TEXT NOT NULL,
            data BLOB NOT NULL
        )
        """,
    )


@migration
def m005_normalized_usage(db: sqlite3.Connection) -> None:
    """Cached responses may carry normalized usage (reasoning, cached-input and cache-write
    tokens), reasoning text, time to first token and the service tier: no table changes, but a
    workbench that knows only text and two token counts must refuse such a store (it is newer)
    rather than fail on a response it cannot read."""


@migration
def m006_batches(db: sqlite3.Connection) -> None:
    """Provider batches (``mode="batch"``): each batch, and each request's custom id -> cache key
    and the cells of the run that submitted it; written before the batch is submitted."""
    _run(
        db,
        """
        CREATE TABLE IF NOT EXISTS batches (
            id TEXT PRIMARY KEY,
            provider TEXT NOT NULL,
            model TEXT NOT NULL,
            provider_batch TEXT,
            run_id TEXT NOT NULL,
            experiment TEXT NOT NULL,
            purpose TEXT NOT NULL,
            created REAL NOT NULL,
            state TEXT NOT NULL,
            outcome TEXT,
            total INTEGER NOT NULL,
            succeeded INTEGER NOT NULL DEFAULT 0,
            failed INTEGER NOT NULL DEFAULT 0,
            checked REAL,
            collected REAL,
            message TEXT NOT NULL DEFAULT ''
        );
        CREATE TABLE IF NOT EXISTS batch_requests (
            batch TEXT NOT NULL,
            custom_id TEXT NOT NULL,
            key TEXT NOT NULL,
            cells TEXT NOT NULL,
            PRIMARY KEY (batch, custom_id)
        );
        CREATE INDEX IF NOT EXISTS batch_requests_key ON batch_requests (key)
        """,
    )


def has_table(db: sqlite3.Connection, name: str) -> bool:
    """True if the database has a table of this name."""
    found = db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,))
    return found.fetchone() is not None


def applied(db: sqlite3.Connection) -> list[str]:
    """Names of the migrations recorded in this store, oldest first."""
    if not has_table(db, "migrations"):
        return []
    return [r[0] for r in db.execute("SELECT name FROM migrations ORDER BY applied, rowid")]


def pending(db: sqlite3.Connection) -> list[Migration]:
    """Migrations this store has not had yet, in order."""
    done = set(applied(db))
    return [m for m in MIGRATIONS if m.__name__ not in done]


def migrate(db: sqlite3.Connection) -> list[str]:
    """Apply what is pending and record it; call inside a write transaction (BEGIN IMMEDIATE),
    which makes a second process wait and then find nothing left to do. Returns the names."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied REAL NOT NULL)"
    )
    names = []
    for step in pending(db):
        step(db)
        db.execute("INSERT INTO migrations VALUES (?, ?)", (step.__name__, time.time()))
        names.append(step.__name__)
    return names
