"""The ``workbench`` command: exit codes, output, experiment YAML files, the store commands."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from workbench.cli import main
from workbench.engine.store import Store
from workbench.errors import StoreError, WorkbenchError
from workbench.experiment_file import load_experiment
from workbench.providers.fake import FakeProvider

Capture = pytest.CaptureFixture[str]

DATA = "id,question,expected\nfr,paris,Paris\njp,tokyo,Tokyo\nit,rome,Milan\n"

YAML = """\
name: capitals
dataset: questions.csv
repeats: 2
defaults:
  model: fake/echo
  params: {temperature: 0, max_tokens: 16}
variants:
  - name: plain
    user: "{{ question }}"
  - name: shouty
    extends: plain
    model: fake/upper
    params: {max_tokens: 8}
scorers:
  - contains: "{{ expected }}"
  - regex: {pattern: "^[A-Z]", name: capitalised}
"""


def write(tmp_path: Path, yaml_text: str = YAML, name: str = "exp.yaml") -> Path:
    (tmp_path / "questions.csv").write_text(DATA, encoding="utf-8")
    path = tmp_path / name
    path.write_text(yaml_text, encoding="utf-8")
    return path


def error_line(capsys: Capture) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("workbench: error: ")
    assert "\n" not in err, err
    return err


# -- models ---------------------------------------------------------------------------------


def test_models_lists_every_provider(capsys: Capture) -> None:
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == [
        "model",
        "context",
        "max",
        "out",
        "$/1M",
        "in",
        "cached",
        "write",
        "out",
        "batch",
        "in/out",
        "retires",
        "as",
        "of",
    ]
    sol = next(line for line in lines if line.startswith("openai/gpt-6.2-sol "))
    assert sol.split() == [
        "openai/gpt-6.2-sol",
        "1,050,000",
        "128,000",
        "2",
        "0.1",
        "2.5",
        "10",
        "1/5",
        "–",
        "2026-11-30",
    ]
    mini = next(line for line in lines if line.startswith("openai/gpt-4o-mini "))
    assert mini.split()[-2:] == ["2027-01-14", "2026-11-30"]  # retirement date, as of
    assert any(line.startswith("anthropic/claude-haiku-4-5 ") for line in lines)
    assert any(line.startswith("local/smollm2 ") for line in lines)
    assert "Prices checked 2026-11-30" in out
    assert "wb.models.register" in out


def test_models_filtered_by_provider(capsys: Capture) -> None:
    assert main(["models", "--provider", "anthropic"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if "/" in line.split(" ")[0]]
    assert rows
    assert all(row.startswith("anthropic/") for row in rows)


def test_models_shows_registered_from_toml(tmp_path: Path, capsys: Capture) -> None:
    (tmp_path / "workbench.toml").write_text(
        '[models."openai/house"]\ninput_per_1m = 0.5\noutput_per_1m = 1.5\n', encoding="utf-8"
    )
    assert main(["models", "--provider", "openai"]) == 0
    house = next(
        line for line in capsys.readouterr().out.splitlines() if line.startswith("openai/house")
    )
    assert house.split() == ["openai/house", "–", "–", "0.5", "–", "–", "1.5", "–", "–", "–"]


# -- run ------------------------------------------------------------------------------------


def test_run_writes_csv_and_prints_leaderboard(
    tmp_path: Path, capsys: Capture, fake: FakeProvider
) -> None:
    path = write(tmp_path)
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    store = tmp_path / ".wb-store" / "store.sqlite"
    store_line, dataset_line, estimate_line = out.splitlines()[:3]
    assert store_line == f"Store: {store} (set by WORKBENCH_STORE)"
    assert dataset_line == (
        f"Dataset {tmp_path / 'questions.csv'}: 3 rows, columns ['id', 'question', 'expected'], "
        "read as CSV ',' utf-8"
    )
    assert estimate_line.startswith("capitals: 12 cells: 0 cached, 12 calls to make")
    assert "Leaderboard (repeats of a row reduced by majority):" in out
    board = out.split("reduced by majority):")[1].split("Verdict:")[0]
    lines = [line.split() for line in board.strip().splitlines()]
    assert lines[0][:6] == ["rank", "variant", "model", "calls", "errors", "cached"]
    assert "contains" in lines[0] and "capitalised" in lines[0]
    assert lines[1][:3] == ["1", "plain", "fake/echo"]
    assert lines[2][:3] == ["2", "shouty", "fake/upper"]
    assert "67%" in lines[1]  # rome's expected value is Milan
    assert "Verdict: Overall (rests on contains, the first of 2 scorers): " in out
    assert "are tied on contains" in out
    files = list((tmp_path / "out").glob("capitals-*.csv"))
    assert len(files) == 1
    assert f"Results (12 rows, one per row × variant × repeat): {files[0]}" in out
    df = pd.read_csv(files[0])
    assert len(df) == 12
    assert list(df["row_id"][:4]) == ["fr", "fr", "fr", "fr"]
    assert list(df["variant"][:4]) == ["plain", "plain", "shouty", "shouty"]
    assert list(df["output"][:4]) == ["paris", "paris", "PARIS", "PARIS"]
    assert {"contains_pass", "capitalised_pass"} <= set(df.columns)
    assert fake.calls["echo"] == 6
    assert fake.calls["upper"] == 6


def test_run_writes_jsonl_and_second_run_is_cached(
    tmp_path: Path, capsys: Capture, fake: FakeProvider
) -> None:
    path = write(tmp_path)
    out_dir = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out_dir), "--format", "jsonl"]) == 0
    capsys.readouterr()
    files = list(out_dir.glob("capitals-*.jsonl"))
    assert len(files) == 1
    records = [json.loads(line) for line in files[0].read_text("utf-8").splitlines()]
    assert len(records) == 12
    assert records[0]["output"] == "paris"
    assert records[0]["contains_pass"] is True
    assert records[0]["error"] is None

    assert main(["run", str(path), "--out", str(out_dir), "--format", "jsonl"]) == 0
    assert "12 cached, 0 calls to make" in capsys.readouterr().out
    assert fake.calls.total() == 12
    assert len(list(out_dir.glob("capitals-*.jsonl"))) == 2


def test_run_parquet(tmp_path: Path, capsys: Capture) -> None:
    path = write(tmp_path)
    assert main(["run", str(path), "--out", str(tmp_path / "o"), "--format", "parquet"]) == 0
    (file,) = (tmp_path / "o").glob("*.parquet")
    assert len(pd.read_parquet(file)) == 12


def test_run_default_out_folder_is_in_cwd(tmp_path: Path, capsys: Capture) -> None:
    path = write(tmp_path)
    assert main(["run", str(path)]) == 0
    assert len(list((tmp_path / "workbench-results").glob("capitals-*.csv"))) == 1


def test_estimate_makes_no_calls(tmp_path: Path, capsys: Capture, fake: FakeProvider) -> None:
    path = write(tmp_path)
    assert main(["run", str(path), "--estimate", "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "12 cells: 0 cached, 12 calls to make" in out
    assert "plain" in out
    assert "shouty" in out
    assert fake.calls.total() == 0
    assert not (tmp_path / "out").exists()


def test_budget_exit_code(tmp_path: Path, capsys: Capture) -> None:
    (tmp_path / "workbench.toml").write_text(
        '[models."fake/echo"]\ninput_per_1m = 1000.0\noutput_per_1m = 1000.0\n', encoding="utf-8"
    )
    path = write(tmp_path, YAML.replace("    model: fake/upper\n", ""))
    assert main(["run", str(path), "--budget", "0.02", "--out", str(tmp_path / "o")]) == 3
    captured = capsys.readouterr()
    assert "Stopped scheduling at the budget of $0.0200" in captured.err
    assert len(list((tmp_path / "o").glob("*.csv"))) == 1  # what finished is still written
    assert main(["runs"]) == 0  # the history shows the stopped run, with nothing scored
    out = capsys.readouterr().out
    assert "  budget  (12 cells, 0 cached, $0.0000)" in out and out.count("no score") == 2


# -- YAML files -----------------------------------------------------------------------------


def test_yaml_defaults_and_extends(tmp_path: Path) -> None:
    exp = load_experiment(write(tmp_path))
    assert exp.name == "capitals"
    assert exp.repeats == 2
    plain, shouty = exp.variants
    assert plain.model == "fake/echo"
    assert plain.params == {"temperature": 0, "max_tokens": 16}
    assert shouty.model == "fake/upper"
    assert shouty.user == "{{ question }}"
    assert shouty.params == {"temperature": 0, "max_tokens": 8}  # merged, child wins
    assert [s.name for s in exp.scorers] == ["contains", "capitalised"]
    assert exp.dataset.row_ids == ["fr", "jp", "it"]


def test_yaml_defaults_system_and_override(tmp_path: Path) -> None:
    text = """\
dataset: questions.csv
defaults: {model: fake/echo, system: Be brief.}
variants:
  - {name: a, user: "{{ question }}"}
  - {name: b, user: "{{ question }}", system: Be kind.}
  - {name: c, extends: b, params: {seed: 1}}
"""
    exp = load_experiment(write(tmp_path, text, "caps.yaml"))
    assert exp.name == "caps"  # from the file name
    assert [v.system for v in exp.variants] == ["Be brief.", "Be kind.", "Be kind."]
    assert exp.variants[2].params == {"seed": 1}
    assert exp.scorers == []


def test_yaml_dataset_relative_to_file_and_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sub = tmp_path / "project"
    sub.mkdir()
    path = write(sub, YAML + "store: .cache\n")
    monkeypatch.chdir(tmp_path)
    exp = load_experiment(path)
    assert exp.dataset.path == sub / "questions.csv"
    assert exp.store == sub / ".cache"


def test_extends_must_be_defined_above(tmp_path: Path, capsys: Capture) -> None:
    text = YAML.replace("extends: plain", "extends: later")
    assert main(["run", str(write(tmp_path, text))]) == 1
    err = error_line(capsys)
    assert "variant 'shouty' extends 'later', which is not defined above it" in err


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("name: x\nvariants:\n  - name: a\n   user: b\n", 4),
        ("name: x\ndataset: questions.csv\nvariants: [\n  {name: a\n", 5),
        ("name: x\n\tdataset: q.csv\n", 2),
    ],
)
def test_malformed_yaml(
    tmp_path: Path, capsys: Capture, text: str, line: int, fake: FakeProvider
) -> None:
    path = write(tmp_path, text)
    assert main(["run", str(path)]) == 1
    err = error_line(capsys)
    assert str(path) in err
    assert f"line {line} " in err
    assert "invalid YAML" in err
    assert fake.calls.total() == 0


def test_unknown_scorer_is_one_line(tmp_path: Path, capsys: Capture) -> None:
    path = write(tmp_path, YAML.replace("- contains:", "- containz:"))
    assert main(["run", str(path)]) == 1
    err = error_line(capsys)
    assert "Unknown scorer 'containz'" in err
    known = err.split("Known scorers:")[1]
    assert all(name in known for name in ("contains", "exact", "regex", "judge"))
    assert str(path) in err


def test_missing_dataset_file(tmp_path: Path, capsys: Capture) -> None:
    path = write(tmp_path, YAML.replace("questions.csv", "nope.csv"))
    assert main(["run", str(path)]) == 1
    err = error_line(capsys)
    assert "Dataset file not found" in err
    assert "nope.csv" in err


def test_missing_experiment_file(tmp_path: Path, capsys: Capture) -> None:
    assert main(["run", str(tmp_path / "missing.yaml")]) == 1
    assert "Experiment file not found" in error_line(capsys)


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("- just a list\n", "expected a mapping"),
        (
            "dataset: questions.csv\nvariants: []\nvariantz: []\n",
            r"unknown key\(s\) \['variantz'\]",
        ),
        ("variants: [{name: a, user: x}]\n", "missing 'dataset'"),
        ("dataset: questions.csv\n", "missing 'variants'"),
        ("dataset: questions.csv\nvariants: []\n", "'variants' must be a non-empty list"),
        ("dataset: questions.csv\nvariants: [{user: x}]\n", r"variants\[0\] must be a mapping"),
        (
            "dataset: questions.csv\nvariants: [{name: a, user: x, temp: 1}]\n",
            r"unknown field\(s\) \['temp'\]",
        ),
        (
            "dataset: questions.csv\nvariants: [{name: a, user: x}]\nscorers: contains\n",
            "'scorers' must be a list",
        ),
        (
            "dataset: questions.csv\ndefaults: [1]\nvariants: [{name: a, user: x}]\n",
            "'defaults' must be a mapping",
        ),
    ],
)
def test_yaml_structure_errors(tmp_path: Path, text: str, pattern: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(WorkbenchError, match=pattern) as info:
        load_experiment(path)
    assert str(path) in str(info.value)


def test_yaml_template_error_is_one_line(tmp_path: Path, capsys: Capture) -> None:
    path = write(tmp_path, YAML.replace('"{{ question }}"', '"{{ answer }}"'))
    assert main(["run", str(path)]) == 1
    assert "uses {{ answer }}, which is not a column" in error_line(capsys)


def test_yaml_param_error(tmp_path: Path, capsys: Capture) -> None:
    path = write(tmp_path, YAML.replace("temperature: 0", "temperature: 9"))
    assert main(["run", str(path)]) == 1
    assert "temperature must be a number from 0.0 to 2.0" in error_line(capsys)


def test_bad_usage_exits_2(capsys: Capture) -> None:
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2


def test_version(capsys: Capture) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("workbench 0.")


# -- store ----------------------------------------------------------------------------------


def test_store_info_counts(tmp_path: Path, capsys: Capture) -> None:
    assert main(["run", str(write(tmp_path))]) == 0
    capsys.readouterr()
    assert main(["store", "info"]) == 0
    out = capsys.readouterr().out
    assert f"Store: {tmp_path / '.wb-store' / 'store.sqlite'} (12 cached responses, 1 runs)" in out
    assert "capitals" in out
    assert "complete" in out


def test_corrupted_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Capture, fake: FakeProvider
) -> None:
    monkeypatch.delenv("WORKBENCH_STORE")
    store = tmp_path / ".workbench" / "store.sqlite"
    store.parent.mkdir()
    garbage = bytes(range(256)) * 8
    store.write_bytes(garbage)

    with pytest.raises(StoreError, match="workbench store move-aside"):
        Store(store)
    assert store.read_bytes() == garbage  # nothing was changed

    assert main(["store", "info"]) == 1
    err = error_line(capsys)
    assert "is not a readable workbench store" in err
    assert "move-aside" in err

    assert main(["run", str(write(tmp_path))]) == 1
    assert "move-aside" in error_line(capsys)
    assert fake.calls.total() == 0

    assert main(["store", "move-aside"]) == 0
    out = capsys.readouterr().out
    assert not store.exists()
    (moved,) = store.parent.glob("store.sqlite.bad-*")
    assert moved.read_bytes() == garbage
    assert out.startswith("Moved ")
    assert moved.name in out

    assert main(["store", "info"]) == 0
    assert "No store yet at" in capsys.readouterr().out  # info reads only: it created none
    assert not store.exists()
    assert main(["run", str(write(tmp_path))]) == 0


def test_foreign_sqlite_file_is_refused(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE users (name TEXT)")
    db.close()
    with pytest.raises(StoreError, match="belongs to another program"):
        Store(path)


def test_move_aside_without_store(capsys: Capture) -> None:
    assert main(["store", "move-aside"]) == 0
    assert "No store at" in capsys.readouterr().out
