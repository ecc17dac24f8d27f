"""The statistics of one run, computed once per table (bootstraps take a while)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar

import pandas as pd

from workbench.analysis.compare import Comparison, compare
from workbench.analysis.report import by_row, rank, starved_notes, summarize
from workbench.analysis.stats import AgreementResult, agreement
from workbench.analysis.verdict import ScorerVerdict, Verdict, scorer_verdict
from workbench.errors import WorkbenchError
from workbench.results.table import RunTable
from workbench.scoring.reducers import Reducer, get_reducer

__all__ = ["RunAnalysis", "analyze"]

_T = TypeVar("_T")
_YES = {"true", "1", "1.0", "pass", "passed", "yes", "y", "good", "ok", "👍", "up"}


def analyze(table: RunTable) -> RunAnalysis:
    """The analysis of a run table (its results are kept in ``table.memo``)."""
    return RunAnalysis(table)


class RunAnalysis:
    """Summaries, leaderboard, paired comparisons and verdicts of one run table."""

    def __init__(self, table: RunTable) -> None:
        self.table = table

    def _memo(self, key: tuple[str, ...], make: Callable[[], _T]) -> _T:
        """Recomputed only when ``df`` is replaced."""
        full = (id(self.table.df), len(self.table.df), *key)
        memo = self.table.memo
        if full not in memo:
            memo[full] = make()
        return memo[full]  # type: ignore[no-any-return]

    def scorer(self, scorer: str | None) -> str | None:
        """The scorer named (checked), or the first one."""
        scorers = self.table.scorers
        if scorer is None:
            return scorers[0] if scorers else None
        if scorer not in scorers:
            raise WorkbenchError(f"No scorer '{scorer}' in these results; scorers: {scorers}.")
        return scorer

    def variant(self, name: str) -> str:
        """The variant named (checked)."""
        if name not in self.table.variants:
            raise WorkbenchError(
                f"No variant '{name}' in these results; variants: {self.table.variants}."
            )
        return name

    def summary(self, reducer: str | Reducer | None = None) -> pd.DataFrame:
        """Per variant: calls, errors, pass rates with intervals, cost, latency, stability."""
        red = get_reducer(reducer)
        table = self.table
        return self._memo(
            ("summary", str(red)),
            lambda: summarize(table.df, table.variants, table.scorers, red),
        ).copy()

    def by_row(
        self, scorer: str | None = None, reducer: str | Reducer | None = None
    ) -> pd.DataFrame:
        """One row per (variant, row): repeats reduced to one verdict."""
        name = self.scorer(scorer)
        if name is None:
            raise WorkbenchError("These results have no scorer.")
        return by_row(self.table.df, name, get_reducer(reducer))

    def scorer_verdict(
        self, scorer: str | None = None, reducer: str | Reducer | None = None
    ) -> ScorerVerdict:
        """Every pair of variants compared on ``scorer``, Holm-adjusted (see
        :mod:`workbench.analysis.verdict`)."""
        name = self.scorer(scorer)
        if name is None:
            raise WorkbenchError("These results have no scorer.")
        red = get_reducer(reducer)

        def make() -> ScorerVerdict:
            board = rank(self.summary(red), name)
            values = board[f"{name}_pass_rate"]
            ranking = [
                (str(v), None if pd.isna(x) else float(x))
                for v, x in zip(board["variant"], values, strict=True)
            ]
            rows = by_row(self.table.df, name, red)
            return scorer_verdict(ranking, rows, name, str(red))

        return self._memo(("verdict", name, str(red)), make)

    def ranked(
        self, scorer: str | None = None, reducer: str | Reducer | None = None
    ) -> tuple[pd.DataFrame, list[Comparison]]:
        """Variants best first, with the verdict's comparison of each with the leader."""
        name = self.scorer(scorer)
        red = get_reducer(reducer)
        board = rank(self.summary(red), name)
        if not name or len(board) < 2:
            return board, []
        verdict = self.scorer_verdict(name, red)
        leader = str(board["variant"].iloc[0])
        found = [verdict.comparison(leader, str(v)) for v in board["variant"].iloc[1:]]
        comparisons = [c for c in found if c is not None]
        board["p_vs_best"] = [math.nan] + [c.p_adjusted for c in comparisons]
        board["worse_than_best"] = [False] + [c.winner == leader for c in comparisons]
        return board, comparisons

    def leaderboard(
        self, scorer: str | None = None, reducer: str | Reducer | None = None
    ) -> pd.DataFrame:
        """The ranked table (see :meth:`ranked`)."""
        return self.ranked(scorer, reducer)[0]

    def compare(
        self, a: str, b: str, scorer: str | None = None, reducer: str | Reducer | None = None
    ) -> Comparison:
        """Is ``b`` better than ``a`` on the same rows? (one paired test, 95%, no adjustment)."""
        name = self.scorer(scorer)
        if name is None:
            raise WorkbenchError("These results have no scorer to compare by.")
        red = get_reducer(reducer)
        rows = by_row(self.table.df, name, red)
        return compare(rows, self.variant(a), self.variant(b), name, red)

    def verdict(self, scorer: str | None = None, reducer: str | Reducer | None = None) -> Verdict:
        """One verdict per scorer; the overall line rests on ``scorer`` (default: the first)."""
        primary = self.scorer(scorer)
        if primary is None:
            return Verdict(None, ())
        red = get_reducer(reducer)
        scorers = self.table.scorers
        verdicts = tuple(self.scorer_verdict(s, red) for s in scorers)
        if scorer is not None:
            why = "the scorer asked for"
        elif len(scorers) == 1:
            why = "the only scorer"
        else:
            why = f"the first of {len(scorers)} scorers"
        return Verdict(primary, verdicts, why, notes=tuple(self.notes()))

    def notes(self) -> list[str]:
        """What the verdict adds: variants whose replies came back empty because reasoning used
        the whole output budget, and the fix."""
        return self._memo(("notes",), lambda: starved_notes(self.table.df))

    def agreement(self, scorer: str, labels: str, on: str = "pass") -> AgreementResult:
        """How well a scorer agrees with human labels in column ``labels``."""
        name = self.scorer(scorer)
        df = self.table.df
        if labels not in df.columns:
            raise WorkbenchError(f"No column '{labels}' in res.df; columns: {list(df.columns)}.")
        frame = df[[f"{name}_pass", name, labels]].copy()
        frame = frame[frame[labels].notna() & (frame[labels].astype(str) != "")]
        if on == "pass":
            frame = frame[frame[f"{name}_pass"].notna()]
            return agreement(
                [_truthy(v) for v in frame[labels]], [bool(v) for v in frame[f"{name}_pass"]]
            )
        if on == "value":
            frame = frame[frame[name].notna()]
            return agreement([float(v) for v in frame[labels]], [float(v) for v in frame[name]])
        raise WorkbenchError(f"on must be 'pass' or 'value', got {on!r}.")


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in _YES
