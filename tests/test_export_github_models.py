"""GitHub Models out: an exported prompt on a model GitHub serves gets ``<name>.prompt.yml`` beside
``prompt.prompty`` (in the manifest), with its testData and the evaluators that map; the file
reads back as the same experiment; when it does not translate, ``eval.json`` says why."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import yaml

import workbench as wb
from workbench.artifact import load_prompt
from workbench.engine.progress import NullProgress
from workbench.errors import WorkbenchWarning
from workbench.providers.fake import FakeProvider, last_user_text
from workbench.run_results import Results

DATA = (
    "question,expected\n"
    "What is the capital of France?,Paris\n"
    "What is the capital of Spain?,Madrid\n"
)
ANSWERS = {"France": "Paris.", "Spain": "Madrid."}
SCORERS = [
    wb.scorers.contains("{{ expected }}"),
    wb.scorers.exact("{{ expected }}.", name="exact_answer"),
    wb.scorers.starts_with("{{ expected }}", case_sensitive=False),
    wb.scorers.regex("^[A-Z]"),
    wb.scorers.choice_judge(
        "Is {{completion}} the capital asked for in: {{question}}? Say yes or no.",
        [{"choice": "yes", "score": 1.0}, {"choice": "no", "score": 0.0}],
        model="openai/gpt-4o",
        name="grader",
    ),
    wb.scorers.judge("Is it right?", model="openai/gpt-4o"),
]


def fake() -> FakeProvider:
    provider = FakeProvider()
    provider.script(
        "gpt-4o-mini",
        lambda req: next((v for k, v in ANSWERS.items() if k in last_user_text(req)), "?"),
    )
    provider.script(
        "gpt-4o",
        lambda req: "yes" if "Is " in last_user_text(req) else "GRADE: PASS\nREASON: fine",
    )
    return provider


def run(tmp_path: Path, model: str = "openai/gpt-4o-mini", **variant: Any) -> Results:
    (tmp_path / "q.csv").write_text(DATA, encoding="utf-8")
    v = wb.Variant(
        "brief",
        model=model,
        system="Answer with the city only.",
        user="{{ question }}",
        params={"temperature": 0, "max_tokens": 16},
        **variant,
    )
    exp = wb.Experiment(
        "capitals", "q.csv", [v], SCORERS, providers={"openai": fake(), "fake": fake()}
    )
    return exp.run(progress=NullProgress())


def test_export_writes_a_prompt_yml_with_test_data_and_the_evaluators_that_map(
    tmp_path: Path,
) -> None:
    p = run(tmp_path).export("brief", name="capital-answerer", to="prompts")
    path = p.path / "capital-answerer.prompt.yml"
    assert "capital-answerer.prompt.yml" in p.files()  # in the manifest, verified on load
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert data["name"] == "capital-answerer"
    assert data["model"] == "openai/gpt-4o-mini"
    assert data["modelParameters"] == {"maxTokens": 16, "temperature": 0}
    assert data["messages"] == [
        {"role": "system", "content": "Answer with the city only."},
        {"role": "user", "content": "{{question}}"},
    ]
    assert data["testData"] == [
        {"question": "What is the capital of France?", "expected": "Paris"},
        {"question": "What is the capital of Spain?", "expected": "Madrid"},
    ]
    assert data["evaluators"] == [
        {"name": "contains", "string": {"contains": "{{expected}}"}},
        {"name": "exact_answer", "string": {"equals": "{{expected}}."}},
        {"name": "starts_with", "string": {"startsWith": "{{expected}}"}},
        {
            "name": "grader",
            "llm": {
                "modelId": "openai/gpt-4o",
                "prompt": "Is {{completion}} the capital asked for in: {{question}}? Say yes or no.",
                "choices": [{"choice": "yes", "score": 1.0}, {"choice": "no", "score": 0.0}],
            },
        },
    ]
    note = p.eval["github_models"]
    assert note.startswith("written without the scorer(s) 'regex'")
    assert "'judge' (GitHub Models has no evaluator for 'judge')" in note


def test_the_exported_file_reads_back_as_the_same_experiment(tmp_path: Path) -> None:
    p = run(tmp_path).export("brief", name="capital-answerer", to="prompts")
    with warnings.catch_warnings():
        warnings.simplefilter("error", WorkbenchWarning)  # nothing is left out on the way back
        again = wb.Experiment.from_github_models(
            p.path / "capital-answerer.prompt.yml", providers={"openai": fake()}
        )
    (variant,) = again.variants
    assert variant.model == "openai/gpt-4o-mini"
    assert variant.params == {"max_tokens": 16, "temperature": 0}
    assert (variant.system, variant.user) == ("Answer with the city only.", "{{ question }}")
    assert [s.name for s in again.scorers] == ["contains", "exact_answer", "starts_with", "grader"]
    res = again.run(progress=NullProgress())
    assert res.df["contains_pass"].tolist() == [True, True]
    assert res.df["grader_pass"].tolist() == [True, True]


def test_exporting_a_loaded_version_again_gives_identical_files(tmp_path: Path) -> None:
    p = run(tmp_path).export("brief", name="capital-answerer", to="prompts")
    again = load_prompt(p.path).export("elsewhere")
    for name in ("capital-answerer.prompt.yml", "eval.json", "prompt.prompty"):
        assert (again / name).read_bytes() == (p.path / name).read_bytes()


def test_a_model_github_does_not_serve_is_said_in_eval_json(tmp_path: Path) -> None:
    p = run(tmp_path, model="fake/echo").export("brief", name="x", to="prompts")
    assert not (p.path / "x.prompt.yml").exists()
    assert p.eval["github_models"] == (
        "skipped: the model 'fake/echo' is not one GitHub Models serves (openai/<model> or "
        "github/<publisher>/<model>)"
    )


def test_templates_and_parameters_without_a_github_form_are_said_in_eval_json(
    tmp_path: Path,
) -> None:
    p = run(tmp_path, messages=[]).export("brief", name="ok", to="prompts")
    assert (p.path / "ok.prompt.yml").exists()
    v = wb.Variant("filtered", model="openai/gpt-4o-mini", user="{{ question | upper }}")
    (tmp_path / "q.csv").write_text(DATA, encoding="utf-8")
    res = wb.Experiment("c", "q.csv", [v], providers={"openai": fake()}).run(
        progress=NullProgress()
    )
    p = res.export("filtered", name="f", to="prompts")
    assert p.eval["github_models"] == (
        "skipped: the user message uses an expression GitHub Models cannot write (only {{ name }})"
    )
    seeded = v.replace(name="seeded", user="{{ question }}", params={"seed": 3})
    res = wb.Experiment("c", "q.csv", [seeded], providers={"openai": fake()}).run(
        progress=NullProgress()
    )
    p = res.export("seeded", name="s", to="prompts")
    assert p.eval["github_models"] == "skipped: the parameter 'seed' has no .prompt.yml field"


def test_a_json_schema_response_format_is_written_as_github_does(tmp_path: Path) -> None:
    schema = {"name": "city", "schema": {"type": "object"}}
    v = wb.Variant(
        "json",
        model="github/meta/Llama-3.3-70B-Instruct",
        user="{{ question }}",
        params={"response_format": {"type": "json_schema", "json_schema": schema}},
    )
    (tmp_path / "q.csv").write_text(DATA, encoding="utf-8")
    exp = wb.Experiment(
        "c",
        "q.csv",
        [v],
        providers={"github": fake()},
        endpoints={"github": {"base_url": "http://127.0.0.1:9/v1"}},
    )
    p = exp.run(progress=NullProgress()).export("json", name="j", to="prompts")
    data = yaml.safe_load((p.path / "j.prompt.yml").read_text(encoding="utf-8"))
    assert data["model"] == "meta/Llama-3.3-70B-Instruct"
    assert data["responseFormat"] == "json_schema"
    assert json.loads(data["jsonSchema"]) == schema
