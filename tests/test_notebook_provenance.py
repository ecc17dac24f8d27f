"""Runs made in a notebook record their provenance; `workbench notebook new` writes a starter."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from workbench import __version__
from workbench.cli import main
from workbench.errors import WorkbenchError
from workbench.notebook import new_notebook, read_provenance, stamp_notebook

RUN = """
import pandas as pd, workbench as wb
ds = wb.Dataset(pd.DataFrame({"question": ["a", "b"], "expected": ["a", "x"]}))
exp = wb.Experiment("stamped", ds, [wb.Variant("echo", model="fake/echo", user="{{ question }}")],
                    scorers=[wb.scorers.contains()])
res = exp.run()
print(res.run_id)
"""


def execute(nb: nbformat.NotebookNode, where: Path) -> None:
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(where)}}
    ).execute()


def test_a_run_in_a_kernel_records_its_provenance(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(RUN)]
    execute(nb, tmp_path)
    path = tmp_path / "run.ipynb"
    nbformat.write(nb, path)
    run_id = next(o["text"].strip() for o in nb.cells[0].outputs if o.get("name") == "stdout")
    [record] = read_provenance(path)
    assert record["run_id"] == run_id
    assert record["experiment"] == "stamped"
    assert record["workbench_version"] == __version__
    assert record["models"] == ["fake/echo"]
    assert record["variants"] == ["echo"]
    assert len(record["dataset"]["fingerprint"]) == 64
    assert record["status"] == "complete"
    assert stamp_notebook(path) == [record]
    assert nbformat.read(path, as_version=4).metadata["workbench"]["runs"] == [record]


def test_no_secret_in_recorded_provenance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = "sk-proj-" + "Q" * 40
    monkeypatch.setenv("OPENAI_API_KEY", key)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(RUN)]
    execute(nb, tmp_path)
    assert key not in nbformat.writes(nb)


def test_starter_notebook_runs_top_to_bottom(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["notebook", "new", "pricing-bot", "--folder", str(tmp_path)]) == 0
    path = tmp_path / "pricing-bot.ipynb"
    assert "Wrote" in capsys.readouterr().out
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[0].source.startswith("# Pricing Bot")
    for cell in nb.cells:  # run it fast on the fake model
        cell.source = cell.source.replace("local/smollm2", "fake/echo")
    execute(nb, tmp_path)
    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]
    assert not errors
    with pytest.raises(WorkbenchError, match="exists already"):
        new_notebook("pricing-bot", tmp_path)


def test_cli_provenance_of_a_notebook_without_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "empty.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), path)
    assert main(["notebook", "provenance", str(path)]) == 0
    assert "no workbench runs recorded" in capsys.readouterr().out
    assert main(["notebook", "provenance", str(tmp_path / "missing.ipynb")]) == 1
