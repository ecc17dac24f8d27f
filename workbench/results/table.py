"""Results: the tidy table of a run, with summaries and saving."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

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
from workbench.data.formats import require_format
from workbench.errors import WorkbenchError
from workbench.scoring.reducers import Reducer, get_reducer

if TYPE_CHECKING:
    from workbench.artifact.loader import LoadedPrompt

__all__ = ["Results"]

_T = TypeVar("_T")


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
        red = get_reducer(reducer)
        return self._memo(
            ("summary", str(red)), lambda: summarize(self.df, self.variants, self.scorers, red)
        ).copy()

    def _memo(self, key: tuple[str, ...], make: Callable[[], _T]) -> _T:
        """Statistics are recomputed only when ``df`` is replaced (bootstraps take a while)."""
        memo: dict[tuple[Any, ...], Any] = self.__dict__.setdefault("_stats_memo", {})
        full = (id(self.df), len(self.df), *key)
        if full not in memo:
            memo[full] = make()
        return memo[full]  # type: ignore[no-any-return]

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

        def make() -> tuple[pd.DataFrame, list[Comparison]]:
            rows = by_row(self.df, name, red) if name else pd.DataFrame()
            return rank(self.summary(red), rows, name, red)

        ranked, comparisons = self._memo(("ranked", str(name), str(red)), make)
        return ranked.copy(), comparisons

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
            require_format(suffix)
            try:
                self.df.to_parquet(p, index=False)
            except (ValueError, TypeError, OverflowError, NotImplementedError) as exc:  # pyarrow's
                p.unlink(missing_ok=True)
                raise WorkbenchError(
                    f"Cannot write {p} as Parquet: a column mixes value types or holds numbers "
                    f"too large for it ({str(exc)[:200]}). Save as .jsonl, or convert that "
                    f"column to text first (df[col].astype(str))."
                ) from exc
        else:
            raise WorkbenchError(
                f"Cannot save results as '{suffix}': use .csv, .jsonl or .parquet."
            )
        return p

    # -- human labels ---------------------------------------------------------------------
    def set_label(
        self,
        row_id: Any,
        variant: str,
        label: str,
        comment: str = "",
        repeat: int | None = None,
    ) -> None:
        """Grade a cell by hand ("up", "down" or a grade, with a comment), for every repeat or
        one. Saved in the store (it survives restarts and reruns) and shown in ``df`` at once."""
        from workbench.engine.store import Store

        self._variant(variant)
        where = (self.df["row_id"].astype(str) == str(row_id)) & (self.df["variant"] == variant)
        if repeat is not None:
            where &= self.df["repeat"] == repeat
        if not where.any():
            raise WorkbenchError(f"No cell for row {row_id!r}, variant {variant!r}.")
        with Store(self._store_path()) as store:
            for n, key in zip(
                self.df.loc[where, "repeat"], self.df.loc[where, "request_key"], strict=True
            ):
                store.put_label(self.experiment, row_id, variant, int(n), label, comment, str(key))
        for column, value in (("human_label", label), ("human_comment", comment)):
            if column not in self.df.columns:
                self.df[column] = None
            self.df[column] = self.df[column].astype(object)
            self.df.loc[where, column] = value if (label or comment) else None

    def labels(self) -> dict[tuple[str, str, int], tuple[str, str]]:
        """Human labels saved for this experiment: (row_id, variant, repeat) -> (label, comment)."""
        from workbench.engine.store import Store

        with Store(self._store_path()) as store:
            return store.labels(self.experiment)

    def refresh_labels(self) -> Results:
        """Re-read human labels from the store into ``df`` (e.g. graded in another kernel)."""
        found = self.labels()
        keys = zip(
            self.df["row_id"].astype(str), self.df["variant"], self.df["repeat"], strict=True
        )
        pairs = [found.get((r, v, int(n))) for r, v, n in keys]
        self.df["human_label"] = [p[0] if p else None for p in pairs]
        self.df["human_comment"] = [p[1] if p else None for p in pairs]
        return self

    def _store_path(self) -> Path:
        if "store" in self.meta:
            return Path(self.meta["store"])
        from workbench.config import get_settings

        return get_settings().store_path

    def export(
        self,
        variant: str | None = None,
        *,
        name: str,
        to: str | Path = "prompts",
        label: str | None = None,
        labels: Sequence[str] | None = None,
    ) -> LoadedPrompt:
        """Export ``variant`` (default: the leader) with its evaluation record as a new version
        of ``to/name`` (a Prompty file, ``eval.json``, per-row evidence and a manifest of
        hashes); ``label`` (e.g. ``"production"``) is pointed at it. See
        :mod:`workbench.artifact`."""
        from workbench.artifact.export import export_results

        return export_results(self, variant, name=name, to=to, label=label, labels=labels)

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

    def _ipython_display_(self) -> None:
        """In a notebook with anywidget installed: the comparison grid; else the HTML table."""
        from IPython.display import display  # type: ignore[import-not-found,unused-ignore]

        from workbench.engine.progress import in_notebook

        if in_notebook():
            try:
                from workbench.views.grid import Compare
            except ImportError:
                pass
            else:
                display(Compare(self))  # type: ignore[no-untyped-call,unused-ignore]
                return
        display(  # type: ignore[no-untyped-call,unused-ignore]
            {"text/plain": repr(self), "text/html": self._repr_html_()}, raw=True
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
