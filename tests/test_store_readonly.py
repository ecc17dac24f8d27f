"""Read-only commands never create a store: `workbench runs`, `store info`, `run --estimate`,
`models` and `exp.estimate()` read it when it exists and treat a missing one as empty."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import workbench as wb
from workbench.cli import main
from workbench.config import get_settings
from workbench.engine.progress import NullProgress
from workbench.engine.store import Store
from workbench.providers.fake import FakeProvider

Capture = pytest.CaptureFixture[str]

YAML = """\
name: capitals
dataset: questions.csv
defaults: {model: fake/echo}
variants:
  - {name: plain, user: "{{ question }}"}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder (it holds .git) with an experiment YAML, and no store yet."""
    monkeypatch.delenv("WORKBENCH_STORE")
    (tmp_path / ".git").mkdir()
    (tmp_path / "questions.csv").write_text("question\nparis\ntokyo\n", encoding="utf-8")
    (tmp_path / "capitals.yaml").write_text(YAML, encoding="utf-8")
    return tmp_path


def no_store(root: Path) -> None:
    assert not list(root.rglob(".workbench")), "a read-only command created a store"
    assert not list(root.rglob("*.sqlite*"))


def experiment() -> wb.Experiment:
    ds = wb.Dataset(pd.DataFrame({"question": ["paris", "tokyo"]}))
    return wb.Experiment(
        "capitals", ds, [wb.Variant("plain", model="fake/echo", user="{{ question }}")]
    )


def test_read_only_commands_create_no_store(
    project: Path, capsys: Capture, fake: FakeProvider
) -> None:
    assert main(["runs"]) == 0
    assert "No runs in the store yet." in capsys.readouterr().out
    assert main(["runs", "capitals"]) == 0
    assert "No runs of 'capitals' in the store yet." in capsys.readouterr().out
    assert main(["store", "info"]) == 0
    store = project / ".workbench" / "store.sqlite"
    assert capsys.readouterr().out == (
        f"No store yet at {store} (project folder {project} holds .git); "
        "the first run creates it.\n"
    )
    assert main(["run", "capitals.yaml", "--estimate"]) == 0
    assert "2 cells: 0 cached, 2 calls to make" in capsys.readouterr().out
    assert main(["models"]) == 0
    estimate = experiment().estimate()
    assert (estimate.cells, estimate.cached, estimate.calls) == (2, 0, 2)
    assert wb.runs().empty
    no_store(project)
    assert fake.calls.total() == 0


def test_read_only_commands_read_an_existing_store_without_changing_it(
    project: Path, capsys: Capture
) -> None:
    res = experiment().run(progress=NullProgress())
    path = get_settings().store_path
    with Store(path):  # closing the last connection folds the WAL in: a quiet store
        pass
    before = path.read_bytes()
    assert experiment().estimate().cached == 2
    assert list(wb.runs()["run_id"]) == [res.run_id]
    assert main(["runs"]) == 0
    assert main(["store", "info"]) == 0
    assert main(["run", "capitals.yaml", "--estimate"]) == 0
    out = capsys.readouterr().out
    assert res.run_id in out and "2 cells: 2 cached, 0 calls to make" in out
    assert path.read_bytes() == before


def test_store_info_shows_path_reason_size_responses_and_runs(
    project: Path, capsys: Capture
) -> None:
    res = experiment().run(progress=NullProgress())
    path = get_settings().store_path
    assert main(["store", "info"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"Store: {path} (2 cached responses, 1 runs)"
    assert lines[1] == f"  why this store: project folder {project} holds .git"
    size, _ = Store.disk_usage(path)
    assert size > 0
    assert lines[2].startswith("  size on disk: ") and "(file " in lines[2]
    assert f"{size / 1e3:.1f} kB" in lines[2] and "write-ahead log" in lines[2]
    assert lines[3] == f"  {res.run_id}  capitals                 complete"


def test_disk_usage_counts_the_write_ahead_log(tmp_path: Path) -> None:
    path = tmp_path / "s" / "store.sqlite"
    with Store(path) as store:
        store.put_label("e", "r", "v", 0, "up")  # a write: the WAL holds it while the store is open
        data, wal = Store.disk_usage(path)
        assert data > 0 and wal > 0
    assert Store.disk_usage(tmp_path / "missing.sqlite") == (0, 0)
