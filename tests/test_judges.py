"""LLM judges on the fake provider: reply formats, scales, thresholds, unparseable replies and
failed calls (never a silent 0), repeats, caching and collapsing, cost, rubric templates, key
checks before any call; pairwise comparison against a baseline in both orders."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
import pytest
from fakes import current_fake

import workbench as wb
from workbench.engine.progress import NullProgress
from workbench.errors import MissingKeyError, ProviderError, ScorerError, TemplateError
from workbench.models.catalog import model_info
from workbench.providers import ChatRequest
from workbench.providers.fake import FakeProvider, last_user_text
from workbench.scoring.base import Scorer
from workbench.tokens.estimate import estimate_text_tokens, estimate_tokens

QUIET = NullProgress()
CITIES = ["Paris", "Tokyo", "Rome", "Berlin", "Madrid"]


def dataset(n: int = 2, **extra: Sequence[Any]) -> wb.Dataset:
    return wb.Dataset(
        pd.DataFrame(
            {
                "id": [f"r{i}" for i in range(n)],
                "question": [c.lower() for c in CITIES[:n]],
                "expected": CITIES[:n],
                **extra,
            }
        )
    )


def echo(name: str = "echo", model: str = "fake/echo") -> wb.Variant:
    return wb.Variant(name, model=model, user="{{ question }}")


def run(
    scorer: Scorer,
    *,
    ds: wb.Dataset | None = None,
    variants: list[wb.Variant] | None = None,
    repeats: int = 1,
) -> wb.Results:
    exp = wb.Experiment("judged", ds or dataset(), variants or [echo()], [scorer], repeats=repeats)
    return exp.run(progress=QUIET)


def script_judge(
    reply: str | Callable[[ChatRequest], str], name: str = "judge"
) -> list[ChatRequest]:
    """Script fake/<name> and record every request it is asked."""
    seen: list[ChatRequest] = []

    def responder(request: ChatRequest) -> str:
        seen.append(request)
        return reply(request) if callable(reply) else reply

    current_fake().script(name, responder)
    return seen


def judge(rubric: str = "The answer names {{ expected }}.", **kw: Any) -> Scorer:
    kw.setdefault("model", "fake/judge")
    return wb.scorers.judge(rubric, **kw)


def section(text: str, title: str) -> str:
    """The body of a 'TITLE:' section of a judge prompt."""
    end = r"\n\n(?:RUBRIC|INPUT|RESPONSE)[^\n]*:\n|\Z"
    match = re.search(rf"^{re.escape(title)}:\n(.*?)(?:{end})", text, re.S | re.M)
    assert match, f"no {title} in {text!r}"
    return match.group(1)


def cell(res: wb.Results, name: str = "judge", i: int = 0) -> tuple[Any, Any, str]:
    row = res.df.iloc[i]
    value, passed = row[name], row[f"{name}_pass"]
    return (
        None if pd.isna(value) else float(value),
        None if pd.isna(passed) else bool(passed),
        row[f"{name}_reason"],
    )


# -- reply formats and scales ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "scale", "expected"),
    [
        ("GRADE: PASS\nREASON: names the city", "pass_fail", (1.0, True, "PASS: names the city")),
        ("GRADE: FAIL\nREASON: wrong city", "pass_fail", (0.0, False, "FAIL: wrong city")),
        ("grade: pass\nreason: fine", "pass_fail", (1.0, True, "PASS: fine")),
        ('{"grade": "pass", "reason": "ok"}', "pass_fail", (1.0, True, "PASS: ok")),
        ('```json\n{"grade": 4, "reason": "good"}\n```', "1-5", (0.75, True, "4: good")),
        ('{"grade": "B", "reason": "solid"}', "A-F", (0.75, True, "B: solid")),
        ("PASS", "pass_fail", (1.0, True, "PASS")),
        ("fail.", "pass_fail", (0.0, False, "FAIL")),
        ("3", "1-5", (0.5, False, "3")),
        ("**GRADE:** 4", "1-5", (0.75, True, "4")),
        ("**GRADE:** 2\n**REASON:** mostly wrong", "1-5", (0.25, False, "2: mostly wrong")),
        ("GRADE: **5**\nREASON: perfect", "1-5", (1.0, True, "5: perfect")),
        ("Grade = a", "A-F", (1.0, True, "A")),
        ("GRADE: D\nREASON: weak", "A-F", (0.25, False, "D: weak")),
        ("GRADE: C", "A-F", (0.5, False, "C")),
        ("GRADE: 10", "1-10", (1.0, True, "10")),
        (
            "GRADE: partial\nREASON: half",
            ["wrong", "partial", "right"],
            (0.5, False, "partial: half"),
        ),
        ("RIGHT", ["wrong", "partial", "right"], (1.0, True, "right")),
    ],
)
def test_reply_formats_and_scales(
    reply: str, scale: Any, expected: tuple[Any, ...], fake: FakeProvider
) -> None:
    script_judge(reply)
    res = run(judge(scale=scale), ds=dataset(1))
    assert cell(res) == expected
    assert fake.calls["judge"] == 1


@pytest.mark.parametrize("grade", [1, 2, 3, 4, 5])
def test_one_to_five_value_and_default_threshold(grade: int) -> None:
    script_judge(f"GRADE: {grade}\nREASON: r")
    value, passed, reason = cell(run(judge(scale="1-5"), ds=dataset(1)))
    assert value == (grade - 1) / 4
    assert passed is (grade >= 4)  # default threshold 0.75
    assert reason == f"{grade}: r"


@pytest.mark.parametrize(
    ("threshold", "grade", "passed"),
    [(0.5, "3", True), (0.5, "2", False), (1.0, "4", False), (1.0, "5", True), (0.0, "1", True)],
)
def test_custom_threshold(threshold: float, grade: str, passed: bool) -> None:
    script_judge(f"GRADE: {grade}")
    assert cell(run(judge(scale="1-5", threshold=threshold), ds=dataset(1)))[1] is passed


def test_judge_prompt_states_the_scale() -> None:
    seen = script_judge("GRADE: B")
    run(judge(scale="A-F"), ds=dataset(1))
    system = seen[0].messages[0]
    assert system["role"] == "system"
    assert "Allowed grades: F, D, C, B, A (worst to best)." in system["content"]
    assert seen[0].params == {"max_tokens": 200, "temperature": 0}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scale": "1-100%"}, "Unknown judge scale '1-100%'"),
        ({"scale": ["only"]}, "at least two distinct grades"),
        ({"scale": ["ok", "OK"]}, "at least two distinct grades"),
        ({"repeats": 0}, "judge repeats must be a whole number >= 1, got 0"),
        ({"threshold": 4}, "from 0 (worst) to 1 (best), got 4"),
    ],
)
def test_bad_judge_arguments(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ScorerError, match=re.escape(message)):
        judge(**kwargs)


# -- unparseable replies and failed calls are unscored, never 0 -----------------------------


@pytest.mark.parametrize(
    ("reply", "scale"),
    [
        ("I think the answer is fine.", "pass_fail"),
        ("GRADE: 7\nREASON: off the scale", "1-5"),
        ('{"grade": "excellent"}', "A-F"),
        ("Upgrade: PASS", "pass_fail"),
        ("", "pass_fail"),
    ],
)
def test_reply_not_understood_is_unscored(reply: str, scale: str) -> None:
    script_judge(reply)
    res = run(judge(scale=scale))
    shown = " ".join(reply.split())
    for i in range(2):
        assert cell(res, i=i) == (None, None, f"judge reply not understood: {shown!r}")
    assert res.df["error"].isna().all()
    summary = res.summary().iloc[0]
    assert summary["judge_pass_rate"] is None  # unscored rows are not failures
    assert summary["judge_mean"] is None


def test_long_unparseable_reply_is_quoted_short() -> None:
    script_judge("blah " * 100)
    reason = cell(run(judge(), ds=dataset(1)))[2]
    assert reason.startswith("judge reply not understood: 'blah blah")
    assert reason.endswith("…'")
    assert len(reason) < 160


def test_judge_call_failure_is_unscored_and_retried_next_run() -> None:
    def broken(request: ChatRequest) -> str:
        raise ProviderError("judge exploded", kind="bad_request")

    seen = script_judge(broken)
    exp = wb.Experiment("judged", dataset(), [echo()], [judge()])
    res = exp.run(progress=QUIET)
    for i in range(2):
        assert cell(res, i=i) == (None, None, "judge call failed: judge exploded")
    assert res.df["output"].tolist() == ["paris", "tokyo"]
    assert res.df["error"].isna().all()  # the main calls are fine
    assert res.df["scoring_cost_usd"].eq(0.0).all()
    assert len(seen) == 2  # not retried: a bad request is final
    exp.run(progress=QUIET)
    assert len(seen) == 4  # failures are not cached


def test_failed_main_call_fails_the_row_without_calling_the_judge(fake: FakeProvider) -> None:
    def broken(request: ChatRequest) -> str:
        raise ProviderError("upstream 400", kind="bad_request")

    fake.script("broken", broken)
    script_judge("GRADE: PASS")
    res = run(judge(), variants=[echo("broken", model="fake/broken")])
    assert fake.calls["judge"] == 0
    for i in range(2):
        assert cell(res, i=i) == (None, False, "call failed: upstream 400")
    summary = res.summary().iloc[0]
    assert summary["errors"] == 2
    assert summary["judge_pass_rate"] == 0.0


# -- repeats, caching, collapsing, cost -----------------------------------------------------


def test_judge_repeats_average_and_list_every_reason() -> None:
    replies = ["GRADE: 5\nREASON: great", "GRADE: 3\nREASON: meh", "GRADE: 4\nREASON: fine"]
    seen = script_judge(lambda request: replies[request.repeat])
    res = run(judge(scale="1-5", repeats=3), ds=dataset(1))
    assert cell(res) == (0.75, True, "mean of 3: 5: great | 3: meh | 4: fine")
    assert [r.repeat for r in seen] == [0, 1, 2]
    assert len({last_user_text(r) for r in seen}) == 1


def test_judge_repeats_mean_below_threshold_fails() -> None:
    script_judge(lambda request: ["GRADE: 5", "GRADE: 3", "GRADE: 3"][request.repeat])
    assert cell(run(judge(scale="1-5", repeats=3), ds=dataset(1)))[:2] == (2 / 3, False)


def test_one_bad_judge_repeat_leaves_the_row_unscored() -> None:
    script_judge(lambda request: ["GRADE: PASS", "dunno", "GRADE: PASS"][request.repeat])
    assert cell(run(judge(repeats=3), ds=dataset(1))) == (
        None,
        None,
        "judge reply not understood: 'dunno'",
    )


def test_judge_calls_are_cached_across_runs(fake: FakeProvider) -> None:
    script_judge(lambda request: "GRADE: PASS\nREASON: ok")
    exp = wb.Experiment("judged", dataset(3), [echo()], [judge()], repeats=2)
    first = exp.run(progress=QUIET)
    assert fake.calls["judge"] == 3  # echo repeats give the same output: one judge call per row
    assert first.record.spend.judge_calls == 3
    second = exp.run(progress=QUIET)
    assert fake.calls["judge"] == 3
    assert second.record.spend.judge_calls == 0
    assert second.record.spend.scoring_usd == 0.0
    cols = ["judge", "judge_pass", "judge_reason"]
    pd.testing.assert_frame_equal(first.df[cols], second.df[cols])


def test_identical_judge_prompts_collapse_into_one_call(fake: FakeProvider) -> None:
    ds = wb.Dataset(pd.DataFrame({"id": ["a", "b", "c"], "question": ["paris", "paris", "paris"]}))
    seen = script_judge("GRADE: PASS")
    res = run(judge("Is it a city?"), ds=ds, repeats=2)
    assert len(res.df) == 6
    assert res.df["judge_pass"].all()
    assert fake.calls["judge"] == 1
    assert len(seen) == 1


def test_scoring_cost_counts_each_judge_call_once() -> None:
    wb.models.register("fake/judge", input_per_1m=1000.0, output_per_1m=2000.0)
    reply = "GRADE: PASS\nREASON: ok"
    seen = script_judge(reply)
    ds = wb.Dataset(pd.DataFrame({"id": ["a", "b", "c"], "question": ["paris", "paris", "rome"]}))
    exp = wb.Experiment("judged", ds, [echo()], [judge("Is it a city?")], repeats=2)
    res = exp.run(progress=QUIET)
    assert len(seen) == 2  # 'paris' and 'rome': six cells, two distinct judge prompts
    info = model_info("fake/judge")
    per_call = [info.cost(estimate_tokens(r.messages), estimate_text_tokens(reply)) for r in seen]
    assert all(c is not None and c > 0 for c in per_call)
    expected = sum(c for c in per_call if c is not None)
    assert res.df["scoring_cost_usd"].sum() == pytest.approx(expected)
    assert res.record.spend.scoring_usd == pytest.approx(expected)
    assert (res.df["scoring_cost_usd"] > 0).sum() == 2  # a shared call is paid once
    assert res.summary().iloc[0]["scoring_cost_usd"] == pytest.approx(expected)
    assert res.df["cost_usd"].eq(0.0).all()  # the judged model itself is free
    again = exp.run(progress=QUIET)  # cached: reports what the calls cost when made
    assert again.df["scoring_cost_usd"].sum() == pytest.approx(expected)
    assert again.record.spend.scoring_usd == 0.0


def test_unpriced_judge_costs_nothing() -> None:
    script_judge("GRADE: PASS")
    res = run(judge())
    assert res.df["scoring_cost_usd"].eq(0.0).all()


# -- what the judge sees ----------------------------------------------------------------------


def test_rubric_is_a_template_over_the_row() -> None:
    seen = script_judge(
        lambda r: "PASS" if "Paris" in section(last_user_text(r), "RUBRIC") else "FAIL"
    )
    res = run(judge("The answer must name {{ expected }}."))
    prompts = {section(last_user_text(r), "RESPONSE"): last_user_text(r) for r in seen}
    assert set(prompts) == {"paris", "tokyo"}
    assert section(prompts["paris"], "RUBRIC") == "The answer must name Paris."
    assert section(prompts["tokyo"], "RUBRIC") == "The answer must name Tokyo."
    assert section(prompts["paris"], "INPUT (what the model was asked)") == "paris"
    assert res.df["judge_pass"].tolist() == [True, False]


def test_rubric_variable_missing_from_dataset_fails_before_the_run() -> None:
    with pytest.raises(TemplateError, match=r"\{\{ answer \}\}, which is not a column"):
        wb.Experiment("judged", dataset(), [echo()], [judge("Must say {{ answer }}")])


def test_judge_on_a_model_without_key_fails_before_any_call(
    monkeypatch: pytest.MonkeyPatch,
    fake: FakeProvider,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    exp = wb.Experiment("judged", dataset(), [echo()], [judge(model="openai/gpt-6.2-sol")])
    with pytest.raises(MissingKeyError, match="OPENAI_API_KEY"):
        exp.run(progress=QUIET)
    assert sum(fake.calls.values()) == 0


def test_judge_outside_an_experiment_is_unscored() -> None:
    import asyncio

    from workbench.scoring.base import ScoreContext

    score = asyncio.run(judge().score("Paris", {"expected": "Paris"}, ScoreContext()))
    assert (score.value, score.passed) == (None, None)
    assert "run it inside an experiment" in score.reason


# -- pairwise -------------------------------------------------------------------------------


def pair_of(request: ChatRequest) -> tuple[str, str]:
    text = last_user_text(request)
    return section(text, "RESPONSE 1"), section(text, "RESPONSE 2")


def pairwise_run(
    judge_reply: str | Callable[[ChatRequest], str], repeats: int = 1, n: int = 2
) -> tuple[wb.Results, list[ChatRequest]]:
    current_fake().script("base", lambda r: f"base says {last_user_text(r)} #{r.repeat}")
    current_fake().script("new", lambda r: f"new says {last_user_text(r)} #{r.repeat}")
    seen = script_judge(judge_reply)
    scorer = wb.scorers.pairwise("Which is better?", baseline="base", model="fake/judge")
    res = run(
        scorer,
        ds=dataset(n),
        variants=[echo("base", model="fake/base"), echo("new", model="fake/new")],
        repeats=repeats,
    )
    return res, seen


def outcomes(res: wb.Results, variant: str) -> list[tuple[Any, Any, str]]:
    return [
        cell(res, "pairwise", i) for i in range(len(res.df)) if res.df.iloc[i]["variant"] == variant
    ]


def prefers(word: str) -> Callable[[ChatRequest], str]:
    def reply(request: ChatRequest) -> str:
        first, _ = pair_of(request)
        return f"WINNER: {1 if word in first else 2}\nREASON: {word} is better"

    return reply


def test_pairwise_baseline_cells_are_unscored() -> None:
    res, _ = pairwise_run(prefers("new"))
    assert outcomes(res, "base") == [(None, None, "baseline")] * 2


def test_pairwise_win_when_preferred_in_both_orders() -> None:
    res, seen = pairwise_run(prefers("new"))
    assert outcomes(res, "new") == [(1.0, True, "win vs base in both orders")] * 2
    assert len(seen) == 4  # two orders per row
    orders = {pair_of(r) for r in seen}
    assert ("new says paris #0", "base says paris #0") in orders
    assert ("base says paris #0", "new says paris #0") in orders


def test_pairwise_loss_when_baseline_preferred_in_both_orders() -> None:
    res, _ = pairwise_run(prefers("base"))
    assert outcomes(res, "new") == [(0.0, False, "loss vs base in both orders")] * 2


def test_pairwise_position_bias_gives_a_tie() -> None:
    res, _ = pairwise_run("WINNER: 1\nREASON: the first one")
    assert (
        outcomes(res, "new")
        == [(0.5, False, "tie: the judge's choice depended on the order (win then loss)")] * 2
    )


@pytest.mark.parametrize("reply", ["TIE", "WINNER: tie\nREASON: same", "**WINNER:** TIE"])
def test_pairwise_tie(reply: str) -> None:
    res, _ = pairwise_run(reply)
    assert outcomes(res, "new") == [(0.5, False, "tie vs base in both orders")] * 2


def test_pairwise_reads_response_n_and_bare_numbers() -> None:
    def reply(request: ChatRequest) -> str:
        first, _ = pair_of(request)
        return "Response 1" if "new" in first else "2"

    res, _ = pairwise_run(reply)
    assert outcomes(res, "new") == [(1.0, True, "win vs base in both orders")] * 2


def test_pairwise_malformed_reply_is_unscored() -> None:
    res, _ = pairwise_run("Both have merit.")
    assert (
        outcomes(res, "new") == [(None, None, "judge reply not understood: 'Both have merit.'")] * 2
    )


def test_pairwise_judge_failure_is_unscored() -> None:
    def broken(request: ChatRequest) -> str:
        raise ProviderError("judge down", kind="bad_request")

    res, _ = pairwise_run(broken)
    assert outcomes(res, "new") == [(None, None, "judge call failed: judge down")] * 2


def test_pairwise_pairs_repeats_by_index() -> None:
    res, seen = pairwise_run(prefers("new"), repeats=3, n=1)
    assert len(seen) == 6
    for request in seen:
        first, second = pair_of(request)
        assert first.endswith(f"#{request.repeat}") and second.endswith(f"#{request.repeat}")
        assert {first.split()[0], second.split()[0]} == {"base", "new"}
    assert sorted(r.repeat for r in seen) == [0, 0, 1, 1, 2, 2]
    assert res.df[res.df["variant"] == "new"]["pairwise_pass"].all()


def test_pairwise_without_a_baseline_output_is_unscored(fake: FakeProvider) -> None:
    def base(request: ChatRequest) -> str:
        if last_user_text(request) == "tokyo":
            raise ProviderError("no", kind="bad_request")
        return "base"

    fake.script("base", base)
    script_judge("WINNER: 1")
    scorer = wb.scorers.pairwise("Better?", baseline="base", model="fake/judge")
    res = run(scorer, variants=[echo("base", model="fake/base"), echo("new")])
    new = res.df[res.df["variant"] == "new"].set_index("row_id")
    assert new.loc["r1", "pairwise_reason"] == "baseline 'base' has no output for this row"
    assert pd.isna(new.loc["r1", "pairwise_pass"])
    assert new.loc["r0", "pairwise"] == 0.5  # always "1": position bias, a tie
    assert fake.calls["judge"] == 2


# -- the embedded model as a judge ----------------------------------------------------------


@pytest.mark.local_model
def test_embedded_model_as_judge() -> None:
    res = run(wb.scorers.judge("The answer names {{ expected }}.", model="local/smollm2"))
    assert len(res.df) == 2
    for i in range(2):
        value, passed, reason = cell(res, i=i)
        if value is None:
            assert passed is None
            assert reason.startswith("judge reply not understood: ")
        else:
            assert value in (0.0, 1.0)
            assert passed is (value == 1.0)
            assert reason.split(":")[0] in ("PASS", "FAIL")
    assert res.df["scoring_cost_usd"].eq(0.0).all()


@pytest.mark.local_model
def test_embedded_model_as_pairwise_judge() -> None:
    shout = wb.Variant("shout", model="fake/upper", user="{{ question }}")
    scorer = wb.scorers.pairwise("Which names the city?", baseline="echo", model="local/smollm2")
    res = run(scorer, variants=[echo(), shout])
    base = res.df[res.df["variant"] == "echo"]
    assert (base["pairwise_reason"] == "baseline").all()
    for _, row in res.df[res.df["variant"] == "shout"].iterrows():
        if pd.isna(row["pairwise"]):
            assert row["pairwise_reason"].startswith("judge reply not understood: ")
        else:  # a real verdict from the tiny model, both orders asked
            assert row["pairwise"] in (0.0, 0.5, 1.0)
            assert "both orders" in row["pairwise_reason"] or "order" in row["pairwise_reason"]


def test_pairwise_with_an_unknown_baseline_fails_before_any_call() -> None:
    scorer = wb.scorers.pairwise("Which is better?", baseline="terse", model="fake/judge")
    with pytest.raises(
        ScorerError, match="baseline 'terse', which is not a variant; variants: echo"
    ):
        wb.Experiment("pw", dataset(), [echo()], scorers=[scorer])
