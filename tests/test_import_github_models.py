"""GitHub Models prompt files in: each .prompt.yml of tests/data/github_models becomes an
experiment (its prompt, testData rows and evaluators) that runs offline; built-in evaluators
are reported, never silently dropped."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import workbench as wb
from workbench.engine.progress import NullProgress
from workbench.errors import ConfigError, WorkbenchWarning
from workbench.importers.github_models import literal_to_jinja, read_github_models
from workbench.prompts.render import render_template
from workbench.providers.base import ChatRequest
from workbench.providers.fake import FakeProvider, last_user_text
from workbench.testing.mockserver import MockServer

CORPUS = Path(__file__).parent / "data" / "github_models"


def import_(name: str, **options: Any) -> wb.Experiment:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WorkbenchWarning)
        return wb.Experiment.from_github_models(CORPUS / f"{name}.prompt.yml", **options)


def passes(df: pd.DataFrame, scorer: str) -> list[Any]:
    part = df.sort_values("row_id")
    return [None if pd.isna(v) else bool(v) for v in part[f"{scorer}_pass"]]


def test_summarizer_reads_messages_test_data_and_evaluators() -> None:
    exp = import_("summarizer")
    assert exp.name == "text-summarizer"
    (variant,) = exp.variants
    assert variant.name == "Text Summarizer" and variant.model == "openai/gpt-4o-mini"
    assert variant.params == {"temperature": 0.5}
    assert (
        variant.system
        == "You are a text summarizer. Your only job is to summarize text given to you."
    )
    assert "<text>\n{{ input }}\n</text>" in (variant.user or "")
    assert exp.dataset.columns == ["id", "input", "expected"]
    assert [s.name for s in exp.scorers] == [
        "Output should start with 'Summary -'",
        "Mentions the expected subject",
    ]
    judge = exp.scorers[1].spec
    assert judge["name"] == "choice_judge" and judge["args"]["model"] == "openai/gpt-4o"
    assert judge["args"]["system"] == "You grade summaries."
    assert exp.description.startswith("Summarizes input text concisely")
    assert (
        "evaluators[2] (Similarity): the built-in evaluator 'github/similarity'" in exp.description
    )


def test_summarizer_runs_offline() -> None:
    def judge(req: ChatRequest) -> str:
        text = last_user_text(req)
        return "good" if "Summary: Summary - A fox" in text else "bad, it misses the point"

    fake = FakeProvider()
    fake.script(
        "gpt-4o-mini",
        lambda req: (
            "Summary - A fox jumped over a lazy dog."
            if "fox" in last_user_text(req)
            else "Museums open at nine."
        ),
    )
    fake.script("gpt-4o", judge)
    res = import_("summarizer", providers={"openai": fake}).run(progress=NullProgress())
    assert passes(res.df, "Output should start with 'Summary -'") == [True, False]
    assert passes(res.df, "Mentions the expected subject") == [True, False]
    assert fake.calls["gpt-4o"] == 2  # one grading call per row


def test_ticket_triage_runs_through_github_endpoint_on_the_mock_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    exp = import_("ticket_triage")
    (variant,) = exp.variants
    assert variant.model == "github/meta/Llama-3.3-70B-Instruct"
    assert exp.endpoints["github"].base_url == "https://models.github.ai/inference"
    assert exp.endpoints["github"].api_key_env == "GITHUB_TOKEN"
    schema = variant.params["response_format"]["json_schema"]
    assert variant.params["max_tokens"] == 100 and variant.params["top_p"] == 0.9
    assert schema["name"] == "triage" and schema["schema"]["required"] == ["category"]
    # text GitHub leaves alone stays text: "{% raw %}" and "{{ name }}" are not template syntax there
    assert render_template(variant.system or "", {}) == (
        "Classify the ticket. Templates like {% raw %} or {{ name }} in tickets are plain text."
    )
    assert [s.name for s in exp.scorers] == ["category_check", "ends with brace", "exact JSON"]
    monkeypatch.setenv("GITHUB_TOKEN", "local-test-token")
    answers = {
        "I was charged twice this month.": '{"category": "billing"}',
        "The export button does nothing.": '{"category": "other"}',
    }
    with MockServer(answers=answers) as srv:
        run = import_(
            "ticket_triage",
            endpoints={"github": {"base_url": srv.openai_base_url, "api_key_env": "GITHUB_TOKEN"}},
        )
        res = run.run(progress=NullProgress())
        assert int(srv.stats()["requests_total"]) == 2
    assert passes(res.df, "category_check") == [True, False]
    assert passes(res.df, "ends with brace") == [True, True]
    assert passes(res.df, "exact JSON") == [True, False]


def test_literal_text_keeps_only_test_data_placeholders() -> None:
    keys = frozenset({"input"})
    assert (
        literal_to_jinja("Hi {{input}} and {{other}}", keys)
        == "Hi {{ input }}{% raw %} and {{other}}{% endraw %}"
    )
    assert literal_to_jinja("a {% b %}", keys) == "{% raw %}a {% b %}{% endraw %}"
    tricky = "x {% endraw %} y {{input}}"
    assert render_template(literal_to_jinja(tricky, keys), {"input": "1"}) == "x {% endraw %} y 1"


def test_a_file_without_messages_or_model_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.prompt.yml"
    path.write_text("name: x\nmessages: []\n")
    with pytest.raises(
        ConfigError, match=r"x.prompt.yml: expected a .prompt.yml mapping with model"
    ):
        read_github_models(path)
    path.write_text("name: x\nmodel: openai/gpt-4o\nmessages: []\n")
    with pytest.raises(ConfigError, match="no messages"):
        read_github_models(path)


def test_unknown_model_parameters_and_keys_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "p.prompt.yml"
    path.write_text(
        "name: p\nmodel: gpt-4o-mini\nmodelParameters: {temperature: 0, frequencyPenalty: 1}\n"
        "messages: [{role: user, content: hi}]\nsomethingElse: 1\n"
    )
    imported = read_github_models(path)
    assert imported.variants[0]["model"] == "openai/gpt-4o-mini"  # the short form of older files
    report = str(imported.report)
    assert "p.prompt.yml: modelParameters.frequencyPenalty: a model parameter" in report
    assert "p.prompt.yml: somethingElse: a key workbench does not use" in report
    assert json.loads(json.dumps(imported.rows)) == [{"id": "1"}]
