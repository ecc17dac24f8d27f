"""From results to trustworthy statements: reducers over repeats, per-variant summaries with
Wilson intervals, paired comparisons and their verdicts, Holm-adjusted leaderboards, agreement
with human labels, and the CLI report."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fakes import current_fake

import workbench as wb
from workbench.analysis import (
    cohen_kappa,
    confusion_table,
    holm,
    mcnemar_exact,
    mcnemar_interval,
    required_sample_size_paired,
    sign_flip,
    wilson_interval,
)
from workbench.cli import main
from workbench.engine.progress import NullProgress
from workbench.errors import ProviderError, ScorerError, WorkbenchError
from workbench.providers import ChatRequest, Response
from workbench.providers.fake import FakeProvider, last_user_text
from workbench.scoring.base import Score, ScoreContext, Scorer
from workbench.scoring.reducers import DEFAULT_REDUCER, Reducer, get_reducer

QUIET = NullProgress()
YES = wb.scorers.contains("yes", name="ok")


def rows(n: int, **extra: Sequence[Any]) -> wb.Dataset:
    return wb.Dataset(
        pd.DataFrame({"id": [f"r{i}" for i in range(n)], "q": [f"q{i}" for i in range(n)], **extra})
    )


def scripted(name: str, passing: Callable[[int, int], bool]) -> wb.Variant:
    """fake/<name> answers 'yes' for row i, repeat r when passing(i, r), else 'no'."""
    current_fake().script(
        name, lambda r: "yes" if passing(int(last_user_text(r)[1:]), r.repeat) else "no"
    )
    return wb.Variant(name, model=f"fake/{name}", user="{{ q }}")


def said(request: ChatRequest, text: str) -> bool:
    """Whether the judge prompt's RESPONSE section is ``text``."""
    return last_user_text(request).endswith(f"RESPONSE:\n{text}")


def run(
    variants: list[wb.Variant],
    ds: wb.Dataset,
    scorers: Sequence[Scorer] = (YES,),
    repeats: int = 1,
    **kw: Any,
) -> wb.Results:
    return wb.Experiment("stats", ds, variants, list(scorers), repeats=repeats, **kw).run(
        progress=QUIET
    )


# -- reducers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "n", "c", "value", "passed"),
    [
        ("majority", 3, 2, 2 / 3, True),
        ("majority", 4, 2, 0.5, False),
        ("majority", 1, 1, 1.0, True),
        ("majority", 1, 0, 0.0, False),
        ("mean", 4, 3, 0.75, None),
        ("mean", 2, 0, 0.0, None),
        ("at_least(2)", 3, 2, 2 / 3, True),
        ("at_least(2)", 3, 1, 1 / 3, False),
        ("at_least(7)", 10, 7, 0.7, True),
        ("pass_at_k(2)", 4, 1, 0.5, None),  # 1 - C(3,2)/C(4,2) = 1 - 3/6
        ("pass_at_k(2)", 4, 0, 0.0, None),
        ("pass_at_k(2)", 4, 3, 1.0, None),  # C(1,2) = 0
        ("pass_at_k(1)", 5, 2, 0.4, None),
        ("pass_at_k(3)", 3, 1, 1.0, True),  # k == n: a verdict
        ("pass_at_k(3)", 3, 0, 0.0, False),
        ("pass_hat_k(2)", 4, 3, 0.5, None),  # C(3,2)/C(4,2) = 3/6
        ("pass_hat_k(2)", 4, 1, 0.0, None),
        ("pass_hat_k(2)", 5, 4, 0.6, None),  # 6/10
        ("pass_hat_k(3)", 3, 3, 1.0, True),
        ("pass_hat_k(3)", 3, 2, 0.0, False),
    ],
)
def test_reducer_values(spec: str, n: int, c: int, value: float, passed: bool | None) -> None:
    got_value, got_passed = get_reducer(spec)(n, c)
    assert got_value == pytest.approx(value)
    assert got_passed is passed


def brute(n: int, c: int, k: int, rule: Callable[[Sequence[bool]], bool]) -> float:
    outcomes = [True] * c + [False] * (n - c)
    subsets = list(combinations(outcomes, k))
    return sum(rule(s) for s in subsets) / len(subsets)


@pytest.mark.parametrize("k", [1, 2, 3, 4])
@pytest.mark.parametrize("n", [4, 5, 7])
def test_pass_at_k_and_pass_hat_k_match_enumeration(n: int, k: int) -> None:
    for c in range(n + 1):
        assert wb.scorers.pass_at_k(k)(n, c)[0] == pytest.approx(brute(n, c, k, any))
        assert wb.scorers.pass_hat_k(k)(n, c)[0] == pytest.approx(brute(n, c, k, all))


@pytest.mark.parametrize("spec", ["pass_at_k(5)", "pass_hat_k(5)"])
def test_too_few_repeats_give_nan(spec: str) -> None:
    value, passed = get_reducer(spec)(3, 2)
    assert math.isnan(value)
    assert passed is None


def test_get_reducer_parsing() -> None:
    assert get_reducer(None) is DEFAULT_REDUCER
    assert str(get_reducer(None)) == "majority"
    assert get_reducer("mean").name == "mean"
    assert get_reducer(" at_least( 7 ) ").name == "at_least(7)"
    assert get_reducer("pass_at_k(3)").min_repeats == 3
    assert get_reducer("pass_hat_k(2)").name == "pass_hat_k(2)"
    mine = Reducer("mine", lambda n, c: (1.0, True))
    assert get_reducer(mine) is mine
    assert str(wb.scorers.at_least(2)) == "at_least(2)"


@pytest.mark.parametrize("spec", ["best", "pass_at_k", "at_most(2)", "pass_at_k(x)", "median"])
def test_unknown_reducer_lists_known(spec: str) -> None:
    with pytest.raises(
        ScorerError,
        match=re.escape(
            f"Unknown reducer {spec!r}; use one of majority, mean, at_least(k), pass_at_k(k), "
            "pass_hat_k(k)."
        ),
    ):
        get_reducer(spec)


@pytest.mark.parametrize("bad", [0, -1, True, 2.0, "3"])
def test_bad_k(bad: Any) -> None:
    with pytest.raises(ScorerError, match="k must be a whole number >= 1"):
        wb.scorers.pass_at_k(bad)
    with pytest.raises(ScorerError, match="k must be a whole number >= 1"):
        wb.scorers.at_least(bad)


def test_at_least_zero_in_a_spec_is_refused() -> None:
    with pytest.raises(ScorerError, match="k must be a whole number >= 1, got 0"):
        get_reducer("at_least(0)")


# -- summary --------------------------------------------------------------------------------

# Row i, repeat r -> pass? (q3 fails its calls: errors count as failures.)
PATTERN = {0: [1, 1, 1], 1: [1, 0, 1], 2: [0, 0, 1], 3: [1, 1, 1]}


def mixed_variant() -> wb.Variant:
    def reply(request: ChatRequest) -> Response:
        i = int(last_user_text(request)[1:])
        if i == 3:
            raise ProviderError("refused", kind="bad_request")
        text = "yes" if PATTERN[i][request.repeat] else f"no {request.repeat}"
        if i == 0:
            text = "yes"  # identical outputs across repeats: a stable row
        return Response(text, 3, 1, "stop", latency_ms=10.0 * (1 + i * 3 + request.repeat))

    current_fake().script("mixed", reply)
    return wb.Variant("mixed", model="fake/mixed", user="{{ q }}")


def test_summary_wilson_errors_stability_latency() -> None:
    res = run([mixed_variant()], rows(4), repeats=3)
    s = res.summary().iloc[0]
    # majority per row: q0 3/3 pass, q1 2/3 pass, q2 1/3 fail, q3 errors (fail) -> 2 of 4 rows.
    by_row = res.by_row()
    assert by_row["n"].tolist() == [3, 3, 3, 3]
    assert by_row["passes"].tolist() == [3, 2, 1, 0]
    assert by_row["row_pass"].tolist() == [True, True, False, False]
    assert s["reducer"] == "majority"
    assert (s["rows"], s["n"], s["errors"], s["not_run"]) == (4, 12, 3, 0)
    assert s["ok_pass_rate"] == 0.5
    assert (s["ok_pass_low"], s["ok_pass_high"]) == pytest.approx(wilson_interval(2, 4))
    # the mean score averages row means of the values; a failed call has no value
    assert s["ok_mean"] == pytest.approx((1 + 2 / 3 + 1 / 3) / 3)
    # stability: of the rows with successful repeats, only q0 gave one output
    assert s["stability"] == pytest.approx(1 / 3)
    latencies = [10.0 * (1 + i * 3 + r) for i in range(3) for r in range(3)]
    assert s["latency_p50_ms"] == pytest.approx(np.percentile(latencies, 50))
    assert s["latency_p95_ms"] == pytest.approx(np.percentile(latencies, 95))
    assert s["latency_mean_ms"] == pytest.approx(np.mean(latencies))


@pytest.mark.parametrize(
    ("reducer", "passes"),
    [("at_least(1)", 3), ("at_least(3)", 1), ("pass_hat_k(3)", 1), ("pass_at_k(3)", 3)],
)
def test_summary_reducer_is_stated_and_used(reducer: str, passes: int) -> None:
    res = run([mixed_variant()], rows(4), repeats=3)
    s = res.summary(reducer)
    assert s["reducer"].tolist() == [reducer]
    assert s.attrs["reducer"] == reducer
    assert s.iloc[0]["ok_pass_rate"] == passes / 4
    assert (s.iloc[0]["ok_pass_low"], s.iloc[0]["ok_pass_high"]) == pytest.approx(
        wilson_interval(passes, 4)
    )


def test_probability_reducer_averages_row_values() -> None:
    res = run([mixed_variant()], rows(4), repeats=3)
    s = res.summary("pass_at_k(2)").iloc[0]
    # per row 1 - C(n-c, 2)/C(3, 2): c=3 -> 1, c=2 -> 1, c=1 -> 2/3, c=0 -> 0
    assert s["ok_pass_rate"] == pytest.approx((1 + 1 + 2 / 3 + 0) / 4)
    assert s["ok_pass_low"] <= s["ok_pass_rate"] <= s["ok_pass_high"]
    assert s["reducer"] == "pass_at_k(2)"


def test_pass_at_k_needs_enough_repeats() -> None:
    res = run([mixed_variant()], rows(4), repeats=3)
    with pytest.raises(
        WorkbenchError,
        match=re.escape(
            "Reducer pass_at_k(5) needs at least 5 scored repeats per row; this run has at most 3"
        ),
    ):
        res.summary("pass_at_k(5)")
    with pytest.raises(WorkbenchError, match="needs at least 5"):
        res.leaderboard(reducer="pass_at_k(5)")


def test_stability_is_none_with_one_repeat() -> None:
    res = run([mixed_variant()], rows(3))
    assert res.summary().iloc[0]["stability"] is None


def test_not_run_cells_are_excluded_but_errors_count() -> None:
    wb.models.register("fake/mixed", input_per_1m=1.0, output_per_1m=1.0)
    run([mixed_variant()], rows(2), repeats=3)  # q0, q1 cached
    res = run([mixed_variant()], rows(4), repeats=3, budget_usd=0.0)
    assert res.status == "budget"
    s = res.summary().iloc[0]
    assert (s["rows"], s["n"], s["not_run"], s["errors"], s["cached"]) == (4, 12, 6, 0, 6)
    assert s["ok_pass_rate"] == 1.0  # q0 and q1 pass; q2, q3 never ran
    assert (s["ok_pass_low"], s["ok_pass_high"]) == pytest.approx(wilson_interval(2, 2))
    not_run = res.by_row()
    assert not_run["row_id"].tolist() == ["r0", "r1"]


def test_summary_with_nothing_scored_is_empty_not_an_error() -> None:
    unscored = wb.scorers.custom(lambda o, r: Score(None, None, "cannot tell"), name="unsure")
    s = run([mixed_variant()], rows(3), scorers=[unscored]).summary().iloc[0]
    assert s["unsure_pass_rate"] is None
    assert math.isnan(s["unsure_pass_low"]) and math.isnan(s["unsure_pass_high"])


# -- compare and verdict --------------------------------------------------------------------


def test_clearly_better_variant() -> None:
    a = scripted("weak", lambda i, r: i < 10)
    b = scripted("strong", lambda i, r: i < 25)
    res = run([a, b], rows(30))
    c = res.compare("weak", "strong")
    assert (c.a, c.b, c.scorer, c.reducer) == ("weak", "strong", "ok", "majority")
    assert (c.n, c.binary) == (30, True)
    assert (c.wins, c.ties, c.losses) == (15, 15, 0)
    assert c.test == "McNemar exact"
    x = np.array([i < 10 for i in range(30)])
    y = np.array([i < 25 for i in range(30)])
    assert c.p_value == mcnemar_exact(x, y).p_value == 2 / 2**15
    interval = mcnemar_interval(0, 15, 30)  # b: weak passed, strong failed; c: the reverse
    assert (c.ci_low, c.ci_high) == (interval.low, interval.high)
    assert 0 < c.ci_low < 0.5 < c.ci_high
    assert (c.a_value, c.b_value, c.diff) == pytest.approx((1 / 3, 25 / 30, 0.5))
    assert c.significant and c.confidence == 0.95
    text = str(c)
    assert text == (
        f"strong is better than weak on ok: pass rate 83% vs 33% (+50 points, 95% CI "
        f"{c.ci_low * 100:+.0f} to {c.ci_high * 100:+.0f}; Tango's score interval), McNemar "
        f"exact p=6.1e-05, n=30 rows: 15 better, 15 same, 0 worse."
    )
    # the other way round names the same winner
    assert str(res.compare("strong", "weak")).startswith("strong is better than weak on ok:")
    verdict = str(res.verdict())
    assert verdict.startswith(
        "Overall (rests on ok, the only scorer): strong is the best on ok: it beats weak."
    )
    assert "Holm" not in verdict


def test_identical_variants_no_difference_and_rows_needed() -> None:
    a = scripted("same", lambda i, r: i % 3 == 0)
    b = a.replace(name="copy")
    res = run([a, b], rows(30))
    c = res.compare("same", "copy")
    assert (c.wins, c.ties, c.losses, c.p_value, c.diff) == (0, 30, 0, 1.0, 0.0)
    assert not c.significant
    need = required_sample_size_paired(0.2, 0.1)
    assert c.rows_needed == need
    assert str(c) == (
        "No significant difference between copy and same on ok at n=30: pass rate 33% vs 33% "
        f"(+0 points, 95% CI {c.ci_low * 100:+.0f} to {c.ci_high * 100:+.0f}; Tango's score "
        "interval), McNemar exact p=1, n=30 rows: 0 better, 30 same, 0 worse. About "
        f"{need} rows would be needed to detect a difference of 10 points (80% power at 5%, if "
        "20% of rows disagree (none here))."
    )
    assert c.ci_low < 0 < c.ci_high  # no row disagrees, yet 30 rows leave a width
    verdict = str(res.verdict())
    assert verdict.startswith(
        "Overall (rests on ok, the only scorer): same and copy are tied on ok (33% each): no "
        "significant difference."
    )
    assert "leads" not in verdict and "is the best" not in verdict


def test_small_real_difference_is_not_crowned() -> None:
    a = scripted("a", lambda i, r: i < 12)
    b = scripted("b", lambda i, r: i < 15)
    res = run([a, b], rows(30))
    c = res.compare("a", "b")
    assert (c.wins, c.ties, c.losses) == (3, 27, 0)
    assert c.p_value == pytest.approx(0.25)
    observed = 3 / 30
    assert c.rows_needed == required_sample_size_paired(observed, observed)
    assert (
        f"About {c.rows_needed} rows would be needed to detect a difference of 10 points (80% "
        "power at 5%, if 10% of rows disagree as here)." in str(c)
    )
    assert res.verdict().overall.endswith("b and a are tied on ok: no significant difference.")


def values_scorer() -> Scorer:
    """A continuous score, no pass/fail: 'v0.25' scores 0.25."""
    return wb.scorers.custom(lambda o, r: float(o.split("v")[1]), name="quality")


def test_continuous_scorer_uses_the_permutation_test(fake: FakeProvider) -> None:
    lo = [0.1, 0.3, 0.2, 0.5, 0.4, 0.2, 0.6, 0.3, 0.1, 0.2, 0.4, 0.3]
    hi = [0.5, 0.4, 0.9, 0.6, 0.8, 0.7, 0.65, 0.85, 0.3, 0.55, 0.45, 0.95]
    fake.script("lo", lambda r: f"v{lo[int(last_user_text(r)[1:])]}")
    fake.script("hi", lambda r: f"v{hi[int(last_user_text(r)[1:])]}")
    variants = [wb.Variant(n, model=f"fake/{n}", user="{{ q }}") for n in ("lo", "hi")]
    res = run(variants, rows(12), scorers=[values_scorer()])
    c = res.compare("lo", "hi")
    assert (c.test, c.binary, c.n) == ("paired permutation (sign-flip)", False, 12)
    flips = sign_flip(lo, hi)
    assert flips.exact and c.p_value == flips.p_value() == 2 / 2**12
    assert (c.ci_low, c.ci_high) == flips.interval(0.95)
    assert 0 < c.ci_low < c.diff < c.ci_high
    assert (c.wins, c.ties, c.losses) == (12, 0, 0)
    assert c.diff == pytest.approx(np.mean(hi) - np.mean(lo))
    assert str(c).startswith(f"hi is better than lo on quality: mean quality {np.mean(hi):.3g} vs ")
    s = res.summary().set_index("variant")
    assert s.loc["hi", "quality_mean"] == pytest.approx(np.mean(hi))
    assert s.loc["lo", "quality_pass_rate"] == pytest.approx(np.mean(lo))
    assert res.leaderboard()["variant"].tolist() == ["hi", "lo"]


def test_judge_scale_with_mean_reducer_uses_the_permutation_test(fake: FakeProvider) -> None:
    fake.script("judge", lambda r: "GRADE: 5" if said(r, "good") else "GRADE: 2")
    fake.script("meh", lambda r: "meh")
    fake.script("good", lambda r: "good" if r.repeat or int(last_user_text(r)[1:]) % 2 else "meh")
    judge = wb.scorers.judge("Is it good?", model="fake/judge", scale="1-5")
    variants = [wb.Variant(n, model=f"fake/{n}", user="{{ q }}") for n in ("meh", "good")]
    res = run(variants, rows(10), scorers=[judge], repeats=2)
    c = res.compare("meh", "good", reducer="mean")
    assert (c.test, c.binary, c.reducer) == ("paired permutation (sign-flip)", False, "mean")
    # good passes both repeats on odd rows, one of two on even rows; meh never passes
    assert c.b_value == pytest.approx(0.75)
    assert c.a_value == 0.0
    assert c.p_value == sign_flip([0.0] * 10, [0.5, 1.0] * 5).p_value() == 2 / 2**10
    majority = res.compare("meh", "good")
    assert (majority.test, majority.reducer) == ("McNemar exact", "majority")


def test_no_common_scored_rows() -> None:
    def only_a(output: str, row: Any, ctx: ScoreContext) -> Score:
        return Score(1.0, True) if ctx.variant == "a" else Score(None, None, "skipped")

    variants = [wb.Variant(n, model="fake/echo", user="{{ q }} " + n) for n in ("a", "b")]
    res = run(variants, rows(5), scorers=[wb.scorers.custom(only_a, name="only")])
    c = res.compare("a", "b")
    assert (c.n, c.wins, c.ties, c.losses, c.significant) == (0, 0, 0, 0, False)
    assert str(c) == "No rows where both a and b were scored by only: nothing to compare."


def test_compare_unknown_names() -> None:
    res = run([scripted("a", lambda i, r: True)], rows(2))
    with pytest.raises(
        WorkbenchError, match=r"No variant 'zz' in these results; variants: \['a'\]"
    ):
        res.compare("a", "zz")
    with pytest.raises(WorkbenchError, match=r"No scorer 'zz' in these results"):
        res.compare("a", "a", scorer="zz")


def test_three_variants_holm_adjusted_leaderboard() -> None:
    top = scripted("top", lambda i, r: i < 25)
    close = scripted("close", lambda i, r: i < 22)
    low = scripted("low", lambda i, r: i < 8)
    res = run([low, close, top], rows(30))
    board = res.leaderboard()
    assert board["variant"].tolist() == ["top", "close", "low"]
    assert board["rank"].tolist() == [1, 2, 3]
    # Every pair the verdict compares is in one Holm family: top-close, top-low, close-low.
    raw = [
        res.compare(*pair).p_value for pair in (("close", "top"), ("low", "top"), ("low", "close"))
    ]
    adjusted = holm(raw)
    assert math.isnan(board["p_vs_best"].iloc[0])
    assert board["p_vs_best"].iloc[1:].tolist() == pytest.approx(adjusted[:2])
    assert board["p_vs_best"].iloc[2] == pytest.approx(3 * raw[1])  # smallest p times 3
    assert board["worse_than_best"].tolist() == [False, False, True]
    verdict = res.verdict()
    assert verdict.overall == (
        "Overall (rests on ok, the only scorer): top and close are tied for first on ok. "
        "top beats low; close beats low."
    )
    claims = {(c.winner, c.loser): c for c in verdict.claims}
    assert set(claims) == {("top", "low"), ("close", "low")}
    assert claims["close", "low"].p_adjusted == pytest.approx(adjusted[2])
    assert "is the best" not in str(verdict)


def test_three_variants_clear_winner() -> None:
    top = scripted("top", lambda i, r: i < 28)
    mid = scripted("mid", lambda i, r: i < 12)
    low = scripted("low", lambda i, r: i < 5)
    res = run([mid, low, top], rows(30))
    board = res.leaderboard()
    assert board["variant"].tolist() == ["top", "mid", "low"]
    raw = [res.compare(*pair).p_value for pair in (("mid", "top"), ("low", "top"), ("low", "mid"))]
    assert board["p_vs_best"].iloc[1:].tolist() == pytest.approx(holm(raw)[:2])
    assert board["worse_than_best"].tolist() == [False, True, True]
    assert res.verdict().overall == (
        "Overall (rests on ok, the only scorer): top is the best on ok: it beats mid and low."
    )


def test_three_tied_variants_crown_nobody() -> None:
    variants = [scripted(n, lambda i, r, k=k: i < 15 + k) for k, n in enumerate(("x", "y", "z"))]
    res = run(variants, rows(30))
    board = res.leaderboard()
    assert board["variant"].tolist() == ["z", "y", "x"]
    assert not board["worse_than_best"].any()
    verdict = res.verdict()
    assert verdict.overall.endswith(
        "z, y and x are tied on ok: no significant differences among them."
    )
    assert verdict.claims == []


# -- agreement with human labels ------------------------------------------------------------


def labelled(human: list[Any], judge_pass: list[bool]) -> wb.Results:
    current_fake().script("judge", lambda r: "PASS" if said(r, "yes") else "FAIL")
    current_fake().script(
        "ans", lambda r: "yes" if judge_pass[int(last_user_text(r)[1:])] else "no"
    )
    judge = wb.scorers.judge("Says yes?", model="fake/judge")
    variant = wb.Variant("v", model="fake/ans", user="{{ q }}")
    return run([variant], rows(len(human), human=human), scorers=[judge])


def test_agreement_on_pass() -> None:
    human = ["yes", "no", "👍", "yes", "no", "no", "Yes", None, "no"]
    judge = [True, False, True, False, True, False, True, True, False]
    res = labelled(human, judge)
    got = res.agreement("judge", "human")
    kept = [i for i, h in enumerate(human) if h is not None]
    h_bool = [str(human[i]).lower() in ("yes", "👍") for i in kept]
    j_bool = [judge[i] for i in kept]
    assert got.n == 8
    assert got.accuracy == pytest.approx(6 / 8)
    assert got.kappa == pytest.approx(cohen_kappa(h_bool, j_bool))
    pd.testing.assert_frame_equal(got.confusion, confusion_table(h_bool, j_bool))
    assert got.confusion.loc[True, False] == 1  # human yes, judge fail
    assert got.confusion.loc[False, True] == 1  # human no, judge pass


def test_agreement_on_value(fake: FakeProvider) -> None:
    fake.script("judge", lambda r: "GRADE: " + last_user_text(r).split("RESPONSE:\n")[1])
    fake.script("ans", lambda r: "5" if int(last_user_text(r)[1:]) < 3 else "1")
    human = [1.0, 1.0, 0.0, 0.0, 1.0]
    judge = wb.scorers.judge("Rate it.", model="fake/judge", scale="1-5")
    res = run(
        [wb.Variant("v", model="fake/ans", user="{{ q }}")], rows(5, human=human), scorers=[judge]
    )
    got = res.agreement("judge", "human", on="value")
    values = [1.0, 1.0, 1.0, 0.0, 0.0]
    assert got.n == 5
    assert got.accuracy == pytest.approx(3 / 5)
    assert got.kappa == pytest.approx(cohen_kappa(human, values))


def test_agreement_errors() -> None:
    res = labelled(["yes", "no"], [True, False])
    with pytest.raises(WorkbenchError, match=r"No column 'labels' in res\.df; columns: \["):
        res.agreement("judge", "labels")
    with pytest.raises(WorkbenchError, match="on must be 'pass' or 'value', got 'score'"):
        res.agreement("judge", "human", on="score")
    with pytest.raises(WorkbenchError, match="No scorer 'nope'"):
        res.agreement("nope", "human")


# -- the CLI report -------------------------------------------------------------------------


def test_cli_run_with_a_judge_prints_verdict_and_leaderboard(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    fake: FakeProvider,
) -> None:
    (tmp_path / "qs.csv").write_text(
        "id,question,expected\n" + "".join(f"r{i},q{i},Paris\n" for i in range(4)),
        encoding="utf-8",
    )
    (tmp_path / "exp.yaml").write_text(
        """name: judged
dataset: qs.csv
variants:
  - name: echo
    model: fake/echo
    user: "{{ question }}"
  - name: paris
    model: fake/paris
    user: "{{ question }}"
scorers:
  - judge: {rubric: "The answer names {{ expected }}.", model: fake/judge}
""",
        encoding="utf-8",
    )
    fake.script("paris", "Paris")
    fake.script("judge", lambda r: "GRADE: PASS" if said(r, "Paris") else "GRADE: FAIL")
    code = main(["run", str(tmp_path / "exp.yaml"), "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code == 0
    assert "Leaderboard (repeats of a row reduced by majority):" in out
    header = next(line for line in out.splitlines() if "[95% CI]" in line)
    assert "judge [95% CI]" in header and "p vs best" in header
    lo, hi = wilson_interval(4, 4)
    assert f"100% [{lo:.0%}–{hi:.0%}]" in out
    assert "is the best" not in out  # 4 rows prove nothing
    assert (
        "Verdict: Overall (rests on judge, the only scorer): paris and echo are tied on judge: no "
        "significant difference." in out
    )
    assert fake.calls["judge"] == 8  # one per cell: every judge prompt differs
    saved = list((tmp_path / "out").glob("judged-*.csv"))
    assert len(saved) == 1
    df = pd.read_csv(saved[0])
    assert set(df["judge_reason"]) == {"PASS", "FAIL"}
