"""``workbench run --batch [--no-wait]`` and ``workbench batches [--attach ID] [--cancel ID]``,
against the mock server's batch APIs through the real SDKs; and ``wb.batches()``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from batch_cases import batch_server, chat_calls, created, stored_batches

import workbench as wb
from workbench.cli import main
from workbench.testing.mockserver import MockServer

Capture = pytest.CaptureFixture[str]

YAML = """\
name: nightly
dataset: questions.csv
defaults: {model: openai/gpt-6.2-sol, params: {max_tokens: 16}}
variants:
  - {name: openai, system: Be brief., user: "{{ q }}"}
  - {name: claude, extends: openai, model: anthropic/claude-haiku-4-5}
  - {name: echo, extends: openai, model: fake/echo}
"""


@pytest.fixture
def srv(monkeypatch: pytest.MonkeyPatch) -> Iterator[MockServer]:
    with batch_server(monkeypatch) as server:
        yield server


def experiment(tmp_path: Path) -> Path:
    (tmp_path / "questions.csv").write_text("q\nq0\nq1\nq2\n", encoding="utf-8")
    path = tmp_path / "nightly.yaml"
    path.write_text(YAML, encoding="utf-8")
    return path


def test_run_batch_waits_and_writes_results(
    srv: MockServer, tmp_path: Path, capsys: Capture
) -> None:
    path = experiment(tmp_path)
    assert main(["run", str(path), "--batch", "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert 'as a batch run (mode="batch") at most $' in out
    assert "fake/echo: no batch API, run in real time" in out
    (results,) = (tmp_path / "out").glob("nightly-*.csv")
    df = pd.read_csv(results)
    assert len(df) == 9 and df["error"].isna().all()
    assert df[df["variant"] == "echo"]["batch_id"].isna().all()
    assert df[df["variant"] != "echo"]["batch_id"].notna().all()
    assert created(srv) == {"openai": 1, "anthropic": 1} and chat_calls(srv) == 0


def test_run_batch_no_wait_then_batches_lists_attaches_and_cancels(
    srv: MockServer, tmp_path: Path, capsys: Capture
) -> None:
    srv.set_batch(delay=0.05, stall_after=1)  # one request of each batch finishes, then it waits
    path = experiment(tmp_path)
    assert main(["run", str(path), "--batch", "--no-wait"]) == 0
    out = capsys.readouterr().out
    assert "<BatchRun 'nightly'" in out and "2 batch(es)" in out
    assert "`workbench batches --attach ID`" in out
    assert not (tmp_path / "workbench-results").exists()  # nothing to write yet

    time.sleep(0.1)
    assert main(["batches"]) == 0
    lines = sorted(capsys.readouterr().out.splitlines(), key=lambda line: "openai" in line)
    assert len(lines) == 2
    assert all("in_progress" in line and "nightly" in line for line in lines)
    assert "0/3 answered" in lines[0]  # Anthropic counts a batch's requests once it has ended
    assert "1/3 answered" in lines[1]  # OpenAI as they finish

    anthropic, openai = sorted(stored_batches(), key=lambda b: b.provider)
    assert main(["batches", "--cancel", str(openai.provider_batch)]) == 0
    assert "Cancelling:" in capsys.readouterr().out
    assert srv.stats()["batches"]["cancelled"] == {"openai": 1}

    assert main(["batches", "--attach", str(openai.provider_batch)]) == 0
    out = capsys.readouterr().out
    assert "Collected into the cache:" in out and "cancelled (collected)" in out

    srv.set_batch(stall_after=None, delay=0)
    assert main(["batches", "--attach", anthropic.id]) == 0
    out = capsys.readouterr().out
    assert "completed (collected)" in out and "3/3 answered, 0 failed" in out

    table = wb.batches()
    assert list(table["collected"]) == [True, True]
    assert set(table["outcome"]) == {"cancelled", "completed"}

    # The experiment again: the collected answers come from the cache, the cancelled rest is
    # sent in a new batch, nothing is submitted twice.
    srv.set_batch(delay=0)
    assert main(["run", str(path), "--batch", "--out", str(tmp_path / "out")]) == 0
    (results,) = (tmp_path / "out").glob("nightly-*.csv")
    df = pd.read_csv(results)
    assert df["error"].isna().all()
    assert int(df["cached"].sum()) == 3 + 3 + 1  # echo's, anthropic's, openai's finished one
    assert created(srv) == {"openai": 2, "anthropic": 1}


def test_batches_without_a_store_and_unknown_ids(tmp_path: Path, capsys: Capture) -> None:
    assert main(["batches"]) == 0
    assert "No provider batches in the store yet" in capsys.readouterr().out
    assert not (tmp_path / ".wb-store").exists()  # listing creates no store
    assert main(["batches", "--attach", "batch_nope"]) == 1
    err = capsys.readouterr().err
    assert "No batch 'batch_nope' in the store" in err and "`workbench batches` lists" in err


def test_no_wait_goes_with_batch(tmp_path: Path, capsys: Capture) -> None:
    assert main(["run", str(experiment(tmp_path)), "--no-wait"]) == 2
    assert "--no-wait goes with --batch" in capsys.readouterr().err
