"""workbench.analysis against scipy / statsmodels (or a hand computation where they have none).

What the checks protect, in plain words: a pass-rate interval ("which true pass rates fit 41 of
50?"), whether B really beats A on the same rows (McNemar for pass/fail, Wilcoxon and a paired
bootstrap for numeric scores), Holm's correction when many variants are compared, judge-vs-human
agreement (kappa), and how many rows to run. Exact procedures must match the references to
1e-9; the edge cases (no rows, all pass, all fail, all ties, one row, thousands of rows) must
give sensible answers rather than NaN, overflow or a crash.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from workbench.analysis import (
    AgreementResult,
    McNemarResult,
    PairedBootstrapResult,
    WilcoxonResult,
    agreement,
    bootstrap_mean_interval,
    cohen_kappa,
    confusion_table,
    describe_latency,
    holm,
    mcnemar_exact,
    normal_quantile,
    paired_bootstrap,
    required_sample_size_means,
    required_sample_size_paired,
    wilcoxon_signed_rank,
    wilson_interval,
)

stats = pytest.importorskip("scipy.stats")
contingency_tables = pytest.importorskip("statsmodels.stats.contingency_tables")
inter_rater = pytest.importorskip("statsmodels.stats.inter_rater")
multitest = pytest.importorskip("statsmodels.stats.multitest")
proportion = pytest.importorskip("statsmodels.stats.proportion")
sm_power = pytest.importorskip("statsmodels.stats.power")


def pairs_from_counts(
    both: int, a_only: int, b_only: int, neither: int
) -> tuple[list[bool], list[bool]]:
    """Pass/fail columns for A and B with the given 2x2 counts (rows shuffled, deterministic)."""
    a = [True] * both + [True] * a_only + [False] * b_only + [False] * neither
    b = [True] * both + [False] * a_only + [True] * b_only + [False] * neither
    order = np.random.default_rng(7).permutation(len(a))
    return [a[i] for i in order], [b[i] for i in order]


# -- normal_quantile ----------------------------------------------------------------------------


def test_normal_quantile_matches_scipy_to_1e12_including_deep_tails() -> None:
    ps = np.concatenate(
        [
            np.linspace(1e-6, 1 - 1e-6, 20_001),
            np.logspace(-300, -1, 2_000),
            1 - np.logspace(-16, -1, 1_000),
            [0.5, 0.025, 0.975, 0.02425, 1 - 0.02425, np.nextafter(0.5, 0), np.nextafter(0.5, 1)],
        ]
    )
    ours = np.array([normal_quantile(float(p)) for p in ps])
    ref = stats.norm.ppf(ps)
    assert np.all(np.abs(ours - ref) <= 1e-12 * np.maximum(1.0, np.abs(ref)))
    assert normal_quantile(0.975) == pytest.approx(1.959963984540054, abs=1e-15)


def test_normal_quantile_endpoints_and_invalid() -> None:
    assert normal_quantile(0.0) == -math.inf
    assert normal_quantile(1.0) == math.inf
    assert normal_quantile(0.5) == 0.0
    for bad in (-0.1, 1.1, math.nan):
        with pytest.raises(ValueError, match="p must be in"):
            normal_quantile(bad)


# -- wilson_interval ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("successes", "n"),
    [(0, 1), (1, 1), (0, 50), (50, 50), (41, 50), (7, 13), (1, 2000), (1999, 2000), (500, 1000)],
)
@pytest.mark.parametrize("confidence", [0.8, 0.95, 0.99])
def test_wilson_matches_statsmodels(successes: int, n: int, confidence: float) -> None:
    low, high = wilson_interval(successes, n, confidence)
    ref_low, ref_high = proportion.proportion_confint(
        successes, n, alpha=1 - confidence, method="wilson"
    )
    assert low == pytest.approx(ref_low, abs=1e-9)
    assert high == pytest.approx(ref_high, abs=1e-9)
    assert isinstance(low, float)
    assert isinstance(high, float)


def test_wilson_edges() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)  # no rows: nothing is known
    low, high = wilson_interval(0, 20)  # all fail
    assert low == 0.0
    assert 0.1 < high < 0.2
    low, high = wilson_interval(20, 20)  # all pass
    assert high == 1.0
    assert 0.8 < low < 0.9
    assert wilson_interval(np.int64(3), np.int64(10)) == wilson_interval(3, 10)


def test_wilson_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="successes"):
        wilson_interval(6, 5)
    with pytest.raises(ValueError, match="successes"):
        wilson_interval(-1, 5)
    with pytest.raises(ValueError, match="confidence"):
        wilson_interval(1, 5, confidence=1.0)
    with pytest.raises(TypeError):
        wilson_interval(2.5, 5)  # type: ignore[arg-type]


# -- bootstrap_mean_interval / describe_latency -------------------------------------------------


def test_bootstrap_mean_interval_edges() -> None:
    low, high = bootstrap_mean_interval([])
    assert math.isnan(low)
    assert math.isnan(high)
    assert bootstrap_mean_interval([0.7]) == (0.7, 0.7)
    assert bootstrap_mean_interval([0.1] * 9) == (0.1, 0.1)
    with pytest.raises(ValueError, match="missing"):
        bootstrap_mean_interval([1.0, None])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n_resamples"):
        bootstrap_mean_interval([1.0, 2.0], n_resamples=0)


def test_bootstrap_mean_interval_is_reproducible_and_covers_the_mean() -> None:
    values = np.random.default_rng(1).normal(loc=3.0, scale=1.0, size=400)
    first = bootstrap_mean_interval(values, seed=11)
    assert first == bootstrap_mean_interval(values, seed=11)
    assert first != bootstrap_mean_interval(values, seed=12)
    low, high = first
    assert low < 3.0 < high
    assert low < values.mean() < high
    # About the textbook mean ± 1.96 sd / sqrt(n), and close to scipy's percentile bootstrap.
    half = 1.959964 * values.std(ddof=1) / math.sqrt(values.size)
    assert (high - low) / 2 == pytest.approx(half, rel=0.1)
    ref = stats.bootstrap((values,), np.mean, method="percentile", rng=0).confidence_interval
    assert low == pytest.approx(ref.low, abs=0.02)
    assert high == pytest.approx(ref.high, abs=0.02)


def test_bootstrap_of_pass_flags_large_sample_stays_in_bounds() -> None:
    flags = np.random.default_rng(2).random(5000) < 0.3  # chunked resampling path
    low, high = bootstrap_mean_interval(flags, n_resamples=2000, seed=0)
    assert 0.0 <= low < flags.mean() < high <= 1.0
    wl, wh = wilson_interval(int(flags.sum()), flags.size)
    assert low == pytest.approx(wl, abs=0.005)
    assert high == pytest.approx(wh, abs=0.005)


def test_describe_latency() -> None:
    values = [120.0, 80.0, 95.0, 300.0, 101.0]
    out = describe_latency(values)
    assert out == {
        "mean": pytest.approx(np.mean(values)),
        "p50": pytest.approx(np.percentile(values, 50)),
        "p95": pytest.approx(np.percentile(values, 95)),
    }
    assert describe_latency([*values, None, math.nan]) == out  # failed calls are skipped
    assert describe_latency([42.0]) == {"mean": 42.0, "p50": 42.0, "p95": 42.0}
    for empty in ([], [None, math.nan]):
        assert all(math.isnan(v) for v in describe_latency(empty).values())
        assert set(describe_latency(empty)) == {"mean", "p50", "p95"}


# -- mcnemar_exact ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("both", "a_only", "b_only", "neither"),
    [
        (0, 0, 0, 0),  # no rows
        (30, 0, 0, 0),  # all pass
        (0, 0, 0, 30),  # all fail
        (0, 1, 0, 0),  # a single row
        (10, 5, 0, 10),
        (10, 0, 5, 10),
        (40, 3, 10, 7),
        (40, 10, 3, 7),
        (5, 1, 1, 5),
        (0, 25, 25, 0),
        (300, 120, 80, 500),
        (100, 1000, 1000, 0),  # 2000 discordant pairs, p capped at 1
        (0, 1060, 940, 0),  # 2000 pairs, large n without overflow
        (0, 1900, 100, 0),  # p underflows towards 0, never negative or NaN
        (0, 15_200, 14_800, 0),  # beyond the exact-integer path (log-space tail)
    ],
)
def test_mcnemar_matches_statsmodels(both: int, a_only: int, b_only: int, neither: int) -> None:
    a, b = pairs_from_counts(both, a_only, b_only, neither)
    res = mcnemar_exact(a, b)
    table = [[both, a_only], [b_only, neither]]
    ref = contingency_tables.mcnemar(table, exact=True).pvalue
    assert res.b == a_only
    assert res.c == b_only
    assert res.n_discordant == a_only + b_only
    assert res.p_value == pytest.approx(ref, abs=1e-9, rel=1e-9)
    assert 0.0 <= res.p_value <= 1.0
    assert isinstance(res.p_value, float)


def test_mcnemar_random_2000_pairs() -> None:
    rng = np.random.default_rng(3)
    a = rng.random(2000) < 0.6
    b = np.where(rng.random(2000) < 0.8, a, rng.random(2000) < 0.7)
    res = mcnemar_exact(a, b)
    table = [[np.sum(a & b), np.sum(a & ~b)], [np.sum(~a & b), np.sum(~a & ~b)]]
    assert res.p_value == pytest.approx(
        contingency_tables.mcnemar(table, exact=True).pvalue, abs=1e-9
    )


def test_mcnemar_edges_and_inputs() -> None:
    assert mcnemar_exact([], []) == McNemarResult(0, 0, 0, 1.0)
    assert mcnemar_exact([True], [False]) == McNemarResult(1, 0, 1, 1.0)
    assert mcnemar_exact([1, 1, 0], [1, 1, 0]).p_value == 1.0  # identical: no evidence
    ints = mcnemar_exact([1, 0, 1, 1], [0, 0, 1, 0])
    assert ints == mcnemar_exact(
        pd.Series([True, False, True, True]), np.array([False, False, True, False])
    )
    assert ints.b == 2
    assert ints.c == 0
    with pytest.raises(ValueError, match="True/False"):
        mcnemar_exact([0.5, 1], [1, 1])
    with pytest.raises(ValueError, match="missing"):
        mcnemar_exact([None, True], [True, True])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="equal lengths"):
        mcnemar_exact([True, False], [True])


def test_mcnemar_result_is_frozen() -> None:
    res = mcnemar_exact([True], [False])
    with pytest.raises(AttributeError):
        res.p_value = 0.0  # type: ignore[misc]


# -- wilcoxon_signed_rank -----------------------------------------------------------------------


def assert_wilcoxon(res: WilcoxonResult, x: object, y: object, method: str) -> None:
    ref = stats.wilcoxon(x, y, zero_method="wilcox", method=method, correction=True)
    assert res.statistic == pytest.approx(float(ref.statistic), abs=1e-9)
    assert res.p_value == pytest.approx(float(ref.pvalue), abs=1e-9)


@pytest.mark.parametrize("n", [1, 2, 5, 10, 20, 37, 50])
def test_wilcoxon_exact_matches_scipy(n: int) -> None:
    rng = np.random.default_rng(n)
    x = rng.normal(size=n)
    y = x + rng.normal(0.4, 1.0, size=n)
    res = wilcoxon_signed_rank(x, y)
    assert res.method == "exact"
    assert res.n_nonzero == n
    assert_wilcoxon(res, x, y, "exact")


def test_wilcoxon_exact_with_zero_differences_dropped() -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(size=30)
    y = x + rng.normal(0.3, 1.0, size=30)
    y[:6] = x[:6]  # six rows where A and B score the same
    res = wilcoxon_signed_rank(x, y)
    assert res.n_nonzero == 24
    assert res.method == "exact"
    assert_wilcoxon(res, x, y, "exact")
    assert_wilcoxon(res, x[6:], y[6:], "exact")


@pytest.mark.parametrize("seed", range(5))
def test_wilcoxon_ties_use_normal_approximation_like_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 6, size=40)  # 1-5 ratings: many ties and zeros
    y = np.clip(x + rng.integers(-1, 3, size=40), 1, 5)
    res = wilcoxon_signed_rank(x, y)
    assert res.method == "approx"
    assert res.n_nonzero == int(np.count_nonzero(x != y))
    assert_wilcoxon(res, x, y, "approx")


@pytest.mark.parametrize("n", [51, 200, 2000])
def test_wilcoxon_large_n_uses_normal_approximation_like_scipy(n: int) -> None:
    rng = np.random.default_rng(n)
    x = rng.normal(size=n)
    y = x + rng.normal(0.05, 1.0, size=n)
    res = wilcoxon_signed_rank(x, y)
    assert res.method == "approx"
    assert_wilcoxon(res, x, y, "approx")


def test_wilcoxon_edges() -> None:
    assert wilcoxon_signed_rank([], []) == WilcoxonResult(0.0, 1.0, 0, "exact")
    assert wilcoxon_signed_rank([1, 2, 3], [1, 2, 3]) == WilcoxonResult(0.0, 1.0, 0, "exact")
    one = wilcoxon_signed_rank([1.0], [2.0])  # a single row can never be significant
    assert one.p_value == 1.0
    assert one.n_nonzero == 1
    assert_wilcoxon(one, [1.0], [2.0], "exact")
    # All |differences| tied: approximation, symmetric under swapping A and B.
    x, y = [0, 0, 0, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1, -1, -1]
    tied = wilcoxon_signed_rank(x, y)
    assert tied.method == "approx"
    assert_wilcoxon(tied, x, y, "approx")
    assert wilcoxon_signed_rank(y, x) == tied
    with pytest.raises(ValueError, match="equal lengths"):
        wilcoxon_signed_rank([1, 2], [1])


# -- paired_bootstrap ---------------------------------------------------------------------------


def test_paired_bootstrap_follows_its_definition() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=40)
    y = x + rng.normal(0.2, 1.0, size=40)
    res = paired_bootstrap(x, y, confidence=0.9, n_resamples=3000, seed=9)
    d = y - x
    boot = d[np.random.default_rng(9).integers(0, 40, size=(3000, 40))].mean(axis=1)
    assert res.mean_diff == pytest.approx(d.mean(), abs=1e-12)
    assert res.ci_low == pytest.approx(np.quantile(boot, 0.05), abs=1e-12)
    assert res.ci_high == pytest.approx(np.quantile(boot, 0.95), abs=1e-12)
    share = min(np.mean(boot <= 0), np.mean(boot >= 0))
    assert res.p_value == pytest.approx(min(1.0, 2 * share), abs=1e-12)
    assert res == paired_bootstrap(x, y, confidence=0.9, n_resamples=3000, seed=9)


def test_paired_bootstrap_clear_win_and_no_difference() -> None:
    rng = np.random.default_rng(6)
    a = (rng.random(300) < 0.5).astype(float)
    b = np.maximum(a, (rng.random(300) < 0.4).astype(float))  # B fixes A's failures
    win = paired_bootstrap(a, b, seed=1)
    assert win.mean_diff > 0
    assert 0 < win.ci_low < win.mean_diff < win.ci_high
    assert win.p_value < 0.001
    noise = rng.normal(size=300)
    null = paired_bootstrap(noise, noise[::-1], seed=1)  # same values, shuffled pairing
    assert null.ci_low < 0 < null.ci_high
    assert null.p_value > 0.05
    # Sign convention: mean of y - x; swapping the arguments flips it.
    assert paired_bootstrap(b, a, seed=1).mean_diff == pytest.approx(-win.mean_diff)


def test_paired_bootstrap_edges() -> None:
    empty = paired_bootstrap([], [])
    assert math.isnan(empty.mean_diff)
    assert math.isnan(empty.ci_low)
    assert math.isnan(empty.ci_high)
    assert empty.p_value == 1.0
    assert paired_bootstrap([1, 0, 1], [1, 0, 1]) == PairedBootstrapResult(0.0, 0.0, 0.0, 1.0)
    # A single row proves nothing; many rows that all moved the same way are a clear signal.
    assert paired_bootstrap([0.5], [0.75]) == PairedBootstrapResult(0.25, 0.25, 0.25, 1.0)
    assert paired_bootstrap([0.5] * 30, [0.75] * 30) == PairedBootstrapResult(0.25, 0.25, 0.25, 0.0)
    with pytest.raises(ValueError, match="equal lengths"):
        paired_bootstrap([1, 2], [1])
    with pytest.raises(ValueError, match="confidence"):
        paired_bootstrap([1, 2], [1, 3], confidence=95)


# -- holm ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "p",
    [
        [0.04, 0.01, 0.03, 0.01, 0.5, 0.04, 0.0, 1.0],  # unsorted, with ties
        [0.2, 0.2, 0.2],
        [0.9, 0.6, 0.7, 0.8],  # all capped at 1 after adjustment
        [0.03],
        list(np.random.default_rng(8).random(50) ** 3),
    ],
)
def test_holm_matches_statsmodels(p: list[float]) -> None:
    ours = holm(p)
    ref = multitest.multipletests(p, method="holm")[1]
    assert np.allclose(ours, ref, rtol=0, atol=1e-12)
    assert all(isinstance(v, float) for v in ours)
    assert max(ours) <= 1.0
    order = np.argsort(p, kind="stable")  # monotone: a smaller raw p never adjusts higher
    assert np.all(np.diff(np.asarray(ours)[order]) >= 0)


def test_holm_edges() -> None:
    assert holm([]) == []
    assert holm(np.array([0.01, 0.02])) == pytest.approx([0.02, 0.02])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        holm([0.5, 1.2])
    with pytest.raises(ValueError, match="missing"):
        holm([0.5, math.nan])


# -- agreement ----------------------------------------------------------------------------------


def test_cohen_kappa_hand_computed() -> None:
    # 50 items: both yes 20, judge yes / human no 5, judge no / human yes 10, both no 15.
    # p_o = 35/50 = 0.7; p_e = 0.5 * 0.6 + 0.5 * 0.4 = 0.5; kappa = (0.7 - 0.5) / 0.5 = 0.4.
    judge = ["yes"] * 25 + ["no"] * 25
    human = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert cohen_kappa(judge, human) == pytest.approx(0.4, abs=1e-12)
    # Three labels: table rows a, columns b = [[4, 1, 0], [1, 3, 1], [0, 2, 3]], n = 15.
    # p_o = 10/15; a margins 5, 5, 5; b margins 5, 6, 4; p_e = (25 + 30 + 20) / 225 = 1/3;
    # kappa = (2/3 - 1/3) / (2/3) = 0.5.
    a = ["A"] * 5 + ["B"] * 5 + ["C"] * 5
    b = list("AAAAB") + list("ABBBC") + list("BBCCC")
    assert cohen_kappa(a, b) == pytest.approx(0.5, abs=1e-12)


def test_cohen_kappa_matches_statsmodels() -> None:
    rng = np.random.default_rng(10)
    a = rng.choice(["good", "bad", "meh"], size=200)
    b = np.where(rng.random(200) < 0.6, a, rng.choice(["good", "bad", "meh"], size=200))
    table = confusion_table(a, b).to_numpy()
    assert cohen_kappa(a, b) == pytest.approx(inter_rater.cohens_kappa(table).kappa, abs=1e-12)


def test_cohen_kappa_edges() -> None:
    assert cohen_kappa([1, 0, 1, 2], [1, 0, 1, 2]) == 1.0  # perfect agreement
    assert cohen_kappa([1, 0, 1, 0], [0, 1, 0, 1]) == -1.0  # always disagree
    assert cohen_kappa(["pass"] * 5, ["pass"] * 5) == 1.0  # undefined by formula: identical
    assert cohen_kappa(["pass"] * 5, ["fail"] * 5) == 0.0  # one label each, never the same
    assert cohen_kappa(["x"], ["x"]) == 1.0  # a single item
    assert math.isnan(cohen_kappa([], []))
    with pytest.raises(ValueError, match="equal lengths"):
        cohen_kappa([1, 2], [1])


def test_confusion_table_has_every_label_on_both_axes() -> None:
    table = confusion_table(["yes", "yes", "no"], ["yes", "maybe", "yes"])
    assert table.index.name == "a"
    assert table.columns.name == "b"
    assert list(table.index) == ["maybe", "no", "yes"]
    assert list(table.columns) == ["maybe", "no", "yes"]
    assert table.loc["yes", "yes"] == 1
    assert table.loc["yes", "maybe"] == 1
    assert table.loc["no", "yes"] == 1
    assert int(table.to_numpy().sum()) == 3
    assert table.loc["maybe"].sum() == 0  # only the second labeler used "maybe"
    mixed = confusion_table([None, "x"], ["x", "x"])  # unsortable: first-seen order
    assert list(mixed.index) == [None, "x"]
    assert confusion_table([], []).shape == (0, 0)


def test_agreement() -> None:
    judge = [True, True, False, False, True]
    human = [True, False, False, False, True]
    res = agreement(judge, human)
    assert isinstance(res, AgreementResult)
    assert res.n == 5
    assert res.accuracy == pytest.approx(0.8)
    assert res.kappa == pytest.approx(cohen_kappa(judge, human))
    pd.testing.assert_frame_equal(res.confusion, confusion_table(judge, human))
    empty = agreement([], [])
    assert empty.n == 0
    assert math.isnan(empty.accuracy)
    assert math.isnan(empty.kappa)


# -- sample sizes -------------------------------------------------------------------------------


def test_required_sample_size_means_textbook_and_power() -> None:
    # ((1.95996 + 0.84162) * 1 / 0.5)^2 = 31.4 -> 32 rows.
    assert required_sample_size_means(1.0, 0.5) == 32
    assert required_sample_size_means(1.0, -0.5) == 32
    for sd, effect, alpha, power in [
        (1.0, 0.5, 0.05, 0.8),
        (0.3, 0.05, 0.01, 0.9),
        (2.0, 1.0, 0.1, 0.95),
    ]:
        z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
        n = required_sample_size_means(sd, effect, alpha, power)
        assert n == math.ceil((z * sd / effect) ** 2)
        # A one-sample z test (statsmodels) with n rows reaches the power; with n - 1 it does not.
        achieved = sm_power.NormalIndPower().power(effect / sd, n, alpha, ratio=0)
        assert achieved >= power
        assert sm_power.NormalIndPower().power(effect / sd, n - 1, alpha, ratio=0) < power


def test_required_sample_size_paired_connor() -> None:
    # psi = 0.3, delta = 0.1: (1.95996 * sqrt(0.3) + 0.84162 * sqrt(0.29))^2 / 0.01 = 233.1.
    assert required_sample_size_paired(0.3, 0.1) == 234
    assert required_sample_size_paired(0.3, -0.1) == 234
    for psi, delta, alpha, power in [
        (0.3, 0.1, 0.05, 0.8),
        (0.1, 0.05, 0.01, 0.9),
        (1.0, 1.0, 0.05, 0.8),
    ]:
        za, zb = stats.norm.ppf(1 - alpha / 2), stats.norm.ppf(power)
        expected = (za * math.sqrt(psi) + zb * math.sqrt(psi - delta**2)) ** 2 / delta**2
        assert required_sample_size_paired(psi, delta, alpha, power) == max(1, math.ceil(expected))
    # More disagreement between A and B means more noise, so more rows.
    assert required_sample_size_paired(0.5, 0.1) > required_sample_size_paired(0.2, 0.1)


def test_required_sample_size_paired_gives_about_the_power_in_simulation() -> None:
    n = required_sample_size_paired(0.3, 0.1)  # p10 = 0.1, p01 = 0.2
    rng = np.random.default_rng(12)
    cells = rng.multinomial(n, [0.1, 0.2, 0.7], size=400)  # A-only, B-only, agree
    hits = [
        mcnemar_exact([True] * b + [False] * c, [False] * b + [True] * c).p_value < 0.05
        for b, c, _ in cells
    ]
    assert 0.7 < np.mean(hits) < 0.9


@pytest.mark.parametrize(
    ("psi", "effect", "alpha", "power"),
    [
        (0.0, 0.1, 0.05, 0.8),
        (0.2, 0.3, 0.05, 0.8),  # difference larger than the disagreement share
        (1.2, 0.1, 0.05, 0.8),
        (0.3, 0.0, 0.05, 0.8),
        (0.3, 0.1, 0.0, 0.8),
        (0.3, 0.1, 0.05, 1.0),
        (0.3, 0.1, 0.05, 0.02),  # power below alpha / 2
        (math.nan, 0.1, 0.05, 0.8),
    ],
)
def test_required_sample_size_paired_rejects_nonsense(
    psi: float, effect: float, alpha: float, power: float
) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - several messages, all ValueError
        required_sample_size_paired(psi, effect, alpha, power)


@pytest.mark.parametrize(
    ("sd", "effect", "alpha", "power"),
    [
        (0.0, 0.1, 0.05, 0.8),
        (-1.0, 0.1, 0.05, 0.8),
        (1.0, 0.0, 0.05, 0.8),
        (math.inf, 0.1, 0.05, 0.8),
        (1.0, 0.1, 1.5, 0.8),
        (1.0, 0.1, 0.05, 0.0),
    ],
)
def test_required_sample_size_means_rejects_nonsense(
    sd: float, effect: float, alpha: float, power: float
) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - several messages, all ValueError
        required_sample_size_means(sd, effect, alpha, power)
