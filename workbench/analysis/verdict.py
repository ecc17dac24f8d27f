"""A verdict a team can quote: structured claims first, words second.

For each scorer every pair of variants is compared on the rows both have (a paired test of
exactly those two), and the p-values are Holm-adjusted across all the pairs: any "A beats B"
in a verdict is one of those tests, significant after the adjustment, with the interval drawn at
the level it was judged at (:mod:`~workbench.analysis.multiplicity`). Groups are stated as
groups ("A and B are tied for first"), never turned into claims nobody tested. One verdict per
scorer; the overall line names the scorer it rests on and says when scorers disagree.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from workbench.analysis.compare import (
    ALPHA,
    Comparison,
    flipped,
    interval_text,
    needed_text,
    p_text,
    paired_test,
)
from workbench.analysis.multiplicity import holm_steps

__all__ = ["ScorerVerdict", "Verdict", "scorer_verdict"]


def _names(names: Sequence[str]) -> str:
    """a, b and c."""
    items = list(names)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


@dataclass(frozen=True)
class ScorerVerdict:
    """The verdict on one scorer: the ranking, every paired comparison, the groups."""

    scorer: str
    reducer: str
    binary: bool
    """Pass/fail rows (else scores)."""
    ranking: tuple[tuple[str, float | None], ...]
    """Variants best first with their pass rate (or mean score)."""
    comparisons: tuple[Comparison, ...]
    """Every pair, Holm-adjusted across all of them; ``b`` is the one ahead on the paired rows."""

    @property
    def variants(self) -> list[str]:
        return [v for v, _ in self.ranking]

    @property
    def measure(self) -> str:
        return "pass rate" if self.binary else f"mean {self.scorer}"

    def comparison(self, x: str, y: str) -> Comparison | None:
        """The comparison of ``x`` and ``y`` (either order), if the verdict made it."""
        for c in self.comparisons:
            if {c.a, c.b} == {x, y}:
                return c
        return None

    def beats(self, x: str, y: str) -> bool:
        """True when the verdict claims ``x`` beats ``y``."""
        c = self.comparison(x, y)
        return c is not None and c.winner == x

    @property
    def claims(self) -> list[Comparison]:
        """The significant comparisons: every "A beats B" the verdict makes."""
        return [c for c in self.comparisons if c.significant]

    @property
    def best(self) -> str | None:
        """The leader when it beats every other variant directly, else None."""
        variants = self.variants
        if len(variants) < 2:
            return None
        leader = variants[0]
        return leader if all(self.beats(leader, v) for v in variants[1:]) else None

    @property
    def first(self) -> list[str]:
        """The leader and every variant not significantly different from it."""
        variants = self.variants
        if not variants:
            return []
        leader = variants[0]
        return [leader] + [v for v in variants[1:] if not self._differ(leader, v)]

    def _differ(self, x: str, y: str) -> bool:
        c = self.comparison(x, y)
        return c is not None and c.significant

    def _value(self, v: float | None) -> str:
        if v is None or v != v:
            return "–"
        return f"{v:.0%}" if self.binary else f"{v:.3g}"

    @property
    def headline(self) -> str:
        """Who is best on this scorer, in one or two sentences."""
        variants, s = self.variants, self.scorer
        if not variants:
            return f"No variants scored by {s}."
        if len(variants) == 1:
            return f"Only one variant ({variants[0]}): nothing to compare on {s}."
        if not any(c.n for c in self.comparisons):
            return f"No rows where two variants were both scored by {s}: nothing to compare."
        best = self.best
        if best is not None:
            return f"{best} is the best on {s}: it beats {_names(variants[1:])}."
        first = self.first
        inner = [self.comparison(x, y) for i, x in enumerate(first) for y in first[i + 1 :]]
        if any(c is not None and c.significant for c in inner):
            text = f"{first[0]} leads on {s} but is not significantly ahead of {_names(first[1:])}."
        elif len(first) == len(variants):
            values = {v for _, v in self.ranking}
            same = f" ({self._value(self.ranking[0][1])} each)" if len(values) == 1 else ""
            text = (
                f"{_names(first)} are tied on {s}{same}: no significant difference"
                f"{'s among them' if len(first) > 2 else ''}."
            )
        else:
            text = f"{_names(first)} are tied for first on {s}."
        beats = [f"{c.winner} beats {c.loser}" for c in self.claims]
        return text + (f" {'; '.join(beats)}." if beats else "")

    def lines(self) -> list[str]:
        """One line per comparison, claims first."""
        out = []
        ordered = self.claims + [c for c in self.comparisons if not c.significant]
        for c in ordered:
            if c.n == 0:
                out.append(f"{c.b} vs {c.a}: no rows both were scored on.")
                continue
            values = f"{self.measure} {self._value(c.b_value)} vs {self._value(c.a_value)}"
            stats = f"{values} ({interval_text(c)}), {p_text(c)}, n={c.n}"
            if c.significant:
                out.append(f"{c.b} beats {c.a}: {stats}.")
            else:
                out.append(f"{c.b} vs {c.a}: no significant difference; {stats}.{needed_text(c)}")
        return out

    def __str__(self) -> str:
        return self.describe()

    def describe(self, headline: bool = True) -> str:
        """The heading (with the headline unless ``headline=False``) and one line a pair."""
        pairs = len(self.comparisons)
        head = (
            f"{self.scorer} ({self.measure}; repeats reduced by {self.reducer}; "
            f"{pairs} paired comparison{'s' if pairs != 1 else ''}"
            f"{', Holm-adjusted' if pairs > 1 else ''})"
        )
        head += f": {self.headline}" if headline else ":"
        return "\n".join([head] + [f"  {line}" for line in self.lines()])

    def to_dict(self) -> dict[str, Any]:
        """Every number, as plain data."""
        return {
            "scorer": self.scorer,
            "reducer": self.reducer,
            "measure": self.measure,
            "ranking": [{"variant": v, "value": x} for v, x in self.ranking],
            "best": self.best,
            "first": self.first,
            "headline": self.headline,
            "comparisons": [c.to_dict() for c in self.comparisons],
        }


def scorer_verdict(
    ranking: Sequence[tuple[str, float | None]],
    rows: pd.DataFrame,
    scorer: str,
    reducer: str,
    alpha: float = ALPHA,
    seed: int = 0,
) -> ScorerVerdict:
    """Compare every pair of the ranked variants on their common rows (per-row results from
    :func:`~workbench.analysis.report.by_row`), Holm-adjusted across the pairs."""
    order = [v for v, _ in ranking]
    tests = [
        paired_test(rows, order[j], order[i], scorer, reducer, seed)
        for i in range(len(order))
        for j in range(i + 1, len(order))
    ]
    steps = holm_steps([t.p_value for t in tests], alpha) if tests else []
    comparisons = []
    for t, step in zip(tests, steps, strict=True):
        c = t.comparison(
            1.0 - step.level,
            p_adjusted=step.p_adjusted,
            family=len(tests),
            significant=step.rejected,
        )
        comparisons.append(flipped(c) if c.diff < 0 else c)
    binary = all(c.binary for c in comparisons if c.n) if comparisons else True
    return ScorerVerdict(scorer, reducer, binary, tuple(ranking), tuple(comparisons))


@dataclass(frozen=True)
class Verdict:
    """Which variant is best, per scorer, with every claim backed by the test it names.

    ``str()`` is the verdict in words; ``to_dict()`` every number; in a notebook it shows as a
    table. ``verdict["scorer"]`` is one scorer's verdict.
    """

    primary: str | None
    """The scorer the overall line rests on."""
    scorers: tuple[ScorerVerdict, ...]
    why_primary: str = "the first scorer"
    alpha: float = ALPHA
    notes: tuple[str, ...] = ()
    """What the verdict adds beyond the tests, e.g. replies left empty by reasoning and the fix."""

    def __contains__(self, scorer: object) -> bool:
        return any(v.scorer == scorer for v in self.scorers)

    def __getitem__(self, scorer: str) -> ScorerVerdict:
        for v in self.scorers:
            if v.scorer == scorer:
                return v
        raise KeyError(
            f"No verdict on scorer {scorer!r}; scorers: {[v.scorer for v in self.scorers]}"
        )

    @property
    def main(self) -> ScorerVerdict | None:
        """The verdict on the primary scorer."""
        return self[self.primary] if self.primary is not None else None

    @property
    def claims(self) -> list[Comparison]:
        """Every "A beats B" of every scorer."""
        return [c for v in self.scorers for c in v.claims]

    @property
    def disagreements(self) -> list[str]:
        """Pairs that two scorers rank the opposite way, each significantly."""
        out = []
        for i, v in enumerate(self.scorers):
            for w in self.scorers[i + 1 :]:
                for c in v.claims:
                    other = w.comparison(c.a, c.b)
                    if other is not None and other.significant and other.winner != c.winner:
                        out.append(
                            f"on {v.scorer} {c.winner} beats {c.loser}, on {w.scorer} "
                            f"{other.winner} beats {other.loser}"
                        )
        return out

    @property
    def overall(self) -> str:
        """The one line: who is best on the primary scorer, and which scorer that is."""
        main = self.main
        if main is None:
            return "No scorer: nothing to judge by."
        text = f"Overall (rests on {main.scorer}, {self.why_primary}): {main.headline}"
        disagree = self.disagreements
        if disagree:
            text += f" The scorers disagree: {'; '.join(disagree)}."
        return text

    def __str__(self) -> str:
        notes = [f"Note: {n}" for n in self.notes]
        if not self.scorers:
            return "\n".join([self.overall, *notes])
        return "\n".join(
            [self.overall, *(v.describe(v.scorer != self.primary) for v in self.scorers), *notes]
        )

    def __repr__(self) -> str:
        return f"<Verdict on {[v.scorer for v in self.scorers]}: {self.overall}>"

    def to_dict(self) -> dict[str, Any]:
        """Every number, as plain data (the export's ``eval.json`` keeps it as ``verdict``)."""
        return {
            "alpha": self.alpha,
            "primary": self.primary,
            "overall": self.overall,
            "disagreements": self.disagreements,
            "scorers": [v.to_dict() for v in self.scorers],
            "notes": list(self.notes),
        }

    def _repr_html_(self) -> str:
        esc = html.escape
        parts = [f"<div class='wb-verdict'><p><b>{esc(self.overall)}</b></p>"]
        for v in self.scorers:
            parts.append(
                f"<p>{esc(v.scorer)} ({esc(v.measure)}, repeats reduced by {esc(v.reducer)}): "
                f"{esc(v.headline)}</p>"
            )
            if not v.comparisons:
                continue
            head = "".join(
                f"<th>{h}</th>"
                for h in ("claim", "effect and interval", "test", "p", "Holm p", "n")
            )
            body = []
            for c in v.claims + [c for c in v.comparisons if not c.significant]:
                claim = f"{c.b} beats {c.a}" if c.significant else f"{c.b} vs {c.a}: no difference"
                adj = "–" if c.p_adjusted is None else f"{c.p_adjusted:.3g}"
                body.append(
                    "<tr>"
                    + "".join(
                        f"<td>{esc(str(x))}</td>"
                        for x in (claim, interval_text(c), c.test, f"{c.p_value:.3g}", adj, c.n)
                    )
                    + "</tr>"
                )
            parts.append(f"<table><tr>{head}</tr>{''.join(body)}</table>")
        parts.extend(f"<p><i>Note: {esc(n)}</i></p>" for n in self.notes)
        return "".join(parts) + "</div>"
