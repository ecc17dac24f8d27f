"""Is variant B really better than A? Intervals, paired tests, agreement and sample sizes.

Which function answers which question:

- :func:`wilson_interval`: "B passed 41 of 50 rows. Which true pass rates fit that?"
- :func:`bootstrap_mean_interval`: the same for a mean score (ratings, similarities, ...).
- :func:`mcnemar_exact`: "Pass/fail on the same rows: is B really better than A, or was it
  luck?" Only the rows where A and B disagree carry evidence.
- :func:`wilcoxon_signed_rank`: the same question for numeric scores, using the ranks of the
  per-row differences (robust to a few extreme rows).
- :func:`paired_bootstrap`: "By how much does B beat A per row, on average?" with an interval
  and a rough p-value.
- :func:`sign_flip`: the same for scores, as an exact permutation test whose interval always
  agrees with its p-value (what verdicts use for scores).
- :func:`clopper_pearson`, :func:`mcnemar_interval`, :func:`tango_interval`, :func:`tango_test`:
  "Which pass rates (or differences of paired pass rates) fit the data?", with the interval
  that belongs to the test beside it.
- :func:`holm`, :func:`holm_steps`: "I made many comparisons; which wins survive having looked
  many times?" (and at which level to draw each interval).
- :func:`cohen_kappa`, :func:`agreement`, :func:`confusion_table`: "Does the LLM judge agree
  with the human labels beyond what chance would give?"
- :func:`required_sample_size_paired`, :func:`required_sample_size_means`: "How many rows do
  I need before a real difference of this size shows up?"
- :func:`describe_latency`: mean, median and 95th percentile of call latencies.

Reading a p-value: the chance of a difference at least this large if A and B were equally good.
Small (say below 0.05) means luck is an unlikely explanation; a large p-value does not show
that A and B are equal (there may be too few rows). An interval lists the values that fit the
data at the given confidence; a wide interval means "run more rows".

Conventions: sequences or numpy arrays in, Python floats out; paired inputs are aligned by
position (row i of A with row i of B) and must have equal lengths. Random procedures take a
``seed`` (same inputs and seed, same answer). Missing values (NaN, None) raise ``ValueError``
everywhere except in :func:`describe_latency`, which skips them (failed calls). Only numpy,
pandas and the standard library are used (no scipy).

Layout: intervals in :mod:`workbench.analysis.intervals`, paired tests and Holm in
:mod:`workbench.analysis.paired`, exact and score intervals for pass rates in
:mod:`~workbench.analysis.proportions`, the permutation test in
:mod:`~workbench.analysis.permutation`, Holm's levels in :mod:`~workbench.analysis.multiplicity`,
alpha spending in :mod:`~workbench.analysis.sequential`, agreement and sample sizes here; all of
them are importable from :mod:`workbench.analysis`. Built on them: one comparison
(:mod:`~workbench.analysis.compare`), a verdict (:mod:`~workbench.analysis.verdict`) and the
non-inferiority gate of ``workbench check`` (:mod:`~workbench.analysis.gate`).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import numpy.typing as npt
import pandas as pd

from workbench.analysis.intervals import _check_open_unit, normal_quantile

__all__ = [
    "AgreementResult",
    "agreement",
    "cohen_kappa",
    "confusion_table",
    "required_sample_size_means",
    "required_sample_size_paired",
]

# -- agreement ----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class AgreementResult:
    """How well two labelers (say an LLM judge and a human) agree on the same items.

    Compared by identity, not by value (it holds a DataFrame).
    """

    n: int
    accuracy: float
    """Share of items with the same label (NaN when there are none)."""
    kappa: float
    """Cohen's kappa: 1 perfect, 0 no better than chance, negative worse than chance."""
    confusion: pd.DataFrame
    """Counts: rows are the first labeler's labels, columns the second's."""


def confusion_table(a_labels: Iterable[Hashable], b_labels: Iterable[Hashable]) -> pd.DataFrame:
    """Counts of (first label, second label) pairs as a square table.

    Rows (index named ``a``) hold the first labeler's labels, columns (named ``b``) the
    second's; every label either used appears on both axes (sorted when sortable, otherwise
    in order of first appearance).
    """
    a, b = list(a_labels), list(b_labels)
    if len(a) != len(b):
        raise ValueError(f"paired inputs need equal lengths, got {len(a)} and {len(b)}")
    labels = list(dict.fromkeys(a + b))
    with contextlib.suppress(TypeError):  # mixed types (say None and str): keep first-seen order
        labels = sorted(labels)  # type: ignore[type-var]
    pos = {label: i for i, label in enumerate(labels)}
    counts = np.zeros((len(labels), len(labels)), dtype=np.int64)
    np.add.at(counts, ([pos[v] for v in a], [pos[v] for v in b]), 1)
    dtype = object if any(label is None for label in labels) else None  # keep None, not NaN
    return pd.DataFrame(
        counts,
        index=pd.Index(labels, dtype=dtype, name="a"),
        columns=pd.Index(labels, dtype=dtype, name="b"),
    )


def cohen_kappa(a_labels: Iterable[Hashable], b_labels: Iterable[Hashable]) -> float:
    """Cohen's kappa: agreement corrected for the agreement expected by chance.

    ``(p_o - p_e) / (1 - p_e)`` as ``sklearn.metrics.cohen_kappa_score`` (``p_o``: observed
    agreement, ``p_e``: agreement expected from each labeler's label shares). Where that is
    undefined (both labelers used one and the same single label, so ``p_e = 1``) this returns
    1.0, where sklearn gives NaN: they agree perfectly. One label each but different labels gives
    0.0 from the formula. No items gives NaN.
    """
    return _kappa(confusion_table(a_labels, b_labels).to_numpy())


def _kappa(counts: npt.NDArray[np.int64]) -> float:
    n = int(counts.sum())
    if n == 0:
        return math.nan
    agree = int(np.trace(counts))
    chance = int((counts.sum(axis=0) * counts.sum(axis=1)).sum())  # n**2 * p_e
    if chance == n * n:  # p_e = 1: a single label used by both, so agreement is perfect
        return 1.0
    return float(1 - Fraction(n * (n - agree), n * n - chance))


def agreement(a: Iterable[Hashable], b: Iterable[Hashable]) -> AgreementResult:
    """Accuracy, Cohen's kappa and the confusion table of two labelings of the same items."""
    table = confusion_table(a, b)
    counts = table.to_numpy()
    n = int(counts.sum())
    accuracy = float(np.trace(counts)) / n if n else math.nan
    return AgreementResult(n, accuracy, _kappa(counts), table)


# -- sample sizes -------------------------------------------------------------------------------


def _power_z(alpha: float, power: float) -> tuple[float, float]:
    _check_open_unit("alpha", alpha)
    _check_open_unit("power", power)
    if power <= alpha / 2.0:
        raise ValueError(f"power must exceed alpha / 2, got power={power}, alpha={alpha}")
    return -normal_quantile(alpha / 2.0), normal_quantile(power)


def _ceil(n: float) -> int:
    """Round up, ignoring float noise (31.000000000000004 is 31), and need at least one row."""
    return max(1, math.ceil(n - 1e-9))


def required_sample_size_paired(
    p_discordant: float, effect: float, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Paired rows needed for McNemar's test to detect a pass-rate difference of ``effect``.

    ``p_discordant`` is the expected share of rows where A and B disagree (psi = p10 + p01) and
    ``effect`` the difference in pass rates (delta = p01 - p10; its sign is ignored), so
    ``0 < |effect| <= p_discordant <= 1``. Connor's (1987) normal approximation, two-sided:
    ``n = (z_{1-alpha/2} sqrt(psi) + z_{power} sqrt(psi - delta^2))^2 / delta^2``, rounded up.
    A pilot run gives ``p_discordant``; with no idea, assume more disagreement (larger n).
    """
    delta = abs(effect)
    if not (0.0 < p_discordant <= 1.0 and 0.0 < delta <= p_discordant):
        raise ValueError(
            "need 0 < |effect| <= p_discordant <= 1 (the pass-rate difference cannot exceed "
            f"the share of rows where A and B disagree), got p_discordant={p_discordant}, "
            f"effect={effect}"
        )
    z_a, z_b = _power_z(alpha, power)
    root = z_a * math.sqrt(p_discordant) + z_b * math.sqrt(p_discordant - delta * delta)
    return _ceil(root * root / (delta * delta))


def required_sample_size_means(
    sd_diff: float, effect: float, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Paired rows needed to detect a mean per-row score difference of ``effect``.

    ``sd_diff`` is the standard deviation of the per-row differences (from a pilot run). Normal
    approximation, two-sided: ``n = ((z_{1-alpha/2} + z_{power}) * sd_diff / effect)^2``, rounded
    up (a t-test needs a row or two more when n is small).
    """
    if not (sd_diff > 0.0 and math.isfinite(sd_diff)) or effect == 0.0 or math.isnan(effect):
        raise ValueError(
            f"need sd_diff > 0 and effect != 0, got sd_diff={sd_diff}, effect={effect}"
        )
    z_a, z_b = _power_z(alpha, power)
    return _ceil(((z_a + z_b) * sd_diff / effect) ** 2)
