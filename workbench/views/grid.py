"""``Compare(res)``: the comparison grid widget (anywidget). Logic lives in :mod:`grid_model`.

The browser holds one page of rows. It changes ``page``, ``page_size``, ``filters``, ``sort``,
``baseline``, ``diff`` and ``selected``; it sets ``label`` to grade a cell, which is saved in the
store at once. ``color_by``, ``render_as`` and ``inputs_width`` only change how the page looks.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import anywidget
import traitlets as t

from workbench.analysis.run import analyze
from workbench.engine.store import Store
from workbench.results.stored import load_run
from workbench.results.table import RunTable
from workbench.views.grid_filters import Filters, Sort
from workbench.views.grid_model import GridModel, header_rows
from workbench.views.grid_text import DiffOptions, jsonable
from workbench.views.notebook import in_notebook
from workbench.views.snapshot import compare_html, with_static

__all__ = ["Compare"]

_STATIC = Path(__file__).parent / "static"
HEADER_WAIT = 5.0
"""Seconds a display waits for the header's statistics, to save them in its snapshot."""


class Compare(anywidget.AnyWidget):
    """Rows of the dataset × variants side by side, with filters, sorting, paging, a diff
    against a baseline variant, each cell's detail and human grading."""

    _esm = (_STATIC / "grid.js").read_text(encoding="utf-8")
    _css = (_STATIC / "grid.css").read_text(encoding="utf-8")

    page = t.Int(0).tag(sync=True)
    page_size = t.Int(25).tag(sync=True)
    pages = t.Int(1).tag(sync=True)
    total = t.Int(0).tag(sync=True)
    """Rows matching the filters."""
    filters = t.Dict().tag(sync=True)
    """The fields of :class:`~workbench.views.grid_filters.Filters`: ``failures``, ``passes``,
    ``errors``, ``not_run``, ``repeats_disagree``, ``disagree``, ``differs``, ``regressed``
    (bool), ``variant``, ``search``, ``regex``, ``scorer``. Pass them back to restore a view:
    ``Compare(res, filters=grid.filters)``."""
    sort = t.Dict().tag(sync=True)
    """``by`` (row, pass, score, tokens, latency, cost, distinct, errors), ``variant``, ``desc``;
    ``pass`` / ``score`` use ``scorer``, else the filter's scorer, else the first."""
    baseline = t.Unicode("").tag(sync=True)
    """Variant whose output the others are diffed against ('' for none)."""
    diff = t.Dict().tag(sync=True)
    """Diff options: ``ignore_case``, ``ignore_space``."""
    color_by = t.Unicode("").tag(sync=True)
    """Scorer whose verdict colours the cells (default: the first)."""
    render_as = t.Unicode("text").tag(sync=True)
    """How outputs show: ``text``, ``markdown`` or ``json``."""
    inputs_width = t.Unicode("wide").tag(sync=True)
    """The inputs column: ``wide``, ``narrow`` or ``hidden``."""
    variants = t.List(t.Unicode()).tag(sync=True)
    scorers = t.List(t.Unicode()).tag(sync=True)
    inputs = t.List(t.Unicode()).tag(sync=True)
    rows: t.List[dict[str, Any]] = t.List(t.Dict()).tag(sync=True)
    """The current page only."""
    summary: t.List[dict[str, Any]] = t.List(t.Dict()).tag(sync=True)
    """Per variant, as ``analyze(table).summary()`` gives it (plain values)."""
    header: t.List[dict[str, Any]] = t.List(t.Dict()).tag(sync=True)
    """The same, formatted for the grid's header (:func:`~.grid_model.header_rows`)."""
    flags: t.List[list[str]] = t.List(t.List(t.Unicode())).tag(sync=True)
    """The filter conditions: name, label, what rows each keeps."""
    verdict = t.Unicode("").tag(sync=True)
    summary_ready = t.Bool(False).tag(sync=True)
    """False while the header's statistics are still being computed."""
    selected = t.Dict().tag(sync=True)
    """``{"row_id": ..., "variant": ...}`` of the opened cell."""
    detail = t.Dict().tag(sync=True)
    label = t.Dict().tag(sync=True)
    """Set by the browser to grade: row_id, variant, label, comment, and optionally ``repeat``
    or ``repeats`` (default: every repeat of the cell)."""
    saved = t.Int(0).tag(sync=True)
    """Labels saved through this widget."""
    error = t.Unicode("").tag(sync=True)
    title = t.Unicode("").tag(sync=True)

    def __new__(cls, results: Any = None, other: Any = None, /, **options: Any) -> Any:
        """``Compare(run_a, run_b)``: two runs lined up (a :class:`~workbench.views.across.RunsView`);
        ``Compare(res)``: this grid."""
        if other is not None:
            from workbench.views.across import RunsView

            return RunsView(results, other, grid=cls, **options)
        return super().__new__(cls)

    def __init__(
        self,
        results: Any,
        *,
        page_size: int = 25,
        baseline: str = "",
        filters: dict[str, Any] | None = None,
        sort: dict[str, Any] | None = None,
        color_by: str = "",
        background: bool | None = None,
        experiment: str | None = None,
    ) -> None:
        """``results``: a run's ``Results`` (or its run table), or a stored run's id, ``latest``
        or ``previous`` (of ``experiment``). ``filters`` / ``sort``: a view to start from (e.g.
        another grid's ``.filters``). ``background``: compute the header's statistics (bootstrap
        intervals, verdict: seconds at 1,000 rows) in a thread after the first page shows;
        default: in a notebook."""
        if isinstance(results, str):
            results = load_run(results, experiment=experiment)
        table = results if isinstance(results, RunTable) else getattr(results, "table", None)
        if not isinstance(table, RunTable):
            raise TypeError(f"Compare needs the results of a run, got {type(results).__name__}.")
        self.table = table
        df = table.df
        labels: dict[tuple[str, str, int], tuple[str, str]] = {}
        if "human_label" in df.columns:
            graded = df[df["human_label"].notna() | df["human_comment"].notna()]
            for rec in graded[
                ["row_id", "variant", "repeat", "human_label", "human_comment"]
            ].itertuples(index=False):
                labels[(str(rec[0]), str(rec[1]), int(rec[2]))] = (
                    str(rec[3] or ""),
                    str(rec[4] or ""),
                )
        self.model = GridModel(df, table.variants, table.scorers, labels)
        record = table.record
        if color_by and color_by not in table.scorers:
            raise ValueError(f"No scorer {color_by!r} to colour by; scorers: {table.scorers}.")
        super().__init__(
            page_size=page_size,
            baseline=baseline,
            filters=dict(filters or {}),
            sort=dict(sort or {}),
            color_by=color_by or (table.scorers[0] if table.scorers else ""),
            variants=list(table.variants),
            scorers=list(table.scorers),
            inputs=list(self.model.inputs),
            flags=[list(f) for f in Filters.flags(tools=self.model.called_tools)],
            title=f"{record.experiment} · run {record.run_id} · {record.status}",
        )
        self._refresh()
        if background is None:
            background = in_notebook()
        self._header = threading.Thread(target=self._fill_header, daemon=True)
        if background:
            self._header.start()
        else:
            self._fill_header()

    def _fill_header(self) -> None:
        summary, header, verdict = _summary(self.table)
        with self.hold_sync():
            self.summary, self.header, self.verdict = summary, header, verdict
            self.summary_ready = True

    def wait_header(self, timeout: float | None = None) -> bool:
        """Wait for the header's statistics; True once they are there."""
        if self._header.is_alive():
            self._header.join(timeout)
        return self.summary_ready

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The live grid, and beside it a static snapshot (first page, statistics, verdict)
        that a saved notebook shows without a kernel."""
        self.wait_header(HEADER_WAIT)
        snapshot = compare_html(
            self.title,
            self.model,
            self.summary,
            self.verdict,
            page_size=self.page_size,
            baseline=self.baseline or None,
        )
        return with_static(super()._repr_mimebundle_(**kwargs), snapshot)

    @t.observe("page", "page_size", "filters", "sort", "baseline", "diff")
    def _on_view(self, change: dict[str, Any]) -> None:
        if change["name"] != "page" and self.page != 0:
            self.page = 0  # re-enters through this observer
            return
        self._refresh()

    def _refresh(self) -> None:
        try:
            if self.baseline and self.baseline not in self.variants:
                raise ValueError(f"No variant {self.baseline!r} to diff against.")
            out = self.model.page(
                Filters.of(self.filters),
                Sort.of({"scorer": self.filters.get("scorer"), **self.sort}),
                self.page,
                self.page_size,
                self.baseline or None,
                DiffOptions.of(self.diff),
            )
        except ValueError as exc:
            self.error = str(exc)
            return
        self.error = ""
        with self.hold_sync():
            self.rows, self.total, self.pages = out["rows"], out["total"], out["pages"]
            if out["page"] != self.page:
                self.page = out["page"]

    @t.observe("selected")
    def _on_select(self, change: dict[str, Any]) -> None:
        chosen = change["new"] or {}
        if "row_id" not in chosen or "variant" not in chosen:
            self.detail = {}
            return
        try:
            keys = [k for _, k in self.model.repeats_of(chosen["row_id"], chosen["variant"])]
            self.detail = self.model.detail(chosen["row_id"], chosen["variant"], self._raw(keys))
        except ValueError as exc:
            self.error = str(exc)

    def _raw(self, keys: list[str]) -> dict[str, Any]:
        try:
            with Store(self.table.store_path) as store:
                found = store.get_many(keys)
        except Exception:  # the detail still shows without raw bodies
            return {}
        return {k: r.raw for k, r in found.items()}

    @t.observe("label")
    def _on_label(self, change: dict[str, Any]) -> None:
        msg = change["new"] or {}
        if "row_id" not in msg or "variant" not in msg:
            return
        label, comment = str(msg.get("label") or ""), str(msg.get("comment") or "")
        cell = self.model.repeats_of(msg["row_id"], msg["variant"])
        if msg.get("repeats") is not None:
            wanted = {int(x) for x in msg["repeats"]}
        elif msg.get("repeat") is not None:
            wanted = {int(msg["repeat"])}
        else:
            wanted = {n for n, _ in cell}
        every = wanted == {n for n, _ in cell}
        try:
            for n in [None] if every else sorted(wanted):
                self.table.set_label(msg["row_id"], msg["variant"], label, comment, n)
        except Exception as exc:
            self.error = f"Could not save the label: {exc}"
            return
        for n, _ in cell:
            if n in wanted:
                self.model.set_label(msg["row_id"], msg["variant"], n, label, comment)
        self._refresh()
        if self.selected:
            self._on_select({"new": self.selected})
        self.saved += 1  # last: the page and the detail show the grade by now


def _summary(table: RunTable) -> tuple[list[dict[str, Any]], list[dict[str, Any]], str]:
    """The statistics per variant (plain), the same formatted, and the verdict as text."""
    stats = analyze(table)
    try:
        frame = stats.summary()
    except Exception:
        return [], [], ""
    plain_rows = [{str(k): jsonable(v) for k, v in r.items()} for r in frame.to_dict("records")]
    try:
        verdict = str(stats.verdict()) if table.scorers else ""
    except Exception:
        verdict = ""
    return plain_rows, header_rows(frame, table.scorers), verdict
