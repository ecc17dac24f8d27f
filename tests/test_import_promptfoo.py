"""promptfoo configs in: a corpus of real-world-shaped configs under tests/data/promptfoo, each
imported into an experiment with the expected rows, variants and scorers, run offline (the fake
provider, or the loopback mock server through the real OpenAI SDK), with every item that could
not be carried over named in the report and the experiment's description."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import workbench as wb
from workbench.engine.progress import NullProgress
from workbench.errors import ConfigError, WorkbenchWarning
from workbench.importers.promptfoo import read_promptfoo
from workbench.providers.base import ChatRequest
from workbench.providers.fake import FakeProvider, last_user_text
from workbench.scoring.minilm import minilm_missing
from workbench.testing.mockserver import MockServer

CORPUS = Path(__file__).parent / "data" / "promptfoo"
JUDGE_SYSTEM = "You are a strict, fair evaluator."


def config(name: str) -> Path:
    return CORPUS / name / "promptfooconfig.yaml"


def judged(
    grade: Callable[[str], str], answer: Callable[[str], str]
) -> Callable[[ChatRequest], str]:
    """A fake model that grades judge prompts with ``grade(response)`` and answers the rest."""

    def reply(req: ChatRequest) -> str:
        if req.messages[0]["content"].startswith(JUDGE_SYSTEM):
            response = req.messages[-1]["content"].split("RESPONSE:\n", 1)[1]
            return f"GRADE: {grade(response)}\nREASON: scripted"
        return answer(last_user_text(req))

    return reply


def import_(name: str, **options: Any) -> wb.Experiment:
    """Import a corpus config (the warning about left-out items has its own test)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WorkbenchWarning)
        return wb.Experiment.from_promptfoo(config(name), **options)


def run(exp: wb.Experiment) -> pd.DataFrame:
    res = exp.run(progress=NullProgress())
    assert res.status == "complete", res.message
    return res.df


def passes(df: pd.DataFrame, scorer: str, variant: str) -> list[Any]:
    """The scorer's pass/fail per row id of one variant (first repeat); None where unscored."""
    part = df[(df["variant"] == variant) & (df["repeat"] == 0)].sort_values(
        "row_id", key=lambda s: s.astype(int)
    )
    return [None if pd.isna(v) else bool(v) for v in part[f"{scorer}_pass"]]


def notes(exp: wb.Experiment) -> str:
    return exp.description


# -- translate: file prompts (one file holding two), two providers, defaultTest, repeat -------


def test_translate_imports_prompts_from_files_providers_and_default_assertions() -> None:
    exp = import_("translate")
    assert exp.name == "translate"
    assert exp.repeats == 2 and exp.concurrency == 4
    assert [v.name for v in exp.variants] == [
        "direct@gpt-4o-mini",
        "direct@haiku",
        "polite-1@gpt-4o-mini",
        "polite-1@haiku",
        "polite-2@gpt-4o-mini",
        "polite-2@haiku",
    ]
    haiku = exp.variants[1]
    assert haiku.model == "anthropic/claude-3-5-haiku-20241022"
    assert haiku.params == {"temperature": 0, "max_tokens": 64}
    assert exp.variants[0].user == "Translate the following text to {{language}}: {{input}}"
    assert exp.variants[4].user.startswith('Please translate "{{input}}" into {{language}}.')
    assert exp.dataset.row_ids == ["1", "2", "3"]
    assert [r["description"] for r in exp.dataset.rows] == [
        "French greeting",
        "German morning",
        "Spanish thanks",
    ]
    assert [s.name for s in exp.scorers] == [
        "icontains",
        "llm_rubric",
        "starts_with",
        "not_contains",
    ]
    rubric = exp.scorers[1].spec["args"]
    assert rubric["model"] == "openai/gpt-4o-mini"  # defaultTest.options.provider
    assert rubric["threshold"] == 0.7 and rubric["scale"][-1] == "10"
    assert exp.description.startswith("Translate short English phrases")
    assert "Everything was imported as written." in exp.description


def test_translate_runs_offline_and_scores_each_row_with_its_own_assertions() -> None:
    answers = {
        "Hello world": "Bonjour le monde",
        "Good morning": "Guten Morgen",
        "Thank you": "Muchas gracias",
    }

    def translate(prompt: str) -> str:
        return next(v for k, v in answers.items() if k in prompt)

    fake = FakeProvider()
    fake.script("gpt-4o-mini", judged(lambda r: "2" if "English" in r else "9", translate))
    fake.script("claude-3-5-haiku-20241022", lambda req: "In English: " + last_user_text(req)[-20:])
    df = run(import_("translate", providers={"openai": fake, "anthropic": fake}))
    assert len(df) == 3 * 6 * 2
    assert passes(df, "icontains", "direct@gpt-4o-mini") == [True, True, True]
    assert passes(df, "starts_with", "direct@gpt-4o-mini") == [None, True, None]
    assert passes(df, "not_contains", "direct@gpt-4o-mini") == [None, None, True]
    assert passes(df, "llm_rubric", "direct@gpt-4o-mini") == [True, True, True]
    assert passes(df, "icontains", "direct@haiku") == [False, False, False]
    assert passes(df, "not_contains", "direct@haiku") == [None, None, False]
    assert passes(df, "llm_rubric", "polite-2@haiku") == [False, False, False]
    sent = json.loads(df[(df["variant"] == "direct@gpt-4o-mini")]["messages"].iloc[0])
    assert sent == [
        {"role": "user", "content": "Translate the following text to French: Hello world"}
    ]


# -- support bot: chat JSON with few-shot, Nunjucks, CSV tests, an OpenAI-compatible server -----


def test_support_bot_reads_chat_json_csv_tests_and_a_named_endpoint() -> None:
    exp = import_("support_bot")
    assert [v.name for v in exp.variants] == ["vllm-llama", "gpt-4o-mini"]
    vllm = exp.variants[0]
    assert vllm.model == "vllm-llama/meta-llama/Llama-3.1-8B-Instruct"
    assert exp.endpoints["vllm-llama"].base_url == "http://localhost:8000/v1"
    assert exp.endpoints["vllm-llama"].api_key_env == "VLLM_API_KEY"
    assert exp.variants[1].params == {"temperature": 0.2, "max_tokens": 200, "seed": 7}
    assert vllm.messages == (
        {"role": "user", "content": "Where is my parcel?"},
        {
            "role": "assistant",
            "content": "Hi! I can check that for you: what is your order number?",
        },
    )
    assert "{{ order | tojson }}" in (vllm.system or "")
    assert "{% if (question | length) > 200 %}" in (vllm.user or "")
    assert "{% elif question == '' %}" in (vllm.user or "")
    assert [s.name for s in exp.scorers] == [
        "contains_any",
        "regex",
        "not_icontains",
        "icontains",
        "levenshtein",
        "weighted_score",
    ]
    assert exp.scorers[1].spec["args"]["pattern"] == "^(?P<greeting>Hi|Hello)"
    weighted = exp.scorers[-1].spec["args"]
    assert weighted["weights"] == [2.0, 1.0, 1.0, 2.0, 1.0] and weighted["threshold"] == 0.5
    text = notes(exp)
    assert "providers[1].config.apiKey: a key written in the config is never imported" in text
    assert "replace-me" not in text
    assert "tests.csv column __prefix" in text
    assert "tests.csv line 3.assert[2]: javascript code cannot run" in text
    assert "Nunjucks `| dump` as `| tojson`" in text
    assert "Nunjucks `{% elseif %}` as `{% elif %}`" in text


def test_support_bot_runs_through_the_openai_sdk_against_the_mock_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VLLM_API_KEY", "local-test-key")
    replies = {
        "I want to return my shoes, they are too small.": "Hi! You can return them for a refund.",
        "Can I change the delivery address?": "Hello! Yes, send us the new address.",
        "Do you sell gift cards?": "Hi! Yes, we sell gift cards.",
    }
    fake = FakeProvider().script("gpt-4o-mini", "As an AI, I cannot help with that.")
    with MockServer(answers=replies) as srv:
        exp = import_(
            "support_bot",
            providers={"openai": fake},
            endpoints={
                "vllm-llama": {"base_url": srv.openai_base_url, "api_key_env": "VLLM_API_KEY"}
            },
        )
        df = run(exp)
        assert int(srv.stats()["requests_total"]) == 3
    assert passes(df, "regex", "vllm-llama") == [True, True, True]
    assert passes(df, "contains_any", "vllm-llama") == [True, None, None]
    assert passes(df, "icontains", "vllm-llama") == [None, True, None]
    assert passes(df, "levenshtein", "vllm-llama") == [None, None, True]
    assert passes(df, "weighted_score", "vllm-llama") == [True, True, True]
    assert passes(df, "not_icontains", "gpt-4o-mini") == [False, None, False]
    assert passes(df, "weighted_score", "gpt-4o-mini") == [False, False, False]
    first = json.loads(df[df["variant"] == "vllm-llama"].sort_values("row_id")["messages"].iloc[0])
    assert first[0]["content"].endswith('The customer\'s order: "A-1001"')
    assert [m["role"] for m in first] == ["system", "user", "assistant", "user"]


# -- JSON extraction: prompts listed in a YAML file, schemas, $ref, globs, JSONL, assert-set -----


INVOICES = {
    "Globex": '{"vendor": "Globex", "total": 120.5, "currency": "EUR"}',
    "Initech": 'Here it is: {"vendor": "Initech", "total": 35.0, "currency": "USD"}',
    "ACME": '{"vendor": "ACME CORP", "total": 99, "currency": "GBP"}',
    "Hooli": '{"vendor": "Hooli", "total": 12, "currency": null}',
    "Lunch": '{"vendor": null, "total": null, "currency": null}',
    "Umbrella": '{"vendor": "Umbrella Corp", "total": 7.5, "currency": "CHF"}',
}


def test_json_extract_maps_schemas_assert_sets_and_reports_code_and_unknown_providers() -> None:
    exp = import_("json_extract")
    assert [v.name for v in exp.variants] == ["prompt1", "chat"]
    assert exp.variants[0].params == {"temperature": 0, "response_format": {"type": "json_object"}}
    assert (
        exp.variants[1].system
        == "You turn invoices into JSON with the keys vendor, total and currency."
    )
    assert len(exp.dataset) == 6
    assert [s.name for s in exp.scorers] == [
        "is_json",
        "equals",
        "contains_json",
        "total_found",
        "not_contains",
        "icontains",
        "fields_named",  # an icontains-all's metric
        "weighted_score",
    ]
    is_json = exp.scorers[0].spec["args"]
    assert is_json["column"] == "has_is_json"  # the transformed test (row 3) has none
    assert is_json["scorer"]["args"]["schema"]["required"] == ["vendor", "total", "currency"]
    equals = exp.scorers[1].spec["args"]["scorer"]
    assert equals["args"]["schema"] == {
        "const": {"vendor": "Globex", "total": 120.5, "currency": "EUR"}
    }
    assert exp.scorers[3].spec["args"]["scorer"]["name"] == "weighted"
    text = notes(exp)
    for expected in (
        "providers[0].config.tools: a provider option workbench does not send",
        "providers[1]: provider 'vertex:gemini-2.0-flash' has no workbench counterpart",
        "providers[2]: provider 'file://providers/custom_provider.py' has no workbench counterpart",
        "basic.yaml[1].assert[1]: javascript code cannot run in workbench",
        "basic.yaml[1].assert[2]: python code cannot run in workbench",
        "basic.yaml[2].options.transform: the test's assertions check a transformed output",
    ):
        assert expected in text


def test_json_extract_runs_offline() -> None:
    fake = FakeProvider().script(
        "gpt-4o-mini", lambda req: next(v for k, v in INVOICES.items() if k in last_user_text(req))
    )
    df = run(import_("json_extract", providers={"openai": fake}))
    for variant in ("prompt1", "chat"):
        assert passes(df, "is_json", variant) == [True, False, None, False, False, True]
        assert passes(df, "equals", variant) == [True, None, None, None, None, None]
        assert passes(df, "contains_json", variant) == [True, None, None, None, None, None]
        assert passes(df, "total_found", variant) == [None, True, None, None, None, None]
        assert passes(df, "not_contains", variant) == [None, None, None, True, None, None]
        assert passes(df, "icontains", variant) == [None, None, None, None, True, None]
        assert passes(df, "fields_named", variant) == [None, None, None, None, None, True]
        # weight 0 (not_contains) never fails the row; the failing is_json does
        assert passes(df, "weighted_score", variant) == [True, False, None, False, False, True]


# -- trivia: scenarios, list variables, echo, model-graded assertions ---------------------------


def test_trivia_expands_scenarios_and_list_variables() -> None:
    exp = import_("trivia")
    assert [v.name for v in exp.variants] == ["echo", "gpt-4o-mini"]
    assert exp.variants[0].model == "fake/echo"
    personas = [r["persona"] for r in exp.dataset.rows]
    assert personas == ["Poet", "Chef", "Robot", "Teacher", "Teacher", "Pirate", "Pirate"]
    assert exp.dataset.rows[2]["tags"] == ["math", "easy"]  # disableVarExpansion
    assert [r["description"] for r in exp.dataset.rows][3:5] == [
        "geography / France",
        "geography / oceans",
    ]
    names = [s.name for s in exp.scorers]
    assert names[:3] == ["levenshtein", "contains", "equals"]
    assert names[-2:] == ["factuality", "model_graded_closedqa"]
    judge = exp.scorers[-1].spec["args"]["scorer"]["args"]
    assert judge["model"] == "openai/gpt-4o-mini"  # defaultTest.options.provider
    assert "mentions the Pacific" not in judge["rubric"]  # read per row from its column
    assert "list variables expanded into 2 rows" in exp.description
    assert "'factuality' is graded by workbench's judge" in exp.description


def test_trivia_runs_offline() -> None:
    def answer(prompt: str) -> str:
        if "France" in prompt:
            return "Paris is the capital of France."
        return "The Pacific Ocean is the largest." if "ocean" in prompt else "Blue."

    fake = FakeProvider().script(
        "gpt-4o-mini",
        judged(lambda r: "PASS" if "Paris" in r or "Pacific" in r else "FAIL", answer),
    )
    exp = import_("trivia", providers={"openai": fake})
    df = run(exp)
    assert passes(df, "levenshtein", "echo") == [True, True, None, None, None, None, None]
    assert passes(df, "contains", "echo") == [None, None, True, None, None, None, None]
    assert passes(df, "equals", "echo") == [None, None, True, None, None, None, None]
    assert passes(df, "equals", "gpt-4o-mini")[2] is False
    assert passes(df, "factuality", "gpt-4o-mini") == [None, None, None, True, None, True, None]
    assert passes(df, "model_graded_closedqa", "echo") == [
        None,
        None,
        None,
        None,
        False,
        None,
        False,
    ]
    assert passes(df, "model_graded_closedqa", "gpt-4o-mini")[4] is True
    if minilm_missing() is None:
        assert passes(df, "similar", "gpt-4o-mini") == [None, None, None, True, None, True, None]


# -- the import itself ---------------------------------------------------------------------


def test_the_warning_names_how_many_items_were_left_out() -> None:
    with pytest.warns(WorkbenchWarning, match=r"6 item\(s\) not imported"):
        wb.Experiment.from_promptfoo(config("json_extract"))


def test_grader_and_embedder_can_be_chosen(tmp_path: Path) -> None:
    (tmp_path / "promptfooconfig.yaml").write_text(
        "prompts: ['{{q}}']\nproviders: [openai:gpt-4o-mini]\n"
        "tests:\n  - vars: {q: hi}\n    assert:\n      - type: llm-rubric\n        value: polite\n"
    )
    exp = wb.Experiment.from_promptfoo(
        tmp_path / "promptfooconfig.yaml", grader="anthropic/claude-x"
    )
    assert exp.scorers[0].spec["args"]["model"] == "anthropic/claude-x"
    assert wb.Experiment.from_promptfoo(tmp_path / "promptfooconfig.yaml").scorers[0].models == (
        "openai/gpt-4.1",
    )


def test_a_config_with_nothing_runnable_says_why(tmp_path: Path) -> None:
    (tmp_path / "promptfooconfig.yaml").write_text(
        "prompts: ['{{q}}']\nproviders: [bedrock:anthropic.claude-v2]\ntests: [{vars: {q: hi}}]\n"
    )
    with pytest.raises(ConfigError, match=r"nothing to run(.|\n)*bedrock:anthropic.claude-v2"):
        wb.Experiment.from_promptfoo(tmp_path / "promptfooconfig.yaml")


def test_a_missing_file_reference_names_the_config_entry(tmp_path: Path) -> None:
    (tmp_path / "promptfooconfig.yaml").write_text(
        "prompts: [file://nope.txt]\nproviders: [echo]\n"
    )
    with pytest.raises(
        ConfigError, match=r"promptfooconfig.yaml: prompts\[0\]: file://nope.txt names no file"
    ):
        wb.Experiment.from_promptfoo(tmp_path / "promptfooconfig.yaml")


def test_a_malformed_test_is_refused_naming_the_config_and_entry(tmp_path: Path) -> None:
    (tmp_path / "promptfooconfig.yaml").write_text("prompts: [hi]\nproviders: [echo]\ntests: [3]\n")
    with pytest.raises(ConfigError, match=r"promptfooconfig.yaml: tests\[0\] must be a mapping"):
        wb.Experiment.from_promptfoo(tmp_path / "promptfooconfig.yaml")


def test_a_prompt_jinja_cannot_read_is_left_out_and_the_rest_runs(tmp_path: Path) -> None:
    (tmp_path / "promptfooconfig.yaml").write_text(
        "prompts:\n  - 'Dear {{ name | uppercaseFirst }}'\n  - 'Hi {{ name }}'\n"
        "providers: [echo]\ntests: [{vars: {name: ada}}]\n"
    )
    with pytest.warns(WorkbenchWarning):
        exp = wb.Experiment.from_promptfoo(tmp_path / "promptfooconfig.yaml")
    assert [v.name for v in exp.variants] == ["prompt1"]  # the second entry, numbered as read
    assert exp.variants[0].user == "Hi {{ name }}"
    assert "uses the filter 'uppercaseFirst', which Jinja2 does not have" in exp.description
    assert run(exp)["output"].tolist() == ["Hi ada"]


def test_provider_prompt_filters_and_variables_no_test_sets(tmp_path: Path) -> None:
    (tmp_path / "promptfooconfig.yaml").write_text(
        "prompts:\n  - {raw: 'A {{q}} {{tone}}', label: a}\n  - {raw: 'B {{q}}', label: b}\n"
        "providers:\n  - {id: echo, prompts: [b]}\n  - {id: openai:gpt-4o-mini, label: mini}\n"
        "tests: [{vars: {q: hi}}]\n"
    )
    imported = read_promptfoo(tmp_path / "promptfooconfig.yaml")
    assert [v["name"] for v in imported.variants] == ["a@mini", "b@echo", "b@mini"]
    assert imported.rows == [{"id": "1", "q": "hi", "tone": None}]
    assert "the prompts read {{ tone }}, which no test sets: it renders empty" in str(
        imported.report
    )


def test_csv_metric_threshold_and_assertion_config(tmp_path: Path) -> None:
    (tmp_path / "tests.csv").write_text(
        "q,__expected,__expected2,__metric,__config:__expected2:threshold\n"
        "one,contains:one,levenshtein:one,accuracy,1\n"
        "two,Two,levenshtein:two,accuracy,0\n",
        encoding="utf-8",
    )
    (tmp_path / "promptfooconfig.yaml").write_text(
        "prompts: ['{{q}}']\nproviders: [echo]\ntests: file://tests.csv\n", encoding="utf-8"
    )
    exp = wb.Experiment.from_promptfoo(tmp_path / "promptfooconfig.yaml")
    assert [s.name for s in exp.scorers] == ["accuracy", "accuracy_2", "accuracy_3", "accuracy_4"]
    specs = [s.spec["args"]["scorer"] for s in exp.scorers]
    assert [s["name"] for s in specs] == ["contains", "levenshtein", "exact", "levenshtein"]
    assert [s["args"]["max_distance"] for s in specs if s["name"] == "levenshtein"] == [1, 0]
    df = run(exp)
    assert passes(df, "accuracy", "prompt1") == [True, None]
    assert passes(df, "accuracy_3", "prompt1") == [None, False]  # equals is case-sensitive
