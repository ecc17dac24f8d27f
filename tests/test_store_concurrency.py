"""Several processes creating the same new store at once all succeed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

OPEN = """
import sys, time
from pathlib import Path
from workbench.engine.store import Store
go = Path(sys.argv[2])
while not go.exists():
    time.sleep(0.001)
with Store(Path(sys.argv[1])) as store:
    print(store.count_responses())
"""


def test_processes_creating_one_new_store_at_once(tmp_path: Path) -> None:
    path, go = tmp_path / "store" / "store.sqlite", tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN, str(path), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    go.touch()
    outputs = [p.communicate(timeout=60) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err[-1500:]
        assert out.strip() == "0"
