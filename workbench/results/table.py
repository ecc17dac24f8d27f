"""Results: the tidy table of a run, with summaries and saving."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from workbench.analysis.report import (
    Comparison,
    by_row,
    compare,
    overall_verdict,
    rank,
    summarize,
)
from workbench.analysis.stats import AgreementResult, agreement
from workbench.errors import WorkbenchError
from workbench.scoring.reducers import Reducer, get_reducer

__all__ = ["Results"]


class Results:
    """The outcome of one run. ``df`` has one row per (row, variant, repeat); see
    :mod:`workbench.results.columns` for what each column holds."""

    def __init__(
        self,
        df: pd.DataFrame,
        *,
        experiment: str,
        run_id: str,
        scorers: Sequence[str],
        variants: Sequence[str],
        status: str = "complete",
        message: str = "",
        meta: dict[str, Any] | None = None,
    ) -> None:
        self.df = df
        self.experiment = experiment
        self.run_id = run_id
        self.scorers = list(scorers)
        """Scorer column names, in order."""
        self.variants = list(variants)
        self.status = status
        """complete, interrupted or budget."""
        self.message = message
        self.meta = dict(meta or {})
        """Run facts: dataset fingerprint, models, repeats, store path, timings."""

    @property
    def complete(self) -> bool:
        """True when every cell ran."""
        return self.status == "complete"

    def _scorer(self, scorer: str | None) -> str | None:
        if scorer is None:
            return self.scorers[0] if self.scorers else None
        if scorer not in self.scorers:
            raise WorkbenchError(f"No scorer '{scorer}' in these results; scorers: {self.scorers}.")
        return scorer

    def _variant(self, name: str) -> str:
        if name not in self.variants:
            raise WorkbenchError(
                f"No variant '{name}' in these results; variants: {self.variants}."
            )
        return name

    def summary(self, reducer: str | Reducer | None = None) -> pd.DataFrame:
        """Per variant: rows, calls, errors, cached; per scorer the pass rate over rows with a
        Wilson 95% interval (repeats reduced by ``reducer``, default majority) and the mean score
        with a bootstrap interval; tokens, cost, latency (mean, p50, p95) and stability (share of
        rows whose repeats agree). The reducer used is in the ``reducer`` column."""
        return summarize(self.df, self.variants, self.scorers, get_reducer(reducer))

    def by_row(
        self, scorer: str | None = None, reducer: str | Reducer | None = None
    ) -> pd.DataFrame:
        """One row per (variant, row): repeats scored, passes, the reducer's value and verdict,
        mean score and distinct outputs."""
        name = self._scorer(scorer)
        if name is None:
            raise WorkbenchError("These results have no scorer.")
        return by_row(self.df, name, get_reducer(reducer))

    def leaderboard(
        self, scorer: str | None = None, reducer: str | Reducer | None = None
    ) -> pd.DataFrame:
        """Variants best first by the scorer's pass rate (then fewer errors, then cost), with
        ``p_vs_best`` (Holm-adjusted paired test against the leader) and ``worse_than_best``."""
        ranked, _ = self._ranked(scorer, reducer)
        return ranked

    def _ranked(
        self, scorer: str | None, reducer: str | Reducer | None
    ) -> tuple[pd.DataFrame, list[Comparison]]:
        name = self._scorer(scorer)
        red = get_reducer(reducer)
        rows = by_row(self.df, name, red) if name else pd.DataFrame()
        return rank(self.summary(red), rows, name, red)

    def compare(
        self, a: str, b: str, scorer: str | None = None, reducer: str | Reducer | None = None
    ) -> Comparison:
        """Is ``b`` better than ``a`` on the same rows? McNemar exact test on pass/fail rows
        (Wilcoxon signed-rank on scores), paired bootstrap interval, win/tie/loss counts;
        ``str()`` of the result is the verdict in words."""
        name = self._scorer(scorer)
        if name is None:
            raise WorkbenchError("These results have no scorer to compare by.")
        red = get_reducer(reducer)
        rows = by_row(self.df, name, red)
        return compare(rows, self._variant(a), self._variant(b), name, red)

    def verdict(self, scorer: str | None = None, reducer: str | Reducer | None = None) -> str:
        """Which variant is best on ``scorer`` (default: the first), and whether the difference
        is real — or how many rows it would take to tell."""
        ranked, comparisons = self._ranked(scorer, reducer)
        return overall_verdict(ranked, comparisons, self._scorer(scorer))

    def agreement(self, scorer: str, labels: str, on: str = "pass") -> AgreementResult:
        """How well a scorer (e.g. an LLM judge) agrees with human labels in column ``labels``:
        accuracy, Cohen's kappa and the confusion table. ``on="pass"`` compares pass/fail
        (labels read as yes/no: true, 1, pass, yes, good, 👍); ``on="value"`` compares values."""
        name = self._scorer(scorer)
        if labels not in self.df.columns:
            raise WorkbenchError(
                f"No column '{labels}' in res.df; columns: {list(self.df.columns)}."
            )
        frame = self.df[[f"{name}_pass", name, labels]].copy()
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

    def save(self, path: str | Path) -> Path:
        """Write ``df`` as .csv, .jsonl or .parquet (by the file's suffix)."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        suffix = p.suffix.lower()
        if suffix == ".csv":
            self.df.to_csv(p, index=False)
        elif suffix in (".jsonl", ".ndjson"):
            # Missing values (NaN, NA) become null: NaN is not JSON.
            plain = self.df.astype(object).where(self.df.notna(), None)
            with p.open("w", encoding="utf-8") as fh:
                for record in plain.to_dict(orient="records"):
                    fh.write(json.dumps(record, ensure_ascii=False, default=_json_default) + "\n")
        elif suffix in (".parquet", ".pq"):
            try:
                self.df.to_parquet(p, index=False)
            except ImportError as exc:
                raise WorkbenchError(
                    "Writing Parquet needs pyarrow: pip install 'prompt-workbench[parquet]'"
                ) from exc
        else:
            raise WorkbenchError(
                f"Cannot save results as '{suffix}': use .csv, .jsonl or .parquet."
            )
        return p

    def __repr__(self) -> str:
        head = (
            f"<Results {self.experiment!r} run {self.run_id}: {len(self.df)} cells, {self.status}>"
        )
        return head + ("\n" + self.message if self.message else "")

    def _repr_html_(self) -> str:
        note = f"<p>{self.message}</p>" if self.message else ""
        return (
            f"<p><b>{self.experiment}</b> · run {self.run_id} · {len(self.df)} cells · "
            f"{self.status}</p>{note}" + self.leaderboard().to_html(index=False, na_rep="–")
        )


_YES = {"true", "1", "1.0", "pass", "passed", "yes", "y", "good", "ok", "👍", "up"}


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in _YES


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if pd.isna(value):
        return None
    return str(value)
