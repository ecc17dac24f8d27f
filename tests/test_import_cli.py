"""``workbench import promptfoo|github-models SOURCE --to experiment.yaml``: a YAML (and its rows
beside it) that loads back as the experiment the import built, the report printed; and
``save_experiment`` round trips in general."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

import workbench as wb
from workbench.cli import main
from workbench.errors import ConfigError, WorkbenchWarning
from workbench.experiment_file import load_experiment, save_experiment

Capture = pytest.CaptureFixture[str]
DATA = Path(__file__).parent / "data"


def same(a: wb.Experiment, b: wb.Experiment) -> None:
    assert a.name == b.name and a.repeats == b.repeats and a.concurrency == b.concurrency
    assert [v.spec() for v in a.variants] == [v.spec() for v in b.variants]
    assert [dict(s.spec) for s in a.scorers] == [dict(s.spec) for s in b.scorers]
    assert a.dataset.rows == b.dataset.rows and a.dataset.row_ids == b.dataset.row_ids
    assert a.endpoints == b.endpoints and a.description == b.description


def imported(kind: str, source: Path) -> wb.Experiment:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WorkbenchWarning)
        if kind == "promptfoo":
            return wb.Experiment.from_promptfoo(source)
        return wb.Experiment.from_github_models(source)


@pytest.mark.parametrize(
    ("kind", "source"),
    [
        ("promptfoo", DATA / "promptfoo/support_bot/promptfooconfig.yaml"),
        ("promptfoo", DATA / "promptfoo/trivia/promptfooconfig.yaml"),
        ("github-models", DATA / "github_models/ticket_triage.prompt.yml"),
    ],
)
def test_import_writes_a_yaml_that_loads_as_the_imported_experiment(
    kind: str, source: Path, tmp_path: Path, capsys: Capture
) -> None:
    assert main(["import", kind, str(source), "--to", "exp.yaml"]) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "exp.yaml").is_file() and (tmp_path / "exp.rows.jsonl").is_file()
    exp = imported("promptfoo" if kind == "promptfoo" else "github", source)
    assert out.startswith(f"Imported {source}: {len(exp.dataset)} rows × {len(exp.variants)}")
    assert "Wrote exp.rows.jsonl, exp.yaml" in out
    assert exp.description in out
    assert "Next: workbench run exp.yaml --estimate" in out
    same(load_experiment(tmp_path / "exp.yaml"), exp)


def test_the_report_names_what_was_left_out(capsys: Capture) -> None:
    source = DATA / "promptfoo/json_extract/promptfooconfig.yaml"
    assert main(["import", "promptfoo", str(source), "--to", "invoices.yaml"]) == 0
    captured = capsys.readouterr()
    assert "Not imported (6):" in captured.out
    assert "javascript code cannot run in workbench" in captured.out
    assert captured.err == ""  # no warning on top of the report


def test_an_imported_experiment_estimates_without_any_key(
    capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    source = DATA / "promptfoo/translate/promptfooconfig.yaml"
    assert main(["import", "promptfoo", str(source), "--to", "translate.yaml"]) == 0
    capsys.readouterr()
    assert main(["run", "translate.yaml", "--estimate"]) == 0
    out = capsys.readouterr().out
    assert "translate:" in out and "direct@haiku" in out


def test_import_refuses_to_replace_files_unless_forced(tmp_path: Path, capsys: Capture) -> None:
    source = str(DATA / "github_models/summarizer.prompt.yml")
    assert main(["import", "github-models", source, "--to", "s.yaml"]) == 0
    (tmp_path / "s.yaml").write_text("mine", encoding="utf-8")
    assert main(["import", "github-models", source, "--to", "s.yaml"]) == 1
    err = capsys.readouterr().err
    assert "s.rows.jsonl exists: choose another file, or overwrite it (--force)" in err
    assert (tmp_path / "s.yaml").read_text(encoding="utf-8") == "mine"
    assert main(["import", "github-models", source, "--to", "s.yaml", "--force"]) == 0
    assert load_experiment(tmp_path / "s.yaml").name == "text-summarizer"


def test_grader_options_are_for_promptfoo_only(capsys: Capture) -> None:
    source = str(DATA / "github_models/summarizer.prompt.yml")
    assert main(["import", "github-models", source, "--grader", "openai/gpt-4o"]) == 1
    assert "--grader and --embedder are for promptfoo configs" in capsys.readouterr().err


def test_save_experiment_names_a_dataset_read_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data/q.csv").write_text("key,q\na,one\nb,two\n", encoding="utf-8")
    exp = wb.Experiment(
        "named",
        wb.Dataset.from_file(tmp_path / "data/q.csv", id_column="key"),
        [wb.Variant("v", model="fake/echo", user="{{ q }}\nand more")],
        [wb.scorers.contains("one")],
        repeats=3,
        budget_usd=0.5,
        endpoints={"vllm": "http://localhost:8000/v1"},
        description="Two lines\nof description.",
    )
    written = save_experiment(exp, tmp_path / "exp.yaml")
    assert written == [tmp_path / "exp.yaml"]
    text = (tmp_path / "exp.yaml").read_text(encoding="utf-8")
    assert "path: data/q.csv" in text and "id_column: key" in text
    assert "user: |-\n    {{ q }}\n    and more" in text  # prompts read as written
    back = load_experiment(tmp_path / "exp.yaml")
    same(back, exp)
    assert back.budget_usd == 0.5
    with pytest.raises(ConfigError, match=r"ends in \.yaml"):
        save_experiment(exp, tmp_path / "exp.json")
