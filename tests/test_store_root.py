"""The store follows the project, not the shell's folder: the nearest folder up holding
workbench.toml, .workbench/ or .git (from a YAML file's folder, or the working folder)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

import workbench as wb
from workbench.cli import main
from workbench.config import find_project, get_settings
from workbench.engine.progress import NullProgress
from workbench.providers.fake import FakeProvider

Capture = pytest.CaptureFixture[str]

DATA = "id,question,expected\nfr,paris,Paris\njp,tokyo,Tokyo\n"
YAML = """\
name: capitals
dataset: questions.csv
repeats: 2
defaults: {model: fake/echo}
variants:
  - {name: plain, user: "{{ question }}"}
scorers:
  - contains: "{{ expected }}"
"""
CELLS = 4


@pytest.fixture(autouse=True)
def _no_store_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WORKBENCH_STORE")


def project(root: Path, marker: str = ".git") -> Path:
    """A project folder with an experiment in ``experiments/`` and an empty ``other/`` folder."""
    if marker == ".git":
        (root / ".git").mkdir(parents=True)
    elif marker == "workbench.toml":
        root.mkdir(parents=True, exist_ok=True)
        (root / "workbench.toml").write_text("timeout = 30\n")
    folder = root / "experiments"
    (folder / "sub").mkdir(parents=True)
    (root / "other").mkdir()
    (folder / "questions.csv").write_text(DATA, encoding="utf-8")
    path = folder / "capitals.yaml"
    path.write_text(YAML, encoding="utf-8")
    return path


def run_from(folder: Path, experiment: Path, capsys: Capture) -> str:
    """``workbench run`` with a relative path, from ``folder``; returns what it printed."""
    os.chdir(folder)
    capsys.readouterr()
    out = folder / "results"
    assert main(["run", os.path.relpath(experiment, folder), "--out", str(out)]) == 0
    return capsys.readouterr().out


def stores(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for p in root.rglob("store.sqlite"))


def test_a_yaml_experiment_run_from_a_sibling_folder_uses_the_projects_store(
    tmp_path: Path,
    capsys: Capture,
    fake: FakeProvider,
) -> None:
    root = tmp_path / "proj"
    path = project(root)
    out = run_from(root / "other", path, capsys)
    assert fake.calls.total() == CELLS
    store = root / ".workbench" / "store.sqlite"
    assert out.splitlines()[0] == f"Store: {store} (project folder {root} holds .git)"
    # Again from the experiment's own folder, and from a subfolder: everything is cached.
    run_from(path.parent, path, capsys)
    out = run_from(path.parent / "sub", path, capsys)
    assert fake.calls.total() == CELLS
    assert f"{CELLS} cells: {CELLS} cached, 0 calls to make" in out
    assert stores(root) == [Path(".workbench/store.sqlite")]


def test_a_git_file_marks_the_project_too(
    tmp_path: Path, capsys: Capture, fake: FakeProvider
) -> None:
    root = tmp_path / "worktree"
    path = project(root, marker="none")
    (root / ".git").write_text("gitdir: /somewhere/else\n")  # a git worktree or submodule
    run_from(root / "other", path, capsys)
    run_from(path.parent / "sub", path, capsys)
    assert fake.calls.total() == CELLS
    assert stores(root) == [Path(".workbench/store.sqlite")]


def test_workbench_toml_store_is_relative_to_the_toml(
    tmp_path: Path, capsys: Capture, fake: FakeProvider
) -> None:
    root = tmp_path / "proj"
    path = project(root, marker="workbench.toml")
    (root / "workbench.toml").write_text('store = "data/wb"\n')
    out = run_from(root / "other", path, capsys)
    store = root / "data" / "wb" / "store.sqlite"
    assert out.splitlines()[0] == f"Store: {store} (set by store = in {root / 'workbench.toml'})"
    run_from(path.parent / "sub", path, capsys)
    assert fake.calls.total() == CELLS
    assert stores(root) == [Path("data/wb/store.sqlite")]
    os.chdir(path.parent / "sub")
    assert main(["store", "info"]) == 0
    info = capsys.readouterr().out
    assert f"Store: {store} (4 cached responses, 2 runs)" in info
    assert f"why this store: set by store = in {root / 'workbench.toml'}" in info


def test_with_no_project_marker_a_yaml_uses_its_own_folder(
    tmp_path: Path, capsys: Capture, fake: FakeProvider
) -> None:
    root = tmp_path / "loose"
    path = project(root, marker="none")
    if find_project(path.parent).marker is not None:
        pytest.skip(f"a folder above {tmp_path} is itself a project folder")
    out = run_from(root / "other", path, capsys)
    store = path.parent / ".workbench" / "store.sqlite"
    assert out.splitlines()[0].startswith(
        f"Store: {store} (no workbench.toml, .git or .workbench in "
    )
    assert out.splitlines()[0].endswith("or above it, so that folder's own)")
    run_from(root, path, capsys)
    assert fake.calls.total() == CELLS
    assert stores(root) == [Path("experiments/.workbench/store.sqlite")]


def test_python_experiments_use_the_project_of_the_working_folder(
    tmp_path: Path, fake: FakeProvider
) -> None:
    root = tmp_path / "proj"
    project(root)
    ds = wb.Dataset(pd.DataFrame({"q": ["a", "b"]}))
    exp = wb.Experiment("py", ds, [wb.Variant("v", model="fake/echo", user="{{ q }}")])
    os.chdir(root / "experiments" / "sub")
    res = exp.run(progress=NullProgress())
    assert res.record.store == str(root / ".workbench" / "store.sqlite")
    assert res.record.store_origin == f"project folder {root} holds .git"
    os.chdir(root / "other")
    assert exp.run(progress=NullProgress()).df["cached"].all()
    assert fake.calls.total() == 2


def test_a_nearer_workbench_folder_is_the_project(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    project(root)
    (root / "experiments" / ".workbench").mkdir()  # made by an older version run from there
    os.chdir(root / "experiments" / "sub")
    assert get_settings().store == root / "experiments" / ".workbench"
    os.chdir(root / "other")
    assert get_settings().store == root / ".workbench"


def test_explicit_stores_still_win_over_the_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    root = tmp_path / "proj"
    path = project(root, marker="workbench.toml")
    (root / "workbench.toml").write_text('store = "from-toml"\n')
    os.chdir(root / "other")
    assert get_settings().store == root / "from-toml"
    monkeypatch.setenv("WORKBENCH_STORE", str(tmp_path / "env"))
    assert get_settings().store == tmp_path / "env"
    out = run_from(root / "other", path, capsys)
    assert (
        out.splitlines()[0]
        == f"Store: {tmp_path / 'env' / 'store.sqlite'} (set by WORKBENCH_STORE)"
    )
    wb.configure(store=tmp_path / "session")
    assert get_settings().store_origin == "set by wb.configure(store=...)"
    exp = wb.Experiment(
        "x",
        wb.Dataset(pd.DataFrame({"q": ["a"]})),
        [wb.Variant("v", model="fake/echo", user="{{ q }}")],
        store=tmp_path / "arg",
    )
    assert exp.settings().store == tmp_path / "arg"
    assert exp.settings().store_origin == "set by the experiment's store="
    # A YAML's own store: key is relative to the YAML file.
    path.write_text(YAML + "store: cache\n", encoding="utf-8")
    out = run_from(root / "other", path, capsys)
    assert out.splitlines()[0].startswith(f"Store: {path.parent / 'cache' / 'store.sqlite'} ")


def test_workbench_config_names_a_toml_whose_store_is_relative_to_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "conf"
    elsewhere.mkdir()
    (elsewhere / "wb.toml").write_text('store = "shared"\ntimeout = 9\n')
    monkeypatch.setenv("WORKBENCH_CONFIG", str(elsewhere / "wb.toml"))
    settings = get_settings()
    assert settings.store == elsewhere / "shared"
    assert settings.timeout == 9.0
