"""``wb.Compare(run_a, run_b)``: two runs lined up — the paired verdict of each matched variant,
the rows that regressed or improved with the word diff of their outputs, and the live grid of
both runs side by side (``.grid("regressions")``). Its HTML needs no kernel."""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from workbench.analysis.across import RunPair, RunsComparison, compare_runs
from workbench.errors import WorkbenchError
from workbench.results.stored import load_run
from workbench.results.table import RunTable
from workbench.views.grid_text import word_diff
from workbench.views.snapshot import STATES

__all__ = ["RunsView", "as_table"]

SHOWN = 20
"""Changed rows listed per pair in the HTML (all of them in ``.rows()``)."""
_CELL = "padding:3px 6px;border:1px solid #bbb;vertical-align:top;text-align:left"


def as_table(
    run: Any, *, experiment: str | None = None, store: str | Path | None = None
) -> RunTable:
    """A run's table from its Results, its table, or a stored run's id / latest / previous."""
    if isinstance(run, RunTable):
        return run
    if isinstance(getattr(run, "table", None), RunTable):
        return run.table  # type: ignore[no-any-return]
    if isinstance(run, str):
        return load_run(run, experiment=experiment, store=store)
    raise WorkbenchError(
        f"Compare needs a run's results, or a stored run's id, 'latest' or 'previous'; got "
        f"{type(run).__name__}."
    )


class RunsView:
    """Run B (``run_b``, the later) against run A; see :class:`RunsComparison` (``.result``)."""

    def __init__(
        self,
        run_a: Any,
        run_b: Any,
        *,
        experiment: str | None = None,
        store: str | Path | None = None,
        scorer: str | None = None,
        reducer: str | None = None,
        grid: Callable[..., Any] | None = None,
    ) -> None:
        """``grid``: the live grid's class (``wb.Compare`` passes itself)."""
        self._grid = grid
        a = as_table(run_a, experiment=experiment, store=store)
        b = as_table(run_b, experiment=experiment, store=store)
        self.result: RunsComparison = compare_runs(a, b, scorer, reducer)

    def __str__(self) -> str:
        return str(self.result)

    def __repr__(self) -> str:
        return f"<Compare runs {self.result.a.record.run_id} → {self.result.b.record.run_id}>"

    def verdict(self) -> str:
        """The comparison in words (what ``workbench diff-runs`` prints)."""
        return str(self.result)

    def rows(self, variant: str | None = None) -> Any:
        """Shared rows of a matched variant, with both outputs and ``change``."""
        return self.result.rows(variant)

    def regressions(self, variant: str | None = None) -> Any:
        """Rows that passed in A and fail in B."""
        rows = self.rows(variant)
        return rows[rows["change"] == "regression"].reset_index(drop=True)

    def improvements(self, variant: str | None = None) -> Any:
        """Rows that failed in A and pass in B."""
        rows = self.rows(variant)
        return rows[rows["change"] == "improvement"].reset_index(drop=True)

    def table(self, only: str | None = None) -> RunTable:
        """Both runs as one table, variants named ``<name> (A)`` / ``<name> (B)``, on the shared
        rows (``only="regressions"`` / ``"improvements"``: those of any pair)."""
        res = self.result
        keep = set(res.shared_rows)
        if only is not None:
            if only not in ("regressions", "improvements"):
                raise WorkbenchError(f"only= takes 'regressions' or 'improvements', not {only!r}.")
            keep = {r for p in res.pairs for r in getattr(p, only)}
            if not keep:
                raise WorkbenchError(f"No {only} between these runs: nothing to show.")
        scorers = [s for s in res.a.scorers if s in res.b.scorers]
        frames, variants = [], []
        for side, table, names in (
            ("A", res.a, [p.a for p in res.pairs]),
            ("B", res.b, [p.b for p in res.pairs]),
        ):
            df = table.df[table.df["variant"].isin(names)]
            df = df[df["row_id"].astype(str).isin(keep)]
            frames.append(df.assign(variant=df["variant"] + f" ({side})"))
            variants += [table.record.variant(n).replace(name=f"{n} ({side})") for n in names]
        order = [v for p in res.pairs for v in (f"{p.a} (A)", f"{p.b} (B)")]
        variants.sort(key=lambda v: order.index(v.name))
        df = pd.concat(frames, ignore_index=True)
        drop = [
            c
            for s in res.a.scorers + res.b.scorers
            if s not in scorers
            for c in (s, f"{s}_pass", f"{s}_reason")
        ]
        record = dataclasses.replace(
            res.b.record,
            experiment=res.b.record.experiment,
            run_id=f"{res.a.record.run_id} vs {res.b.record.run_id}",
            variants=tuple(variants),
            scorer_columns=tuple(scorers),
            scorers=tuple(
                s for s, c in zip(res.b.record.scorers, res.b.scorers, strict=True) if c in scorers
            ),
        )
        return RunTable(df.drop(columns=[c for c in drop if c in df.columns]), record)

    def grid(self, only: str | None = None, **options: Any) -> Any:
        """The live comparison grid of both runs side by side (outputs diffed against the first
        pair's A variant; pick another baseline in the grid); ``only="regressions"`` or
        ``"improvements"``: those rows only."""
        if self._grid is None:
            raise WorkbenchError("Make this view with wb.Compare(run_a, run_b) to open its grid.")
        first = self.result.pairs[0].a + " (A)" if self.result.pairs else ""
        return self._grid(self.table(only), baseline=first, **options)

    # -- display ------------------------------------------------------------------------
    def _repr_html_(self) -> str:
        res = self.result
        head = "".join(
            f"<p>{html.escape(line)}</p>" for line in str(res).split("\n\n")[0].splitlines()
        )
        parts = [f'<div class="wb-runs">{head}']
        for p in res.pairs:
            parts.append(self._pair_html(p))
        for side, names in (("A", res.unmatched_a), ("B", res.unmatched_b)):
            if names:
                parts.append(f"<p>Only in {side}: {html.escape(', '.join(names))}</p>")
        parts.append(
            "<p><i>The live grid of both runs: <code>.grid()</code> or "
            '<code>.grid("regressions")</code> (needs a kernel).</i></p></div>'
        )
        return "".join(parts)

    def _pair_html(self, p: RunPair) -> str:
        said = str(p.comparison) if p.comparison else "No shared scorer to compare by."
        out = [
            f"<h4>{html.escape(p.label)} <small>({html.escape(p.matched_by)})</small></h4>",
            f'<p class="wb-runs-verdict">{html.escape(said)}</p>',
        ]
        if not p.comparison:
            return "".join(out)
        rows = self.result.rows(p.a)
        for change, ids in (("regression", p.regressions), ("improvement", p.improvements)):
            symbol, background, colour = STATES["fail" if change == "regression" else "pass"]
            out.append(f"<p><b>{len(ids)} {change}s</b></p>")
            if not ids:
                continue
            body = []
            for rec in rows[rows["change"] == change].head(SHOWN).itertuples(index=False):
                before, after = str(rec.output_a or ""), str(rec.output_b or "")
                body.append(
                    f'<tr><td style="{_CELL}">{html.escape(str(rec.row_id))}</td>'
                    f'<td style="{_CELL}">{html.escape(before[:300])}</td>'
                    f'<td style="{_CELL};background:{background};color:{colour}">{symbol} '
                    f"{word_diff(before[:300], after[:300])}</td></tr>"
                )
            more = (
                f"<p>… and {len(ids) - SHOWN} more: <code>.rows()</code></p>"
                if len(ids) > SHOWN
                else ""
            )
            out.append(
                '<table style="border-collapse:collapse;font-size:90%"><tr>'
                f'<th style="{_CELL}">row</th><th style="{_CELL}">A: {html.escape(p.a)}</th>'
                f'<th style="{_CELL}">B: {html.escape(p.b)} (word diff)</th></tr>'
                f"{''.join(body)}</table>{more}"
            )
        return "".join(out)
