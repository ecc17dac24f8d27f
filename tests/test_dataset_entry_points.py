"""Separators and encodings from every front door (Python, YAML, the CLI), the dataset line the
CLI prints, and output formats whose package is missing refused before any call."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from workbench.cli import main
from workbench.data.formats import require_format
from workbench.errors import ConfigError, DatasetError
from workbench.experiment_file import load_experiment
from workbench.providers.fake import FakeProvider

Capture = pytest.CaptureFixture[str]

YAML = """\
name: capitals
dataset: {dataset}
defaults: {{model: fake/echo}}
variants:
  - {{name: plain, user: "{{{{ question }}}}"}}
scorers:
  - contains: "{{{{ expected }}}}"
"""

FILES = {
    "semicolon": ("q.csv", "id;question;expected\nfr;Paris, France?;Paris\nit;Rome?;Rome\n"),
    "pipe": ("q.csv", "id|question|expected\nfr|Paris, France?|Paris\nit|Rome?|Rome\n"),
    "tab": ("q.tsv", "id\tquestion\texpected\nfr\tParis, France?\tParis\nit\tRome?\tRome\n"),
}


def experiment(tmp_path: Path, dataset: str, data: str, name: str = "q.csv") -> Path:
    (tmp_path / name).write_bytes(data.encode("latin-1"))
    path = tmp_path / "exp.yaml"
    path.write_text(YAML.format(dataset=dataset), encoding="utf-8")
    return path


def error_line(capsys: Capture) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("workbench: error: ") and "\n" not in err, err
    return err


# -- YAML: a file name or a mapping ----------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(FILES))
def test_yaml_sniffs_the_separator(tmp_path: Path, kind: str) -> None:
    name, data = FILES[kind]
    exp = load_experiment(experiment(tmp_path, name, data, name))
    assert exp.dataset.rows[0] == {"id": "fr", "question": "Paris, France?", "expected": "Paris"}
    assert exp.dataset.row_ids == ["fr", "it"]


@pytest.mark.parametrize(
    ("sep", "data"), [('";"', FILES["semicolon"][1]), ("tab", FILES["tab"][1])]
)
def test_yaml_mapping_with_separator(tmp_path: Path, sep: str, data: str) -> None:
    exp = load_experiment(experiment(tmp_path, f"{{path: q.csv, sep: {sep}}}", data))
    assert exp.dataset.columns == ["id", "question", "expected"]
    assert len(exp.dataset) == 2


def test_yaml_latin1_file_names_the_yaml_option(tmp_path: Path) -> None:
    data = "id,question,expected\nfr,Où est Paris?,Paris\n"
    path = experiment(tmp_path, "q.csv", data)
    with pytest.raises(DatasetError) as info:
        load_experiment(path)
    assert str(info.value) == (
        f"{path}: {tmp_path / 'q.csv'}: not valid utf-8 text (byte 0xf9 on line 2). Re-save the "
        f"file as UTF-8, or set dataset: {{path: q.csv, encoding: latin-1}} in exp.yaml."
    )
    path.write_text(YAML.format(dataset="{path: q.csv, encoding: latin-1}"), encoding="utf-8")
    assert load_experiment(path).dataset.rows[0]["question"] == "Où est Paris?"


def test_yaml_latin1_message_keeps_the_other_keys(tmp_path: Path) -> None:
    path = experiment(tmp_path, '{path: q.csv, sep: ";"}', "question;expected\nOù?;Paris\n")
    with pytest.raises(
        DatasetError, match=r'set dataset: \{path: q\.csv, sep: ";", encoding: latin-1\}'
    ):
        load_experiment(path)


def test_yaml_mapping_id_column_and_top_level_id_column(tmp_path: Path) -> None:
    data = "key,question,expected\nfr,Paris?,Paris\n"
    mapping = experiment(tmp_path, "{path: q.csv, id_column: key}", data)
    assert load_experiment(mapping).dataset.row_ids == ["fr"]
    top = tmp_path / "top.yaml"
    top.write_text(YAML.format(dataset="q.csv") + "id_column: key\n", encoding="utf-8")
    assert load_experiment(top).dataset.row_ids == ["fr"]


@pytest.mark.parametrize(
    ("dataset", "message"),
    [
        ("{path: q.csv, delimiter: ';'}", r"dataset: unknown key\(s\) \['delimiter'\]; allowed: "),
        ("{sep: ';'}", r"dataset: missing 'path'"),
        ("{path: q.csv, sep: 1}", r"dataset: 'sep' must be text"),
        ("{path: q.csv, sep: ';;'}", r"sep must be one character"),
        ("{path: q.csv, encoding: klingon}", r"unknown encoding 'klingon'"),
    ],
)
def test_yaml_dataset_mapping_errors(tmp_path: Path, dataset: str, message: str) -> None:
    path = experiment(tmp_path, dataset, "question,expected\nx,y\n")
    with pytest.raises((ConfigError, DatasetError), match=rf"^{path}: .*{message}"):
        load_experiment(path)


def test_yaml_id_column_given_twice_differently(tmp_path: Path) -> None:
    path = experiment(tmp_path, "{path: q.csv, id_column: key}", "key,k2,question\na,b,c\n")
    path.write_text(path.read_text("utf-8") + "id_column: k2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="id_column is given twice"):
        load_experiment(path)


# -- the CLI: the dataset line before the estimate -------------------------------------------


@pytest.mark.parametrize("kind", sorted(FILES))
def test_cli_estimate_reads_every_separator(tmp_path: Path, capsys: Capture, kind: str) -> None:
    name, data = FILES[kind]
    path = experiment(tmp_path, name, data, name)
    assert main(["run", str(path), "--estimate"]) == 0
    first, second = capsys.readouterr().out.splitlines()[1:3]  # after the store line
    shown = {"semicolon": "';'", "pipe": "'|'", "tab": "tab"}[kind]
    assert first == (
        f"Dataset {tmp_path / name}: 2 rows, columns ['id', 'question', 'expected'], "
        f"read as CSV {shown} utf-8"
    )
    assert second.startswith("capitals: 2 cells")


def test_cli_shows_multi_line_values_before_the_estimate(tmp_path: Path, capsys: Capture) -> None:
    data = 'question,expected\n"Capital of\nFrance?",Paris\nRome?,Rome\n'
    assert main(["run", str(experiment(tmp_path, "q.csv", data)), "--estimate"]) == 0
    assert "2 rows (1 multi-line value)" in capsys.readouterr().out.splitlines()[1]


def test_cli_latin1_message_and_mapping(tmp_path: Path, capsys: Capture) -> None:
    path = experiment(tmp_path, "q.csv", "question,expected\nOù?,Paris\n")
    assert main(["run", str(path), "--estimate"]) == 1
    assert "set dataset: {path: q.csv, encoding: latin-1} in exp.yaml" in error_line(capsys)
    path.write_text(YAML.format(dataset="{path: q.csv, encoding: latin-1}"), encoding="utf-8")
    assert main(["run", str(path), "--estimate"]) == 0
    assert "read as CSV ',' latin-1" in capsys.readouterr().out


def test_cli_refuses_swallowed_rows_before_any_call(
    tmp_path: Path, capsys: Capture, fake: FakeProvider
) -> None:
    data = 'question,expected\n"Capital of France?,Paris\nCapital of Italy?",Rome\nx,y\n'
    assert main(["run", str(experiment(tmp_path, "q.csv", data))]) == 1
    assert "q.csv, line 2: the quoted value that starts here runs to line 3" in error_line(capsys)
    assert fake.calls.total() == 0


# -- output formats are checked before the run -----------------------------------------------


@pytest.fixture
def no_pyarrow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # `import pyarrow` now raises ImportError


@pytest.mark.usefixtures("no_pyarrow")
def test_run_parquet_without_pyarrow_fails_before_any_call(
    tmp_path: Path, capsys: Capture, fake: FakeProvider
) -> None:
    path = experiment(tmp_path, "q.csv", "question,expected\nParis?,Paris\n")
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--format", "parquet"]) == 1
    assert error_line(capsys) == (
        "workbench: error: Writing Parquet needs pyarrow: pip install 'prompt-workbench[parquet]'."
    )
    assert fake.calls.total() == 0
    assert not out.exists()


@pytest.mark.usefixtures("no_pyarrow")
def test_demo_parquet_without_pyarrow_fails_before_any_call(
    tmp_path: Path,
    capsys: Capture,
    fake: FakeProvider,
) -> None:
    argv = ["demo", "--model", "fake/echo", "--out", str(tmp_path / "o"), "--format", "parquet"]
    assert main(argv) == 1
    assert "pip install 'prompt-workbench[parquet]'" in error_line(capsys)
    assert fake.calls.total() == 0


@pytest.mark.usefixtures("no_pyarrow")
def test_csv_and_jsonl_need_nothing() -> None:
    for fmt in ("csv", "jsonl", ".ndjson"):
        require_format(fmt)
    with pytest.raises(ConfigError, match="needs pyarrow"):
        require_format(".pq")


@pytest.mark.usefixtures("no_pyarrow")
def test_reading_parquet_without_pyarrow(tmp_path: Path) -> None:
    from workbench.data import Dataset

    (tmp_path / "q.parquet").write_bytes(b"PAR1")
    with pytest.raises(ConfigError, match=r"Reading Parquet needs pyarrow: pip install"):
        Dataset.from_file(tmp_path / "q.parquet")


def test_demo_prints_its_dataset_line(tmp_path: Path, capsys: Capture) -> None:
    assert main(["demo", "--model", "fake/echo", "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    dataset = next(line for line in out.splitlines() if line.startswith("Dataset "))
    assert dataset.endswith(
        "questions.csv: 10 rows, columns ['id', 'question', 'expected'], read as CSV ',' utf-8"
    )
    assert out.index("Dataset ") < out.index("Estimate: ")
