"""Runs kept in the store: each finished run's table and record, read back by id or as
``latest`` / ``previous`` — for reports and for comparing runs across time.

Why the table itself is kept (migration ``m004_run_tables``) rather than rebuilt from the cached
responses: the store holds the dataset's fingerprint and path but not its rows, failed calls are
not cached, and scores may come from Python functions or judge models not at hand when the run is
read back. A kept table reads back exactly as the run showed it, offline, in any process. It is
JSON, zlib-compressed (1,000 rows × 4 variants: about 0.3 MB).
"""

from __future__ import annotations

import dataclasses
import json
import zlib
from pathlib import Path
from typing import Any

import pandas as pd

from workbench.config import get_settings
from workbench.engine.store import Store, open_readonly
from workbench.errors import WorkbenchError
from workbench.plain import plain
from workbench.results.record import RunRecord
from workbench.results.table import RunTable

__all__ = ["REFS", "TABLE_VERSION", "keep_table", "load_run", "resolve_run", "store_file"]

TABLE_VERSION = 1
"""Layout of a kept table (columns, dtypes, rows as JSON); a reader refuses another."""
REFS = ("latest", "previous")
"""Names of runs relative to the newest (of an experiment, or of the store)."""
_DTYPES = {"Int64", "boolean", "bool", "int64", "float64"}
"""Column types restored on reading (text and mixed columns read back as they are)."""


def _encode(df: pd.DataFrame) -> bytes:
    body = {
        "columns": [str(c) for c in df.columns],
        "dtypes": [str(t) for t in df.dtypes],
        "rows": [plain(list(r)) for r in df.itertuples(index=False, name=None)],
    }
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str)
    return zlib.compress(text.encode("utf-8"), 6)


def _decode(data: bytes) -> pd.DataFrame:
    body = json.loads(zlib.decompress(data).decode("utf-8"))
    df = pd.DataFrame(body["rows"], columns=body["columns"])
    for column, dtype in zip(body["columns"], body["dtypes"], strict=True):
        if dtype in _DTYPES:
            df[column] = df[column].astype(dtype)
    return df


def keep_table(store: Store, table: RunTable) -> None:
    """Keep a finished run's table and record in the store."""
    record = json.dumps(table.record.to_dict(), ensure_ascii=False, default=str)
    store.put_run_table(table.record.run_id, TABLE_VERSION, record, _encode(table.df))


def store_file(store: str | Path | None = None) -> Path:
    """The store's SQLite file: ``store`` (a folder or the file), else the configured one."""
    path = Path(store) if store is not None else get_settings().store_path
    return path / "store.sqlite" if path.suffix != ".sqlite" else path


def _kept_runs(db: Store, experiment: str | None) -> list[dict[str, Any]]:
    kept = db.tabled_runs()
    return [r for r in db.runs(experiment) if r["run_id"] in kept and r["kind"] == "run"]


def resolve_run(db: Store, ref: str, experiment: str | None = None) -> str:
    """The run id ``ref`` names: an id (or its unique start), ``latest`` or ``previous`` (of
    ``experiment``; without one, of the newest run's experiment)."""
    runs = _kept_runs(db, experiment)
    if ref in REFS:
        if not runs:
            where = f" of '{experiment}'" if experiment else ""
            raise WorkbenchError(
                f"No finished run{where} in {db.path} to call '{ref}'. Run the experiment "
                f"first; `workbench runs` lists what the store holds."
            )
        if experiment is None:
            runs = [r for r in runs if r["experiment"] == runs[0]["experiment"]]
        at = REFS.index(ref)
        if len(runs) <= at:
            raise WorkbenchError(
                f"'{ref}': experiment '{runs[0]['experiment']}' has only one finished run "
                f"({runs[0]['run_id']}) in {db.path}; run it again to have a previous one."
            )
        return str(runs[at]["run_id"])
    every = db.runs(experiment)
    exact = [r for r in every if r["run_id"] == ref]
    found = exact or [r for r in every if str(r["run_id"]).startswith(ref)]
    if len(found) == 1:
        return str(found[0]["run_id"])
    recent = ", ".join(str(r["run_id"]) for r in every[:5]) or "none"
    if not found:
        raise WorkbenchError(
            f"No run '{ref}' in {db.path} (newest: {recent}). Name a run id from "
            f"`workbench runs`, or latest / previous."
        )
    raise WorkbenchError(
        f"'{ref}' starts {len(found)} run ids ({', '.join(r['run_id'] for r in found[:5])}); "
        f"give more of the id."
    )


def load_run(
    ref: str = "latest", *, experiment: str | None = None, store: str | Path | None = None
) -> RunTable:
    """A kept run's table (human labels as saved now), by id, ``latest`` or ``previous``.
    Reads only: nothing is created or upgraded."""
    path = store_file(store)
    db = open_readonly(path)
    if db is None:
        raise WorkbenchError(f"No store at {path}: run an experiment first (or pass store=).")
    with db:
        run_id = resolve_run(db, ref, experiment)
        kept = db.run_table(run_id)
        if kept is None:
            raise WorkbenchError(
                f"Run {run_id} has no kept table: it was made by an older workbench, or it ended "
                f"before its results were saved. Run the experiment again (cached calls cost "
                f"nothing) and use the new run."
            )
        version, record_text, data = kept
        if version != TABLE_VERSION:
            raise WorkbenchError(
                f"Run {run_id} was kept in table layout {version}; this workbench reads "
                f"{TABLE_VERSION}. Upgrade: pip install -U prompt-workbench."
            )
        record = RunRecord.from_dict(json.loads(record_text))
        labels = db.labels(record.experiment)
    table = RunTable(_decode(data), dataclasses.replace(record, store=str(path)))
    table.apply_labels(labels)
    return table
