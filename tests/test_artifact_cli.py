"""``workbench export | list | diff | label | check``: output and exit codes."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes import current_fake

from workbench.artifact import load_prompt
from workbench.cli import EXIT_ERROR, EXIT_INCONCLUSIVE, main
from workbench.providers.fake import FakeProvider, last_user_text

Capture = pytest.CaptureFixture[str]

DATA = (
    "id,question,expected\n"
    "fr,Capital of France?,Paris\n"
    "es,Capital of Spain?,Madrid\n"
    "it,Capital of Italy?,Rome\n"
)
ANSWERS = {"France": "Paris", "Spain": "Madrid", "Italy": "Rome"}

YAML = """\
name: capitals
dataset: questions.csv
repeats: 2
defaults:
  model: fake/echo
  params: {temperature: 0, max_tokens: 16}
variants:
  - name: terse
    system: Answer in one word.
    user: "{{ question }}"
  - name: friendly
    extends: terse
    model: fake/good
    system: Answer briefly and kindly.
scorers:
  - contains: "{{ expected }}"
"""


def script(name: str, wrong: frozenset[str] = frozenset()) -> None:
    """``fake/<name>`` answers every capital, except for the countries in ``wrong``."""

    def reply(req: object) -> str:
        text = last_user_text(req)  # type: ignore[arg-type]
        for country, city in ANSWERS.items():
            if country in text:
                return "Lisbon" if country in wrong else city
        return "?"

    current_fake().script(name, reply)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    script("good")
    (tmp_path / "questions.csv").write_text(DATA, encoding="utf-8")
    (tmp_path / "exp.yaml").write_text(YAML, encoding="utf-8")
    return tmp_path


def error_line(capsys: Capture) -> str:
    """The one error line (progress lines of a run may come before it on stderr)."""
    lines = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in lines if line.startswith("workbench: error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], lines
    return errors[0]


def export(capsys: Capture, *extra: str) -> str:
    args = ["export", "exp.yaml", "--name", "capital-answerer", "--to", "prompts", *extra]
    assert main(args) == 0
    return capsys.readouterr().out


# -- export ----------------------------------------------------------------------------------


def test_export_writes_a_new_version_each_time(project: Path, capsys: Capture) -> None:
    out = export(capsys, "--variant", "friendly", "--label", "production")
    assert "Exported friendly as capital-answerer v1: prompts/capital-answerer/v1" in out
    out = export(capsys)  # default: the leader, from the cache
    assert "capital-answerer v2" in out and "12 from the cache" in out
    assert load_prompt("prompts/capital-answerer@production").version == 1
    assert load_prompt("prompts/capital-answerer").eval["variant"] == "friendly"


def test_export_errors_are_one_line(project: Path, capsys: Capture) -> None:
    assert main(["export", "exp.yaml", "--variant", "nope", "--name", "x"]) == EXIT_ERROR
    assert "No variant 'nope'" in error_line(capsys)
    assert main(["export", "missing.yaml", "--name", "x"]) == EXIT_ERROR
    assert "not found" in error_line(capsys)


# -- list, label, diff -----------------------------------------------------------------------


def test_list_shows_versions_labels_and_headline(project: Path, capsys: Capture) -> None:
    export(capsys, "--variant", "friendly", "--label", "production")
    export(capsys, "--variant", "terse")
    assert main(["list", "prompts"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "prompts/capital-answerer"
    assert lines[1].startswith("  v1") and "fake/good" in lines[1]
    assert "contains 100% (" in lines[1] and "[production]" in lines[1]
    assert lines[2].startswith("  v2") and "contains 0% (" in lines[2] and "[latest]" in lines[2]
    assert main(["list", "nowhere"]) == EXIT_ERROR
    error_line(capsys)


def test_label_moves_a_label(project: Path, capsys: Capture) -> None:
    export(capsys, "--variant", "friendly")
    export(capsys, "--variant", "terse")
    assert main(["label", "prompts/capital-answerer@2", "production"]) == 0
    assert "production -> v2" in capsys.readouterr().out
    assert load_prompt("prompts/capital-answerer@production").version == 2
    assert main(["label", "prompts/capital-answerer@2", "latest"]) == EXIT_ERROR
    assert "cannot be set" in error_line(capsys)
    assert main(["label", "prompts/capital-answerer@5", "staging"]) == EXIT_ERROR
    assert "No version 5" in error_line(capsys)


def test_diff_shows_text_params_and_metrics(project: Path, capsys: Capture) -> None:
    export(capsys, "--variant", "terse")
    export(capsys, "--variant", "friendly")
    assert main(["diff", "prompts/capital-answerer@1", "prompts/capital-answerer@2"]) == 0
    out = capsys.readouterr().out
    assert "-Answer in one word." in out
    assert "+Answer briefly and kindly." in out
    assert "model: 'fake/echo' -> 'fake/good'" in out
    assert "contains: 0% (" in out and "-> 100% (" in out and "(+100 points)" in out
    assert main(["diff", "prompts/capital-answerer@1", "prompts/capital-answerer@1"]) == 0
    out = capsys.readouterr().out
    assert "(same text)" in out and "(same)" in out


# -- check -----------------------------------------------------------------------------------


def test_check_passes_on_the_same_model_from_the_cache(
    project: Path, capsys: Capture, fake: FakeProvider
) -> None:
    export(capsys, "--variant", "friendly")
    calls = fake.calls["good"]
    assert main(["check", "prompts/capital-answerer"]) == 0
    out = capsys.readouterr().out
    assert fake.calls["good"] == calls  # every call came from the cache
    assert "6 of 6 calls from the cache" in out
    assert "OK: every scorer reproduced its record (same outputs, same scores)" in out


def test_check_fails_when_the_model_got_worse(
    project: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    export(capsys, "--variant", "friendly")
    # A scheduled run with no cache, and the model has changed behind the same id.
    monkeypatch.setenv("WORKBENCH_STORE", str(project / "fresh-store"))
    script("good", wrong=frozenset({"Spain", "Italy"}))
    assert main(["check", "prompts/capital-answerer", "--no-regression"]) == EXIT_INCONCLUSIVE
    out = capsys.readouterr().out
    assert "contains: inconclusive at n=3: pass rate 100% -> 33%" in out  # 3 rows tell little
    assert "rows now failing: es, it" in out
    # An absolute floor is a test too: 1 of 3 rows is not significantly below 30% or 90%.
    assert main(["check", "prompts/capital-answerer", "--min-pass-rate", "0.3"]) == (
        EXIT_INCONCLUSIVE
    )
    assert "cannot be told above or below 30% yet" in capsys.readouterr().out
    assert main(["check", "prompts/capital-answerer", "--margin", "0.7"]) == EXIT_INCONCLUSIVE


def test_check_a_model_migration(project: Path, capsys: Capture) -> None:
    export(capsys, "--variant", "friendly")
    script("candidate")
    assert main(["check", "prompts/capital-answerer", "--model", "fake/candidate"]) == 0
    out = capsys.readouterr().out
    assert "model fake/good -> fake/candidate" in out and "reproduced" in out
    # Every row fails on the other model, but 3 rows cannot show it beyond chance.
    code = main(["check", "prompts/capital-answerer", "--model", "fake/echo"])
    assert code == EXIT_INCONCLUSIVE
    out = capsys.readouterr().out
    assert "contains: inconclusive at n=3: pass rate 100% -> 0%" in out
    assert "rows now failing: fr, es, it" in out


def test_check_with_another_dataset(project: Path, capsys: Capture) -> None:
    export(capsys, "--variant", "friendly")
    (project / "more.csv").write_text(DATA + "pt,Capital of Portugal?,Lisbon\n", encoding="utf-8")
    assert main(["check", "prompts/capital-answerer", "--dataset", "more.csv"]) == 0
    out = capsys.readouterr().out
    assert "dataset more.csv differs from the one evaluated (4 rows now, 3 then" in out
    assert "reproduced" in out  # on the 3 rows the record has; pt is not compared


def test_check_errors(project: Path, capsys: Capture) -> None:
    export(capsys, "--variant", "friendly")
    prompt = project / "prompts/capital-answerer/v1/prompt.prompty"
    prompt.write_text(prompt.read_text().replace("kindly", "rudely"))
    assert main(["check", "prompts/capital-answerer"]) == EXIT_ERROR
    assert "prompt.prompty does not match its sha256" in error_line(capsys)
    assert main(["check", "prompts/nothing"]) == EXIT_ERROR
    error_line(capsys)
    export(capsys, "--variant", "friendly")
    (project / "questions.csv").unlink()
    assert main(["check", "prompts/capital-answerer"]) == EXIT_ERROR
    assert "--dataset FILE" in error_line(capsys)
    with pytest.raises(SystemExit) as exc:
        main(["check", "prompts/x", "--no-regression", "--min-pass-rate", "0.5"])
    assert exc.value.code == 2


# -- custom scorers in YAML, export and check (--import) -------------------------------------

CHECKS = """\
def ends_with_city(output, row):
    return output.strip().endswith(row["expected"])
"""
STRICT = """\
def ends_with_city(output, row):
    return output.strip() == row["expected"] + "!"
"""


@pytest.fixture
def user_module(project: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A user's scorer module, capital_checks.py, beside the experiment; forgotten afterwards."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    monkeypatch.delitem(sys.modules, "capital_checks", raising=False)
    path = project / "capital_checks.py"
    path.write_text(CHECKS, encoding="utf-8")
    yaml = YAML + "  - custom: {function: capital_checks.ends_with_city, name: ends_right}\n"
    (project / "exp.yaml").write_text(yaml, encoding="utf-8")
    yield path
    sys.modules.pop("capital_checks", None)


def test_custom_scorer_is_exported_and_checked_with_import(
    user_module: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["run", "exp.yaml", "--import", "capital_checks", "--out", "o"]) == 0
    assert "ends_right" in capsys.readouterr().out
    export(capsys, "--variant", "friendly", "--import", "capital_checks")
    spec = load_prompt("prompts/capital-answerer").eval["scorers"][1]
    assert spec == {
        "name": "custom",
        "args": {"function": "capital_checks.ends_with_city", "name": "ends_right"},
    }
    assert main(["check", "prompts/capital-answerer", "--import", "capital_checks"]) == 0
    out = capsys.readouterr().out
    assert "[pass] ends_right: reproduced" in out and "skipped" not in out

    # Without the module the scorer is skipped, and the report says how to include it.
    monkeypatch.delitem(sys.modules, "capital_checks")
    assert main(["check", "prompts/capital-answerer"]) == 0
    out = capsys.readouterr().out
    assert "scorer 'custom' skipped" in out and "--import capital_checks" in out

    # A stricter scorer (the team changed its definition of right) stops the gate passing; on
    # 3 rows it cannot tell a regression from chance.
    user_module.write_text(STRICT, encoding="utf-8")
    assert main(["check", "prompts/capital-answerer", "--import", "capital_checks"]) == (
        EXIT_INCONCLUSIVE
    )
    out = capsys.readouterr().out
    assert "ends_right: inconclusive at n=3: pass rate 100% -> 0%" in out
    assert "rows now failing: fr, es, it" in out


def test_import_of_a_missing_module_is_one_clear_error(project: Path, capsys: Capture) -> None:
    assert main(["run", "exp.yaml", "--import", "no_such_scorers"]) == EXIT_ERROR
    assert "--import no_such_scorers: No module named 'no_such_scorers'" in error_line(capsys)
