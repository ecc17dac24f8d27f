"""Results: what a run gives back — a thin façade over the run table and its record, with the
statistics, exports and displays that read them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from workbench.analysis.compare import Comparison
from workbench.analysis.run import analyze
from workbench.analysis.stats import AgreementResult
from workbench.analysis.verdict import Verdict
from workbench.results.record import RunRecord
from workbench.results.table import RunTable
from workbench.scoring.reducers import Reducer

if TYPE_CHECKING:
    from workbench.artifact.loader import LoadedPrompt

__all__ = ["Results"]


class Results:
    """The outcome of one run. ``df`` has one row per (row, variant, repeat) (see
    :mod:`workbench.results.columns` for what each column holds); ``record`` says how the run was
    made (a :class:`~workbench.results.record.RunRecord`)."""

    def __init__(self, table: RunTable) -> None:
        self.table = table

    # -- the data ------------------------------------------------------------------------
    @property
    def df(self) -> pd.DataFrame:
        """The tidy table."""
        return self.table.df

    @df.setter
    def df(self, value: pd.DataFrame) -> None:
        self.table.df = value

    @property
    def record(self) -> RunRecord:
        """How the run was made: experiment, variants, dataset, store, timings, spend."""
        return self.table.record

    @property
    def experiment(self) -> str:
        """The experiment's name."""
        return self.record.experiment

    @property
    def run_id(self) -> str:
        """This run's id in the store."""
        return self.record.run_id

    @property
    def status(self) -> str:
        """complete, interrupted, budget or failed."""
        return self.record.status

    @property
    def message(self) -> str:
        """Why the run ended early (empty when complete)."""
        return self.record.message

    @property
    def complete(self) -> bool:
        """True when every cell ran."""
        return self.status == "complete"

    @property
    def scorers(self) -> list[str]:
        """Scorer column names, in order."""
        return self.table.scorers

    @property
    def variants(self) -> list[str]:
        """Variant names, in order."""
        return self.table.variants

    # -- statistics ----------------------------------------------------------------------
    def summary(self, reducer: str | Reducer | None = None) -> pd.DataFrame:
        """Per variant: rows, calls, errors, cached; per scorer the pass rate over rows with a
        Wilson 95% interval (repeats reduced by ``reducer``, default majority) and the mean score
        with a bootstrap interval; tokens, cost, latency (mean, p50, p95) and stability (share of
        rows whose repeats agree). The reducer used is in the ``reducer`` column."""
        return analyze(self.table).summary(reducer)

    def by_row(
        self, scorer: str | None = None, reducer: str | Reducer | None = None
    ) -> pd.DataFrame:
        """One row per (variant, row): repeats scored, passes, the reducer's value and verdict,
        mean score and distinct outputs."""
        return analyze(self.table).by_row(scorer, reducer)

    def leaderboard(
        self, scorer: str | None = None, reducer: str | Reducer | None = None
    ) -> pd.DataFrame:
        """Variants best first by the scorer's pass rate (then fewer errors, then cost), with
        ``p_vs_best`` (the paired test against the leader, Holm-adjusted across every pair the
        verdict compares) and ``worse_than_best`` (the verdict says the leader beats it)."""
        return analyze(self.table).leaderboard(scorer, reducer)

    def compare(
        self, a: str, b: str, scorer: str | None = None, reducer: str | Reducer | None = None
    ) -> Comparison:
        """Is ``b`` better than ``a`` on the same rows? McNemar's exact test on pass/fail rows (the
        sign-flip permutation test on scores), the 95% interval that inverts that test (it
        excludes 0 exactly when the test is significant), win/tie/loss counts; ``str()`` of the
        result says it in words, with the rows a difference would need when there is none."""
        return analyze(self.table).compare(a, b, scorer, reducer)

    def verdict(self, scorer: str | None = None, reducer: str | Reducer | None = None) -> Verdict:
        """Which variant is best, one verdict per scorer, each claim a paired test of exactly
        the two variants it names (Holm-adjusted across the verdict's comparisons); the overall
        line rests on ``scorer`` (default: the first). ``str()`` says it in words, ``.claims``
        lists every "A beats B" with its test, n, effect, interval and adjusted p-value,
        ``.to_dict()`` gives every number."""
        return analyze(self.table).verdict(scorer, reducer)

    def agreement(self, scorer: str, labels: str, on: str = "pass") -> AgreementResult:
        """How well a scorer (e.g. an LLM judge) agrees with human labels in column ``labels``:
        accuracy, Cohen's kappa and the confusion table. ``on="pass"`` compares pass/fail
        (labels read as yes/no: true, 1, pass, yes, good, 👍); ``on="value"`` compares values."""
        return analyze(self.table).agreement(scorer, labels, on)

    # -- files, labels, exports ----------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write ``df`` as .csv, .jsonl or .parquet (by the file's suffix)."""
        return self.table.save(path)

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
        self.table.set_label(row_id, variant, label, comment, repeat)

    def labels(self) -> dict[tuple[str, str, int], tuple[str, str]]:
        """Human labels saved for this experiment: (row_id, variant, repeat) -> (label, comment)."""
        return self.table.labels()

    def refresh_labels(self) -> Results:
        """Re-read human labels from the store into ``df`` (e.g. graded in another kernel)."""
        self.table.refresh_labels()
        return self

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

        return export_results(self.table, variant, name=name, to=to, label=label, labels=labels)

    def report(self, path: str | Path = "run.html") -> Path:
        """Write this run as one self-contained offline HTML file: verdict, leaderboard with
        intervals, charts, the comparison grid (paging, filters, search, sort, word diff, each
        cell's detail) and provenance. Refused, naming where, if it would contain a secret."""
        from workbench.report import write_report

        return write_report(self.table, path)

    # -- display -------------------------------------------------------------------------
    def __repr__(self) -> str:
        head = (
            f"<Results {self.experiment!r} run {self.run_id}: {len(self.df)} cells, {self.status}>"
        )
        return head + ("\n" + self.message if self.message else "")

    def _repr_html_(self) -> str:
        from workbench.views.display import results_html

        return results_html(self.table)

    def _ipython_display_(self) -> None:
        """In a notebook with the widgets installed: the comparison grid; else the HTML table."""
        from workbench.views.display import show_results

        show_results(self.table, repr(self))
