"""The scorers imported checks need: starts_with, ends_with, levenshtein, contains_json,
choice_judge, and the nesting weighted and when — each judged on outputs a user would see, and
rebuilt from its spec (YAML, exported records)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pandas as pd
import pytest

import workbench as wb
from workbench.engine.progress import NullProgress
from workbench.errors import ScorerError, WorkbenchError
from workbench.providers.fake import FakeProvider
from workbench.scoring import Score, ScoreContext, Scorer, build_scorer


def score(scorer: Scorer, output: str, row: Mapping[str, Any] | None = None) -> Score:
    return asyncio.run(scorer.score(output, row or {}, ScoreContext()))


def rebuilt(scorer: Scorer) -> Scorer:
    again = build_scorer(scorer.spec)
    assert again.spec == scorer.spec and again.name == scorer.name
    return again


# -- starts_with, ends_with, levenshtein --------------------------------------------------------


def test_starts_and_ends_with_ignore_surrounding_whitespace_and_match_case() -> None:
    start = wb.scorers.starts_with("{{ expected }}")
    assert score(start, "\n Paris is it", {"expected": "Paris"}) == Score(
        1.0, True, "starts with 'Paris'"
    )
    assert score(start, "paris is it", {"expected": "Paris"}).passed is False
    assert score(rebuilt(wb.scorers.starts_with("Paris", case_sensitive=False)), "paris!").passed
    end = wb.scorers.ends_with("}")
    assert score(end, '{"a": 1}\n').reason == "ends with '}'"
    assert score(end, "{").reason == "does not end with '}'"
    assert score(start, "x", {"expected": ""}) == Score(None, None, "expected value is empty")
    assert build_scorer({"starts_with": "Summary -"}).spec["args"]["expected"] == "Summary -"


def test_levenshtein_counts_edits() -> None:
    close = wb.scorers.levenshtein("kitten", max_distance=3)
    result = score(close, "sitting")
    assert result.passed is True and result.reason == "edit distance 3 <= 3 from 'kitten'"
    assert result.value == pytest.approx(1 - 3 / 7)
    assert (
        score(rebuilt(wb.scorers.levenshtein("kitten", max_distance=2)), "sitting").passed is False
    )
    assert score(close, "kitten").value == 1.0
    with pytest.raises(ScorerError, match="max_distance must be a whole number >= 0"):
        wb.scorers.levenshtein("x", max_distance=-1)


# -- contains_json ---------------------------------------------------------------------------


def test_contains_json_finds_json_in_prose_and_checks_a_schema() -> None:
    anywhere = wb.scorers.contains_json()
    assert score(anywhere, 'Sure! {"a": [1, 2]} Anything else?').reason == (
        "contains JSON (object) at character 6"
    )
    assert score(anywhere, "no json {here").passed is False
    schema = {"type": "object", "required": ["b"]}
    shaped = rebuilt(wb.scorers.contains_json(schema))
    assert (
        score(shaped, 'first [1] then {"b": 2}').reason
        == "matches the schema (JSON at character 15)"
    )
    failed = score(shaped, '{"a": {"b": 1}}')
    assert failed.passed is False and "'b' is a required property" in failed.reason
    with pytest.raises(ScorerError, match="contains_json"):
        wb.scorers.contains_json({"type": 3})


# -- weighted and when --------------------------------------------------------------------------


def test_weighted_is_the_weighted_mean_with_a_threshold() -> None:
    both = wb.scorers.weighted(
        [wb.scorers.exact("Hello world"), wb.scorers.contains("world")], weights=[2, 1]
    )
    result = score(rebuilt(both), "Goodbye world")
    assert result.value == pytest.approx(1 / 3) and result.passed is False
    assert result.reason.startswith("weighted 0.33; exact: differs from 'Hello world'")
    lenient = wb.scorers.weighted(
        [wb.scorers.exact("Hello world"), wb.scorers.contains("world")],
        weights=[2, 1],
        threshold=0.3,
        name="score",
    )
    assert score(rebuilt(lenient), "Goodbye world").passed is True
    assert rebuilt(lenient).name == "score"


def test_weighted_leaves_out_unscored_scorers_and_weight_zero_never_fails() -> None:
    gated = wb.scorers.when("check", wb.scorers.contains("x"))
    zero = wb.scorers.weighted(
        [wb.scorers.contains("a"), wb.scorers.contains("zzz"), gated], weights=[1, 0, 5]
    )
    result = score(zero, "a", {"check": None})
    assert result.passed is True and result.value == 1.0
    only_gated = wb.scorers.weighted([gated])
    assert score(only_gated, "a", {"check": None}) == Score(
        None, None, "no scorer of the set applied"
    )
    with pytest.raises(ScorerError, match="weights must be 2 numbers >= 0"):
        wb.scorers.weighted([wb.scorers.contains("a"), wb.scorers.contains("b")], weights=[1])


def test_when_scores_only_rows_that_carry_the_check() -> None:
    gated = rebuilt(wb.scorers.when("expect", wb.scorers.contains("{{ expect }}"), name="has_it"))
    assert gated.name == "has_it" and gated.variables == {"expect"}
    assert score(gated, "Paris", {"expect": "Paris"}).passed is True
    assert score(gated, "Paris", {"expect": float("nan")}) == Score(
        None, None, "does not apply to this row (expect is empty)"
    )
    negated = build_scorer(
        {"name": "when", "args": {"column": "c", "scorer": {"contains": "no"}, "negate": True}}
    )
    assert score(negated, "no way", {"c": "1"}).passed is False
    ds = wb.Dataset(pd.DataFrame({"q": ["a"]}))
    with pytest.raises(WorkbenchError, match="expect"):
        wb.Experiment("x", ds, [wb.Variant("v", model="fake/echo", user="{{ q }}")], [gated])


# -- choice_judge ----------------------------------------------------------------------------


def test_choice_judge_scores_the_first_choice_the_reply_names(fake: FakeProvider) -> None:
    fake.script(
        "grader",
        {
            "Rate: Paris (capital of France?)": "Good, clearly.",
            "Rate: Lyon (capital of France?)": "bad",
        },
    )
    judge = wb.scorers.choice_judge(
        "Rate: {{completion}} ({{question}})",
        [{"choice": "good", "score": 1.0}, {"choice": "bad", "score": 0.0}],
        model="fake/grader",
        system="Answer good or bad.",
    )
    assert judge.variables == {"question"}  # the output is {{completion}}, not a column
    ds = wb.Dataset(pd.DataFrame({"question": ["capital of France?"]}))
    fake.script("answer", ["Paris", "Lyon", "Nice"])
    exp = wb.Experiment(
        "c",
        ds,
        [wb.Variant("v", model="fake/answer", user="{{ question }}")],
        [rebuilt(judge)],
        repeats=3,
    )
    assert exp.estimate().judge_calls == 3
    df = exp.run(progress=NullProgress()).df.sort_values("repeat")
    assert df["choice_judge"].tolist()[:2] == [1.0, 0.0]
    assert df["choice_judge_pass"].tolist()[:2] == [True, False]
    assert df["choice_judge_reason"].tolist() == [
        "chose 'good'",
        "chose 'bad'",
        "reply names no choice: 'Rate: Nice (capital of France?)'",
    ]


def test_choice_judge_needs_listed_choices() -> None:
    with pytest.raises(ScorerError, match="choices must be a list of"):
        wb.scorers.choice_judge("x {{completion}}", [{"choice": "", "score": 1}])
    with pytest.raises(ScorerError, match="choices must be a list of"):
        wb.scorers.choice_judge("x", "good")
