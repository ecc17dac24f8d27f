"""`exp.run()` inside a real Jupyter kernel (whose event loop is already running)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

CELLS = [
    """
import asyncio, pandas as pd, workbench as wb
ds = wb.Dataset(pd.DataFrame({"question": ["a b", "c d"], "expected": ["a", "x"]}))
v = wb.Variant("echo", model="fake/echo", user="{{ question }}")
exp = wb.Experiment("kernel", ds, [v], scorers=[wb.scorers.contains()], repeats=2)
assert asyncio.get_event_loop().is_running()   # Jupyter's loop
res = exp.run()
print("cells", len(res.df), "passed", int(res.df["contains_pass"].sum()))
""",
    "again = exp.run(); print('cached', bool(again.df['cached'].all()))",
    "res2 = await exp.arun(); print('arun', len(res2.df))",
]


def test_run_inside_a_running_kernel(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in CELLS]
    client = NotebookClient(
        nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    try:
        client.execute()
    except Exception as exc:  # pragma: no cover - shows the cell error
        pytest.fail(f"notebook failed: {exc}")
    client.set_widgets_metadata()  # the progress widget's last state (ipywidgets installed)
    widgets = json.dumps(nb.metadata.get("widgets", {}))
    texts = [
        "".join(
            o.get("text", "") or str(o.get("data", {}).get("text/plain", "")) for o in c.outputs
        )
        for c in nb.cells
    ]
    assert "cells 4 passed 2" in texts[0]
    # the live progress was displayed in the cell: the widget, or the text line without ipywidgets
    shown = json.loads(widgets) if widgets else {}
    assert "kernel: 4/4 done" in texts[0] or "kernel</b> — <b>done</b>: 4/4 done" in str(shown)
    assert "cached True" in texts[1]
    assert "arun 4" in texts[2]
    assert (Path(os.environ["WORKBENCH_STORE"]) / "store.sqlite").exists()  # kernel used our store
