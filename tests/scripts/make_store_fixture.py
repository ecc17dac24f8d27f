"""Build the upgrade fixture: a store written by this version of workbench.

    PYTHONPATH=. python tests/scripts/make_store_fixture.py

Runs the experiments of ``tests/store_fixture_cases.py`` on the fake provider in a temporary
folder, sets the human labels, checkpoints the store (no -wal/-shm left) and copies it to
``tests/data/store-<version>.sqlite``, with ``tests/data/store-<version>.json``: what each cell
answered, its request key and labels, for ``tests/test_migrations.py`` to compare with.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS))

from store_fixture_cases import FIXTURE_VERSION, LABELS, experiments, script_fakes  # noqa: E402

import workbench as wb  # noqa: E402
from workbench.engine.progress import NullProgress  # noqa: E402

SNAPSHOT_COLUMNS = [
    "row_id",
    "variant",
    "repeat",
    "output",
    "request_key",
    "human_label",
    "human_comment",
]


def snapshot(res: wb.Results) -> list[dict[str, object]]:
    """The facts a rerun must reproduce, one record per cell."""
    frame = res.df[SNAPSHOT_COLUMNS + [c for c in res.df.columns if c.endswith("_pass")]]
    return json.loads(frame.to_json(orient="records"))


def main() -> int:
    if wb.__version__ != FIXTURE_VERSION:
        print(f"workbench is {wb.__version__}; the fixture is for {FIXTURE_VERSION}.")
        return 2
    target = TESTS / "data" / f"store-{FIXTURE_VERSION}.sqlite"
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / ".workbench"
        wb.configure(store=store)
        script_fakes()
        results = {exp.name: exp.run(progress=NullProgress()) for exp in experiments()}
        for experiment, row_id, variant, label, comment, repeat in LABELS:
            results[experiment].set_label(row_id, variant, label, comment, repeat=repeat)
        path = store / "store.sqlite"
        db = sqlite3.connect(path)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.execute("PRAGMA journal_mode = DELETE")  # folds the WAL in; no side files remain
        db.execute("VACUUM")
        db.close()
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    description = {
        "version": FIXTURE_VERSION,
        "experiments": {name: snapshot(res) for name, res in results.items()},
    }
    target.with_suffix(".json").write_text(json.dumps(description, indent=1) + "\n")
    print(f"Wrote {target} ({target.stat().st_size:,} bytes) and {target.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
