"""Verdicts a team can quote: every claim is a paired test of exactly the two variants it names,
Holm-adjusted across the verdict's comparisons, with the interval that belongs to that test; one
verdict per scorer; ties say tied; and every statistic checked against scipy / statsmodels or a
published worked example."""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.optimize
import scipy.special
import scipy.stats
from fakes import current_fake
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

import workbench as wb
from workbench.analysis import (
    Verdict,
    clopper_pearson,
    holm_steps,
    mcnemar_exact,
    mcnemar_interval,
    paired_bootstrap,
    sign_flip,
    tango_interval,
    tango_test,
)
from workbench.analysis.gate import min_rate, noninferiority_binary, noninferiority_values
from workbench.analysis.proportions import betainc, conditional_interval, tango_z
from workbench.analysis.sequential import obrien_fleming_spent, schedule, spent_per_look
from workbench.engine.progress import NullProgress
from workbench.providers.fake import last_user_text
from workbench.scoring.base import Scorer

EXACT = 1e-9
OK = wb.scorers.contains("yes", name="ok")


def rows(n: int) -> wb.Dataset:
    return wb.Dataset(
        pd.DataFrame({"id": [f"r{i}" for i in range(n)], "q": [f"q{i}" for i in range(n)]})
    )


def variant(name: str, reply: Callable[[int], str]) -> wb.Variant:
    """fake/<name> answers reply(i) on row i."""
    current_fake().script(name, lambda r: reply(int(last_user_text(r)[1:])))
    return wb.Variant(name, model=f"fake/{name}", user="{{ q }}")


def passing(name: str, rows_passing: Callable[[int], bool]) -> wb.Variant:
    return variant(name, lambda i: "yes" if rows_passing(i) else "no")


def run(variants: list[wb.Variant], n: int, scorers: Sequence[Scorer] = (OK,)) -> wb.Results:
    exp = wb.Experiment("verdicts", rows(n), variants, list(scorers))
    return exp.run(progress=NullProgress())


# -- the verdict's claims --------------------------------------------------------------------


def test_the_leader_beats_c_b_ties_both_and_no_claim_is_transitive() -> None:
    """A beats C (12 disagreeing rows, all A's); B differs from each on 6 rows (raw p=0.031,
    but not after Holm across the verdict's three comparisons)."""
    a = passing("A", lambda i: i < 30)
    b = passing("B", lambda i: i < 24)
    c = passing("C", lambda i: i < 18)
    res = run([c, b, a], 40)
    verdict = res.verdict()
    ok = verdict["ok"]
    assert ok.variants == ["A", "B", "C"]
    assert [(x.winner, x.loser) for x in verdict.claims] == [("A", "C")]
    assert ok.beats("A", "C") and not ok.beats("B", "C") and not ok.beats("A", "B")
    assert verdict.overall == (
        "Overall (rests on ok, the only scorer): A and B are tied for first on ok. A beats C."
    )
    text = str(verdict)
    assert "B beats C" not in text and "they beat" not in text
    assert (
        "C vs B: no significant difference" in text or "B vs C: no significant difference" in text
    )
    # Each claim is the paired test of exactly its two variants, adjusted across all three.
    raw = {pair: res.compare(*pair).p_value for pair in (("B", "A"), ("C", "A"), ("C", "B"))}
    assert raw["C", "B"] == pytest.approx(0.03125) and raw["B", "A"] == pytest.approx(0.03125)
    adjusted = multipletests(list(raw.values()), method="holm")[1]
    for (x, y), p, p_adj in zip(raw, raw.values(), adjusted, strict=True):
        claim = ok.comparison(x, y)
        assert claim is not None and claim.family == 3
        assert claim.p_value == pytest.approx(p, abs=EXACT)
        assert claim.p_adjusted == pytest.approx(p_adj, abs=EXACT)
        assert claim.significant == (p_adj < 0.05)
        assert claim.n == 40
    # The interval of each claim belongs to its Holm step: A-C at 98.33%, the rest at 97.5%.
    ac = ok.comparison("A", "C")
    assert ac is not None and ac.confidence == pytest.approx(1 - 0.05 / 3)
    assert (ac.ci_low, ac.ci_high) == pytest.approx(
        (
            mcnemar_interval(0, 12, 40, 1 - 0.05 / 3).low,
            mcnemar_interval(0, 12, 40, 1 - 0.05 / 3).high,
        )
    )
    for claim in ok.comparisons:
        assert claim.significant == (not claim.ci_low <= 0 <= claim.ci_high)
    # The leaderboard says the same: only C is worse than the leader.
    board = res.leaderboard()
    assert board["worse_than_best"].tolist() == [False, False, True]


def test_two_scorers_disagree_and_each_gets_its_verdict() -> None:
    terse = wb.scorers.regex("^no", name="terse")
    a = variant("A", lambda i: "yes")
    b = variant("B", lambda i: "no")
    res = run([a, b], 20, scorers=[OK, terse])
    verdict = res.verdict()
    assert [v.scorer for v in verdict.scorers] == ["ok", "terse"]
    assert verdict.primary == "ok"
    assert verdict["ok"].best == "A" and verdict["terse"].best == "B"
    assert verdict.overall == (
        "Overall (rests on ok, the first of 2 scorers): A is the best on ok: it beats B. The "
        "scorers disagree: on ok A beats B, on terse B beats A."
    )
    text = str(verdict)
    assert (
        "terse (pass rate; repeats reduced by majority; 1 paired comparison): B is the best" in text
    )
    # Asking for the other scorer moves the overall line, and says why.
    assert res.verdict("terse").overall.startswith(
        "Overall (rests on terse, the scorer asked for): B is the best on terse"
    )


def test_a_tie_says_tied() -> None:
    a = passing("echo", lambda i: i not in (3, 11))
    b = passing("other", lambda i: i not in (4, 12))
    res = run([a, b], 25)  # 92% each, on different rows
    verdict = res.verdict()
    assert verdict.overall.endswith(
        "echo and other are tied on ok (92% each): no significant difference."
    )
    assert "leads" not in str(verdict)
    (claim,) = verdict["ok"].comparisons
    assert not claim.significant and claim.rows_needed is not None
    assert f"About {claim.rows_needed} rows would be needed" in str(verdict)
    assert "(80% power at 5%, if 16% of rows disagree as here)" in str(verdict)


def test_small_n_the_shown_interval_agrees_with_the_shown_test() -> None:
    """4 rows of 10 disagree, all in B's favour: the bootstrap interval excludes 0, McNemar's
    exact test (p=0.125) does not reject, and the interval shown is the test's own."""
    a = passing("a", lambda i: i < 6)
    b = passing("b", lambda i: True)
    res = run([a, b], 10)
    c = res.compare("a", "b")
    x, y = np.arange(10) < 6, np.ones(10, bool)
    boot = paired_bootstrap(x.astype(float), y.astype(float))
    assert boot.ci_low > 0  # the bootstrap alone would read as significant
    assert c.p_value == pytest.approx(0.125, abs=EXACT) and not c.significant
    assert c.ci_low <= 0 <= c.ci_high
    assert c.ci_low == 0.0  # Tango's interval widened to 0: the exact test does not reject
    assert "widened to 0 as the exact test is not significant" in str(c)
    assert str(c).startswith("No significant difference between b and a on ok at n=10")


def test_score_comparisons_use_the_permutation_test_and_its_interval() -> None:
    quality = wb.scorers.custom(lambda o, r: float(o), name="quality")
    lo = [0.2, 0.4, 0.3, 0.5, 0.1, 0.3]
    hi = [0.5, 0.6, 0.4, 0.8, 0.3, 0.4]
    res = run(
        [variant("lo", lambda i: str(lo[i])), variant("hi", lambda i: str(hi[i]))], 6, [quality]
    )
    c = res.compare("lo", "hi")
    # 6 rows, all better: exact permutation p = 2/64 (a bootstrap would say p=0).
    assert c.p_value == pytest.approx(2 / 64, abs=EXACT) and c.significant
    assert c.ci_low > 0 and c.diff < c.ci_high
    assert "by inverting the permutation test" in str(c)


def test_the_verdict_is_data_first() -> None:
    res = run([passing("a", lambda i: i < 5), passing("b", lambda i: i < 25)], 30)
    verdict = res.verdict()
    assert isinstance(verdict, Verdict)
    data = json.loads(json.dumps(verdict.to_dict()))
    (claim,) = data["scorers"][0]["comparisons"]
    assert {"a", "b", "scorer", "test", "n", "diff", "ci_low", "ci_high", "p_adjusted"} <= set(
        claim
    )
    assert (claim["winner"], claim["test"], claim["n"]) == ("b", "McNemar exact", 30)
    html = verdict._repr_html_()
    assert "<table>" in html and "b beats a" in html
    assert repr(verdict).startswith("<Verdict on ['ok']: Overall")


def test_the_export_keeps_the_verdict(tmp_path: Any) -> None:
    res = run([passing("a", lambda i: i < 5), passing("b", lambda i: i < 25)], 30)
    p = res.export("b", name="x", to=tmp_path / "prompts")
    assert p.eval["verdict"]["overall"] == str(res.verdict().overall)
    assert p.eval["comparison"]["confidence"] == 0.95
    assert p.eval["comparison"]["interval"] == "Tango's score interval"


# -- statistics against scipy / statsmodels / published examples -----------------------------


def test_clopper_pearson_matches_statsmodels() -> None:
    for n in (1, 2, 7, 30, 250, 4000):
        for k in sorted({0, 1, n // 3, n // 2, n - 1, n}):
            for conf in (0.95, 0.99, 1 - 0.05 / 3, 0.9999):
                expected = proportion_confint(k, n, alpha=1 - conf, method="beta")
                assert clopper_pearson(k, n, conf) == pytest.approx(expected, abs=EXACT)


def test_betainc_matches_scipy() -> None:
    rng = np.random.default_rng(7)
    for a, b, x in zip(
        rng.uniform(0.5, 500, 300), rng.uniform(0.5, 500, 300), rng.uniform(0, 1, 300), strict=True
    ):
        assert betainc(a, b, x) == pytest.approx(scipy.special.betainc(a, b, x), abs=1e-12)


def test_mcnemar_matches_statsmodels_and_the_interval_inverts_it() -> None:
    for n in range(1, 25):
        for b, c in itertools.product(range(n + 1), repeat=2):
            if b + c > n:
                continue
            x = [True] * b + [False] * c + [True] * (n - b - c)
            y = [False] * b + [True] * c + [True] * (n - b - c)
            p = mcnemar_exact(x, y).p_value
            expected = mcnemar([[n - b - c, b], [c, 0]], exact=True).pvalue
            assert p == pytest.approx(expected, abs=EXACT)
            for conf in (0.95, 0.975, 1 - 0.05 / 6):
                iv = mcnemar_interval(b, c, n, conf)
                assert (p < 1 - conf) == (not iv.low <= 0 <= iv.high), (b, c, n, conf)


def test_tango_matches_the_published_example() -> None:
    """Fagerland, Lydersen & Laake (2017), Cavo et al. (2012): 6 and 16 discordant pairs of 161;
    Tango's 95% interval -0.1240 to -0.0054; the asymptotic McNemar test P = 0.033006."""
    low, high = tango_interval(16, 6, 161)
    assert (round(low, 4), round(high, 4)) == (-0.1240, -0.0054)
    t = tango_test(16, 6, 161)
    assert round(2 * min(t.p_less, t.p_greater), 6) == 0.033006
    # At 0 Tango's statistic is McNemar's: statsmodels' chi-square without continuity correction.
    chi2 = mcnemar([[59, 6], [16, 80]], exact=False, correction=False).statistic
    assert tango_z(16, 6, 161, 0.0) ** 2 == pytest.approx(chi2, abs=EXACT)


def _tango_by_optimizer(b: int, c: int, n: int, delta: float) -> float:
    """Tango's statistic with the restricted MLE found numerically (an independent check)."""

    def loglik(q: float) -> float:
        p10, p01 = q, q + delta
        rest = 1 - p10 - p01
        terms = [(b, p10), (c, p01), (n - b - c, rest)]
        return -sum(k * math.log(p) for k, p in terms if k)

    lo, hi = max(0.0, -delta) + 1e-15, (1 - delta) / 2 - 1e-15
    q = scipy.optimize.minimize_scalar(
        loglik, bounds=(lo, hi), method="bounded", options={"xatol": 1e-13}
    ).x
    return (c - b - n * delta) / math.sqrt(n * (2 * q + delta * (1 - delta)))


@pytest.mark.parametrize(
    ("b", "c", "n"), [(3, 9, 40), (10, 2, 25), (5, 5, 60), (0, 7, 30), (12, 0, 40)]
)
def test_tango_interval_is_where_its_test_stops_rejecting(b: int, c: int, n: int) -> None:
    low, high = tango_interval(b, c, n)
    z = scipy.stats.norm.ppf(0.975)
    for bound, target in ((low, z), (high, -z)):
        if abs(bound) < 1:
            assert _tango_by_optimizer(b, c, n, bound) == pytest.approx(target, abs=1e-5)
    for delta in np.linspace(-0.9, 0.9, 19):
        assert tango_z(b, c, n, delta) == pytest.approx(
            _tango_by_optimizer(b, c, n, delta), abs=1e-5
        )


def test_conditional_interval_is_clopper_pearson_scaled() -> None:
    low, high = conditional_interval(3, 9, 40)
    cp = proportion_confint(9, 12, alpha=0.05, method="beta")
    assert (low, high) == pytest.approx((0.3 * (2 * cp[0] - 1), 0.3 * (2 * cp[1] - 1)), abs=EXACT)


def test_sign_flip_matches_scipy_and_its_interval_inverts_it() -> None:
    rng = np.random.default_rng(11)
    for n in (2, 5, 9, 14):
        for _ in range(5):
            x = rng.integers(0, 5, n) / 4
            y = np.clip(x + rng.integers(-2, 3, n) / 4, 0, 1)
            flips = sign_flip(x, y)
            expected = scipy.stats.permutation_test(
                (x, y),
                lambda a, b, axis=-1: np.mean(b - a, axis=axis),
                permutation_type="samples",
                n_resamples=10**6,
            ).pvalue
            assert flips.exact and flips.p_value() == pytest.approx(expected, abs=EXACT)
            for conf in (0.9, 0.95, 0.99):
                low, high = flips.interval(conf)
                assert (flips.p_value() < 1 - conf) == (not low <= 0 <= high)
                for theta in (low, high):  # the bounds are where the test changes its mind
                    if math.isfinite(theta):
                        assert flips.p_value(theta) >= 1 - conf


def test_holm_steps_match_statsmodels() -> None:
    rng = np.random.default_rng(3)
    for m in (1, 2, 3, 6, 10):
        p = list(rng.uniform(0, 0.08, m))
        reject, adjusted, _, _ = multipletests(p, alpha=0.05, method="holm")
        steps = holm_steps(p)
        assert [s.p_adjusted for s in steps] == pytest.approx(list(adjusted), abs=1e-12)
        assert [s.rejected for s in steps] == list(reject)


def test_alpha_spending_is_obrien_fleming_type() -> None:
    z = scipy.stats.norm.ppf(0.975)
    for t in (0.25, 0.5, 0.75):
        assert obrien_fleming_spent(t) == pytest.approx(
            2 - 2 * scipy.stats.norm.cdf(z / math.sqrt(t)), abs=EXACT
        )
    assert sum(spent_per_look()) == pytest.approx(0.05, abs=1e-15)
    looks = schedule(10)
    assert [look.rows for look in looks] == [3, 5, 8, 10]
    assert sum(look.alpha for look in looks) == pytest.approx(0.05, abs=1e-15)


def test_gate_tests_match_scipy() -> None:
    test = min_rate(22, 30, 0.9)
    assert test.p_regression == pytest.approx(
        scipy.stats.binomtest(22, 30, 0.9, "less").pvalue, abs=EXACT
    )
    assert test.p_pass == pytest.approx(
        scipy.stats.binomtest(22, 30, 0.9, "greater").pvalue, abs=EXACT
    )
    assert test.decision == "regression" and test.ci_high < 0.9
    old = np.ones(50, bool)
    new = old.copy()
    new[:4] = False
    binary = noninferiority_binary(old, new, 0.1)
    z = tango_z(4, 0, 50, -0.1)
    assert binary.p_pass == pytest.approx(scipy.stats.norm.sf(z), abs=EXACT)
    assert binary.p_regression == pytest.approx(scipy.stats.norm.cdf(z), abs=EXACT)
    # The decision and the interval agree: pass exactly when the interval clears -margin.
    for worse in range(0, 20):
        for margin in (0.02, 0.05, 0.1, 0.2):
            new = old.copy()
            new[:worse] = False
            g = noninferiority_binary(old, new, margin)
            assert (g.decision == "pass") == (g.ci_low > -margin)
            assert (g.decision == "regression") == (g.ci_high < -margin)
    scores = noninferiority_values(np.full(12, 0.5), np.linspace(0.4, 0.7, 12), 0.05)
    assert scores.decision == "pass" and scores.ci_low > -0.05


def test_the_gate_errs_as_often_as_it_says() -> None:
    """Simulated reruns: right at the margin each wrong call happens about 2.5% of the time;
    with no true change, a regression is (almost) never called."""
    rng = np.random.default_rng(0)

    def rates(n: int, worse: float, better: float, runs: int = 400) -> tuple[float, float]:
        calls = {"regression": 0, "pass": 0, "inconclusive": 0}
        for _ in range(runs):
            u = rng.uniform(size=n)
            old = np.ones(n, bool)
            new = u >= worse
            flipped = (u >= worse) & (u < worse + better)
            old[flipped] = False
            calls[noninferiority_binary(old, new, 0.05).decision] += 1
        return calls["regression"] / runs, calls["pass"] / runs

    regression, passed = rates(200, 0.10, 0.05)  # true difference: exactly -5 points
    assert regression < 0.05 and passed < 0.05
    regression, _ = rates(50, 0.05, 0.05)  # no true change, 10% of rows flip either way
    assert regression < 0.01
