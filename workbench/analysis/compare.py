"""B against A on the same rows: the paired test, the interval that belongs to it, and the
comparison in words.

Pass/fail rows: McNemar's exact test, with Tango's score interval held to it
(:func:`~workbench.analysis.proportions.mcnemar_interval`). Scores: the sign-flip permutation
test of the mean difference, with the interval that inverts it
(:mod:`~workbench.analysis.permutation`). Either interval excludes 0 exactly when its test
rejects, at whatever level the comparison is judged (Holm's step level inside a verdict).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from workbench.analysis.intervals import FloatArray
from workbench.analysis.paired import McNemarResult, mcnemar_exact
from workbench.analysis.permutation import SignFlip, sign_flip
from workbench.analysis.proportions import mcnemar_interval
from workbench.analysis.stats import required_sample_size_means, required_sample_size_paired
from workbench.scoring.reducers import Reducer

__all__ = [
    "ALPHA",
    "MIN_EFFECT",
    "Comparison",
    "PairedTest",
    "compare",
    "describe",
    "flipped",
    "interval_text",
    "level_text",
    "needed_text",
    "p_text",
    "paired_test",
]

ALPHA = 0.05
"""Significance level of every verdict."""
MIN_EFFECT = 0.10
"""Difference assumed worth detecting when the observed one is zero (10 points / 0.1 score)."""
POWER = 0.8
"""Power the rows-needed figures are for."""
MCNEMAR = "McNemar exact"
PERMUTATION = "paired permutation (sign-flip)"
_HOW = {
    "tango": "Tango's score interval",
    "tango to 0": "Tango's score interval, widened to 0 as the exact test is not significant",
    "conditional": "exact given the {nd} rows that disagree",
}
"""How each kind of pass/fail interval is named (see ``mcnemar_interval``)."""


@dataclass(frozen=True)
class Comparison:
    """B against A on the rows both have, for one scorer: a claim a verdict can make."""

    a: str
    b: str
    scorer: str
    reducer: str
    n: int
    """Paired rows."""
    binary: bool
    """Pass/fail rows (McNemar) rather than scores (permutation test)."""
    a_value: float
    b_value: float
    diff: float
    """b_value - a_value (the effect)."""
    ci_low: float
    ci_high: float
    """The interval of ``diff`` that inverts ``test`` at ``confidence``: it excludes 0 exactly
    when the comparison is significant."""
    test: str
    p_value: float
    """Raw two-sided p-value of ``test``."""
    wins: int
    """Rows where B did better than A."""
    ties: int
    losses: int
    rows_needed: int | None
    """About how many rows would detect the observed (or a 10-point) difference."""
    effect_for_rows_needed: float
    confidence: float = 1.0 - ALPHA
    """Confidence of the interval: 95%, or Holm's step level inside a verdict."""
    interval: str = ""
    """How the interval was made, in words."""
    p_adjusted: float | None = None
    """Holm-adjusted p-value across the verdict's comparisons (None: a single comparison)."""
    family: int = 1
    """Comparisons the p-value was adjusted across."""
    significant: bool = False
    """The test rejects "no difference" at 5% (after the adjustment)."""
    assumption: str = ""
    """What ``rows_needed`` assumes, in a short clause."""
    discordant: int | None = None
    """Pass/fail rows where A and B disagree (the rows McNemar's test looks at)."""

    @property
    def winner(self) -> str | None:
        """The better variant when significant, else None."""
        if not self.significant:
            return None
        return self.b if self.diff > 0 else self.a

    @property
    def loser(self) -> str | None:
        """The worse variant when significant, else None."""
        winner = self.winner
        return None if winner is None else (self.a if winner == self.b else self.b)

    def __str__(self) -> str:
        return describe(self)

    def to_dict(self) -> dict[str, object]:
        """Every number, as plain data (for JSON)."""
        return {
            "a": self.a,
            "b": self.b,
            "scorer": self.scorer,
            "reducer": self.reducer,
            "n": self.n,
            "binary": self.binary,
            "a_value": self.a_value,
            "b_value": self.b_value,
            "diff": self.diff,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "confidence": self.confidence,
            "interval": self.interval,
            "test": self.test,
            "p_value": self.p_value,
            "p_adjusted": self.p_adjusted,
            "family": self.family,
            "significant": self.significant,
            "winner": self.winner,
            "wins": self.wins,
            "ties": self.ties,
            "losses": self.losses,
            "discordant": self.discordant,
            "rows_needed": self.rows_needed,
            "effect_for_rows_needed": self.effect_for_rows_needed,
            "assumption": self.assumption,
            "text": str(self),
        }


@dataclass(frozen=True, eq=False)
class PairedTest:
    """Two variants' per-row results on their common rows, tested once; :meth:`comparison`
    gives the claim at any confidence (the interval is redrawn, the test is not rerun)."""

    a: str
    b: str
    scorer: str
    reducer: str
    binary: bool
    x: FloatArray = field(repr=False)
    y: FloatArray = field(repr=False)
    mcnemar: McNemarResult | None = field(default=None, repr=False)
    flips: SignFlip | None = field(default=None, repr=False)

    @property
    def n(self) -> int:
        return int(self.x.size)

    @property
    def p_value(self) -> float:
        if self.mcnemar is not None:
            return self.mcnemar.p_value
        return self.flips.p_value() if self.flips is not None and self.n else 1.0

    def interval(self, confidence: float) -> tuple[float, float, str]:
        """The interval of ``B - A`` that belongs to the test at ``confidence``, and how it was
        made (in words)."""
        if self.n == 0:
            return math.nan, math.nan, ""
        if self.mcnemar is not None:
            m = self.mcnemar
            found = mcnemar_interval(m.b, m.c, self.n, confidence)
            return found.low, found.high, _HOW[found.method].format(nd=m.n_discordant)
        assert self.flips is not None
        low, high = self.flips.interval(confidence)
        how = "by inverting the permutation test"
        return low, high, how + ("" if self.flips.exact else " (Monte Carlo)")

    def comparison(
        self,
        confidence: float = 1.0 - ALPHA,
        *,
        p_adjusted: float | None = None,
        family: int = 1,
        significant: bool | None = None,
    ) -> Comparison:
        """The claim, its interval drawn at ``confidence``; ``significant`` defaults to the raw
        p-value below ``1 - confidence``."""
        d = self.y - self.x
        low, high, how = self.interval(confidence)
        a_value = float(self.x.mean()) if self.n else math.nan
        b_value = float(self.y.mean()) if self.n else math.nan
        effect = abs(float(d.mean())) if self.n and d.mean() != 0 else MIN_EFFECT
        needed, assumption = _rows_needed(d, self.binary, effect, 1.0 - confidence)
        p = self.p_value
        if significant is None:
            significant = p < 1.0 - confidence
        return Comparison(
            a=self.a,
            b=self.b,
            scorer=self.scorer,
            reducer=self.reducer,
            n=self.n,
            binary=self.binary,
            a_value=a_value,
            b_value=b_value,
            diff=b_value - a_value,
            ci_low=low,
            ci_high=high,
            test=MCNEMAR if self.binary else PERMUTATION,
            p_value=p,
            wins=int((d > 1e-12).sum()),
            ties=int((abs(d) <= 1e-12).sum()),
            losses=int((d < -1e-12).sum()),
            rows_needed=needed,
            effect_for_rows_needed=effect,
            confidence=confidence,
            interval=how,
            p_adjusted=p_adjusted,
            family=family,
            significant=bool(self.n > 0 and significant),
            assumption=assumption,
            discordant=self.mcnemar.n_discordant if self.mcnemar is not None else None,
        )


def _binary(rows: pd.DataFrame) -> bool:
    scored = rows[rows["n"] > 0]
    return bool(len(scored)) and bool(scored["row_pass"].notna().all())


def paired_test(
    rows: pd.DataFrame, a: str, b: str, scorer: str, reducer: Reducer | str, seed: int = 0
) -> PairedTest:
    """Test ``b`` against ``a`` on the rows both have (per-row results from
    :func:`~workbench.analysis.report.by_row`)."""
    left = rows[(rows["variant"] == a) & (rows["n"] > 0)].set_index("row_id")
    right = rows[(rows["variant"] == b) & (rows["n"] > 0)].set_index("row_id")
    common = left.index.intersection(right.index)
    left, right = left.loc[common], right.loc[common]
    binary = _binary(left.reset_index()) and _binary(right.reset_index())
    if binary:
        x = left["row_pass"].astype(bool).to_numpy()
        y = right["row_pass"].astype(bool).to_numpy()
        xs, ys = x.astype(float), y.astype(float)
        return PairedTest(a, b, scorer, str(reducer), True, xs, ys, mcnemar=mcnemar_exact(x, y))
    xs = left["value"].to_numpy(dtype=float)
    ys = right["value"].to_numpy(dtype=float)
    flips = sign_flip(xs, ys, seed=seed)
    return PairedTest(a, b, scorer, str(reducer), False, xs, ys, flips=flips)


def compare(
    rows: pd.DataFrame, a: str, b: str, scorer: str, reducer: Reducer | str, seed: int = 0
) -> Comparison:
    """One paired comparison on its own (95%, no adjustment)."""
    return paired_test(rows, a, b, scorer, reducer, seed).comparison()


def _rows_needed(
    d: np.ndarray, binary: bool, effect: float, alpha: float
) -> tuple[int | None, str]:
    """Rows for 80% power at the level the comparison is judged at (two-sided), and what that
    assumes."""
    power = f"{POWER:.0%} power at {level_text(alpha)}"
    try:
        if binary:
            observed = float((d != 0).mean()) if d.size else 0.0
            if observed >= effect:
                return required_sample_size_paired(observed, effect, alpha, POWER), (
                    f"{power}, if {_share(observed)} of rows disagree as here"
                )
            psi = min(1.0, 2 * effect)
            needed = required_sample_size_paired(psi, min(effect, psi), alpha, POWER)
            return needed, f"{power}, if {_share(psi)} of rows disagree ({_share(observed)} here)"
        sd = float(d.std(ddof=1)) if d.size > 1 else 0.0
        if sd <= 0:
            return None, ""
        return required_sample_size_means(sd, effect, alpha, POWER), (
            f"{power}, if per-row differences vary as here (SD {sd:.3g})"
        )
    except ValueError:
        return None, ""


def _share(value: float) -> str:
    return "none" if value == 0 else f"{value:.0%}"


def level_text(confidence: float) -> str:
    """95%, 97.5%, 98.33%: a confidence level as few digits as it needs."""
    return f"{confidence * 100:.2f}".rstrip("0").rstrip(".") + "%"


def _fmt(c: Comparison, value: float) -> str:
    return f"{value:.0%}" if c.binary else f"{value:.3g}"


def _fmt_diff(c: Comparison, value: float, unit: bool = True) -> str:
    if math.isinf(value):
        return "-∞" if value < 0 else "+∞"
    if not c.binary:
        return f"{value:+.3g}"
    return f"{value * 100:+.0f}" + (" points" if unit else "")


def interval_text(c: Comparison) -> str:
    """``+50 points, 95% CI +27 to +67; Tango's score interval``."""
    return (
        f"{_fmt_diff(c, c.diff)}, {level_text(c.confidence)} CI {_fmt_diff(c, c.ci_low, False)} "
        f"to {_fmt_diff(c, c.ci_high, False)}; {c.interval}"
    )


def p_text(c: Comparison) -> str:
    """``McNemar exact p=0.004`` (and the adjusted p-value inside a verdict)."""
    text = f"{c.test} p={c.p_value:.3g}"
    if c.p_adjusted is not None and c.family > 1:
        text += f", Holm-adjusted p={c.p_adjusted:.3g} over {c.family} comparisons"
    return text


def needed_text(c: Comparison) -> str:
    """`` About 234 rows would be needed ... (80% power at 5%, if ...).`` or ''."""
    if c.significant or not c.rows_needed:
        return ""
    size = _fmt_diff(c, c.effect_for_rows_needed).lstrip("+")
    return (
        f" About {c.rows_needed} rows would be needed to detect a difference of {size} "
        f"({c.assumption})."
    )


def describe(c: Comparison) -> str:
    """The comparison in one or two sentences."""
    if c.n == 0:
        return f"No rows where both {c.a} and {c.b} were scored by {c.scorer}: nothing to compare."
    what = "pass rate" if c.binary else f"mean {c.scorer}"
    detail = (
        f"{what} {_fmt(c, c.b_value)} vs {_fmt(c, c.a_value)} ({interval_text(c)}), {p_text(c)}, "
        f"n={c.n} rows: {c.wins} better, {c.ties} same, {c.losses} worse"
    )
    if c.significant:
        better, worse = (c.b, c.a) if c.diff > 0 else (c.a, c.b)
        return f"{better} is better than {worse} on {c.scorer}: {detail}."
    return (
        f"No significant difference between {c.b} and {c.a} on {c.scorer} at n={c.n}: {detail}."
        f"{needed_text(c)}"
    )


def flipped(c: Comparison) -> Comparison:
    """The same comparison read the other way round (A against B)."""
    return replace(
        c,
        a=c.b,
        b=c.a,
        a_value=c.b_value,
        b_value=c.a_value,
        diff=-c.diff,
        ci_low=-c.ci_high,
        ci_high=-c.ci_low,
        wins=c.losses,
        losses=c.wins,
    )
