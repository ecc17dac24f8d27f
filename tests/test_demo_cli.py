"""The demo's data is reachable (wb.demo.dataset(), `workbench demo --copy-data`) and its next
steps print commands the user can type in a new shell."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

import workbench as wb
from workbench.cli import _command_name, main

SCRIPT = Path(sys.executable).parent / ("workbench.exe" if os.name == "nt" else "workbench")


def test_the_demo_dataset_is_public() -> None:
    ds = wb.demo.dataset()
    assert len(ds) == 10
    assert ds.columns == ["id", "question", "expected"]
    assert ds.rows[0] == {
        "id": "fr",
        "question": "What is the capital of France?",
        "expected": "Paris",
    }


def test_copy_data_writes_questions_csv_and_says_where(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--copy-data"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Wrote questions.csv") and "10 questions" in out
    assert wb.Dataset.from_file("questions.csv").rows == wb.demo.dataset().rows

    assert main(["demo", "--copy-data"]) == 0  # the same file again: left as it is
    assert "Already there, unchanged: questions.csv" in capsys.readouterr().out

    assert main(["demo", "--copy-data", "data/new"]) == 0
    assert (tmp_path / "data" / "new" / "questions.csv").is_file()
    assert str(Path("data/new/questions.csv")) in capsys.readouterr().out


def test_copy_data_never_overwrites_a_different_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "questions.csv").write_text("question\nmine\n", encoding="utf-8")
    assert main(["demo", "--copy-data"]) == 1
    err = capsys.readouterr().err
    assert "questions.csv already exists and is not the demo data" in err
    assert "workbench demo --copy-data OTHER_FOLDER" in err
    assert (tmp_path / "questions.csv").read_text(encoding="utf-8") == "question\nmine\n"


@pytest.mark.skipif(not SCRIPT.is_file(), reason="tests run from a venv with workbench installed")
def test_next_steps_name_the_script_when_workbench_is_not_on_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))  # a new shell, venv not activated
    assert main(["demo", "--model", "fake/echo", "--out", "out"]) == 0
    out = capsys.readouterr().out
    assert f"`{SCRIPT} runs demo-capitals`" in out
    assert f"`{SCRIPT} demo --copy-data`" in out
    assert f"`source {SCRIPT.parent / 'activate'}` once" in out
    assert "`workbench runs" not in out


@pytest.mark.skipif(not SCRIPT.is_file(), reason="tests run from a venv with workbench installed")
def test_next_steps_say_workbench_when_it_is_the_one_on_path(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(SCRIPT.parent))  # the venv activated
    assert main(["demo", "--model", "fake/echo", "--out", "out"]) == 0
    out = capsys.readouterr().out
    assert "`workbench runs demo-capitals`" in out and "source" not in out


@pytest.mark.skipif(not SCRIPT.is_file(), reason="tests run from a venv with workbench installed")
def test_the_script_is_named_relative_to_the_folder_below_which_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    venv = SCRIPT.parent.parent
    monkeypatch.chdir(venv.parent)  # e.g. the repository, as after `make demo`
    assert _command_name() == str(Path(venv.name) / SCRIPT.parent.name / SCRIPT.name)
    monkeypatch.chdir(SCRIPT.parent)
    assert _command_name() == f"./{SCRIPT.name}"
