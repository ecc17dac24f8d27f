"""``BudgetExplorer``: token budgets of variants × dataset rows as an ipywidget.

Pick a variant and a row (or jump to the largest or an overflowing one) to see where the prompt's
tokens go; preview a truncation to a target; see prompt sizes over the whole dataset. Budgets are
cached per (variant, row), dataset budgets per variant, and a dataset is counted only when a view
needs it. Errors (a template variable missing from a row) show in the widget.
"""

from __future__ import annotations

import contextlib
import dataclasses
import html
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import ipywidgets as w
import pandas as pd

from workbench.config import Settings
from workbench.errors import ConfigError, WorkbenchError
from workbench.prompts.variant import Variant
from workbench.token_budget import (
    Budget,
    DatasetBudget,
    Strategy,
    Truncation,
    _rows,
    budget,
    dataset_budget,
    truncate,
)
from workbench.views.snapshot import snapshot_note, with_static

__all__ = ["BudgetExplorer"]

BUDGET, TRUNCATION, DATASET = 0, 1, 2
"""Tab indices."""
_STRATEGIES = [
    ("drop oldest turns", "drop_oldest_turns"),
    ("trim longest field", "trim_longest_field"),
]
_ORDERS = [("dataset order", "dataset"), ("largest prompt first", "largest")]
_ERROR = "var(--jp-error-color1, #d62728)"
_THEME_CSS = (
    "<style>.wb-budget .lm-TabBar-tab:not(.lm-mod-current) "
    "{ color: var(--jp-ui-font-color1) !important; }</style>"
)
"""Tab labels readable in every theme (the default grey of inactive tabs is too faint)."""


class BudgetExplorer:
    """Where each prompt's tokens go, for a variant and a row picked from lists; a truncation
    preview; prompt sizes across the dataset and the rows that overflow.

    ``variants``: a Variant, a list of them, or an Experiment (its variants and dataset).
    ``dataset``: a Dataset, DataFrame or list of row dicts. ``row``: position or row id.
    ``target_tokens``: the truncation target (default: the usable window, else the prompt size).
    """

    def __init__(
        self,
        variants: Variant | Sequence[Variant] | Any,
        dataset: Any = None,
        *,
        row: int | str = 0,
        target_tokens: int | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.variants, dataset = _source(variants, dataset)
        self.row_ids, self.rows = _rows(dataset)
        if not self.rows:
            raise ConfigError("BudgetExplorer needs a dataset with at least one row.")
        self.settings = settings
        self.chart: Any = None
        """The dataset view's altair chart (None until that view is shown)."""
        self._budgets: dict[tuple[int, int], Budget] = {}
        self._datasets: dict[int, DatasetBudget] = {}
        self._truncations: dict[tuple[int, int, int, str], Truncation] = {}
        self._auto_target = target_tokens is None
        self._quiet = False
        self._dataset_shown: int | None = None

        self.variant = w.Dropdown(
            description="variant", options=[(v.name, i) for i, v in enumerate(self.variants)]
        )
        self.row = w.Dropdown(description="row", options=self._row_options(None))
        self.row.value = self._position(row)
        self.order = w.Dropdown(description="rows in", options=_ORDERS, value="dataset")
        self.largest = w.Button(description="Largest", tooltip="The row with the largest prompt")
        self.next_overflow = w.Button(
            description="Next overflow", tooltip="The next row whose prompt overflows the window"
        )
        self.status = w.HTML()
        self.budget_html = w.HTML()
        self.target = w.IntText(description="target tokens", value=target_tokens or 0)
        self.strategy = w.Dropdown(description="strategy", options=_STRATEGIES)
        self.truncation_html = w.HTML()
        self.dataset_html = w.HTML()
        self.chart_out = w.Output()
        self.overflow_html = w.HTML()
        self.tabs = w.Tab(
            children=[
                self.budget_html,
                w.VBox([w.HBox([self.target, self.strategy]), self.truncation_html]),
                w.VBox([self.dataset_html, self.chart_out, self.overflow_html]),
            ]
        )
        self.tabs.titles = ("Budget", "Truncation", "Dataset")
        self.box = w.VBox(
            [
                w.HTML(_THEME_CSS),
                w.HBox([self.variant, self.row]),
                w.HBox([self.order, self.largest, self.next_overflow]),
                self.status,
                self.tabs,
            ]
        )
        self.box.add_class("wb-budget")
        self.variant.observe(self._safely(self._on_variant), names="value")
        self.row.observe(self._safely(self.refresh), names="value")
        self.order.observe(self._safely(self._relabel_rows), names="value")
        self.target.observe(self._safely(self._on_target), names="value")
        self.strategy.observe(self._safely(self._show_truncation), names="value")
        self.tabs.observe(self._safely(self.refresh), names="selected_index")
        self.largest.on_click(self._safely(self._pick_largest))
        self.next_overflow.on_click(self._safely(self._pick_next_overflow))
        self.refresh()

    # -- computed, cached ---------------------------------------------------------------------

    def budget(self, variant: int | None = None, row: int | None = None) -> Budget:
        """The budget of a variant (index) on a row (position); default: the picked ones."""
        key = (
            self.variant.value if variant is None else variant,
            self.row.value if row is None else row,
        )
        if key not in self._budgets:
            v, r = key
            self._budgets[key] = budget(self.variants[v], self.rows[r], settings=self.settings)
        return self._budgets[key]

    def dataset_budget(self, variant: int | None = None) -> DatasetBudget:
        """Prompt sizes of a variant (index; default: the picked one) over every row."""
        v = self.variant.value if variant is None else variant
        if v not in self._datasets:
            self.status.value = f"<i>Counting prompt tokens over {len(self.rows):,} rows…</i>"
            try:
                db = dataset_budget(self.variants[v], self.rows, settings=self.settings)
                self._datasets[v] = dataclasses.replace(db, df=db.df.assign(row_id=self.row_ids))
            finally:
                self.status.value = ""
        return self._datasets[v]

    def truncation(self) -> Truncation:
        """The truncation preview for the picked variant, row, target and strategy."""
        strategy: Strategy = self.strategy.value
        key = (self.variant.value, self.row.value, int(self.target.value), strategy)
        if key not in self._truncations:
            v, r, target, _ = key
            self._truncations[key] = truncate(
                self.variants[v], self.rows[r], target, strategy, settings=self.settings
            )
        return self._truncations[key]

    # -- views ---------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Show the picked variant and row in the open view."""
        self._show_budget()
        if self.tabs.selected_index == TRUNCATION:
            self._show_truncation()
        elif self.tabs.selected_index == DATASET:
            self._show_dataset()

    def _show_budget(self) -> None:
        try:
            b = self.budget()
        except Exception as exc:
            self.budget_html.value = _error_html(exc)
            return
        where = f"row {self.row_ids[self.row.value]} ({self.row.value + 1} of {len(self.rows)})"
        self.budget_html.value = f"<p><b>{html.escape(where)}</b></p>" + b._repr_html_()
        if self._auto_target:
            usable = b.context_window - b.reserved_output if b.context_window else None
            with self._quietly():
                self.target.value = b.prompt_tokens if usable is None else usable

    def _show_truncation(self) -> None:
        if self.tabs.selected_index != TRUNCATION:
            return
        try:
            self.budget()
            if self.target.value < 1:
                raise ConfigError("Set target tokens to a positive number.")
            t = self.truncation()
        except Exception as exc:
            self.truncation_html.value = _error_html(exc)
            return
        state = (
            f"fits within {t.target_tokens:,}"
            if t.fits
            else f"still over the target of {t.target_tokens:,}"
        )
        cut = (
            "<ul>" + "".join(f"<li>{html.escape(c)}</li>" for c in t.cut) + "</ul>"
            if t.cut
            else "<p>Nothing to cut: "
            + ("the prompt already fits.</p>" if t.fits else "this strategy finds nothing.</p>")
        )
        head = f"{t.before.prompt_tokens:,} → {t.after.prompt_tokens:,} prompt tokens: {state}."
        colour = "" if t.fits else f' style="color:{_ERROR}"'
        self.truncation_html.value = (
            f"<p{colour}><b>{html.escape(head)}</b></p>{cut}" + t.table().to_html(index=False)
        )

    def _show_dataset(self) -> None:
        v = self.variant.value
        if self._dataset_shown == v:
            return
        try:
            db = self.dataset_budget()
        except Exception as exc:
            self.dataset_html.value = _error_html(exc)
            self.chart, self.chart_out.outputs, self.overflow_html.value = None, (), ""
            self._dataset_shown = None
            return
        from workbench.views.charts import prompt_sizes  # altair: only once this view opens

        self._relabel_rows()
        stats = pd.DataFrame([{k: round(x) for k, x in db.summary.items()}])
        self.dataset_html.value = f"<p>{html.escape(str(db))}</p>" + stats.to_html(index=False)
        usable = db.context_window - db.reserved_output if db.context_window else None
        self.chart = prompt_sizes(db.df, limit=usable)
        self.chart_out.outputs = (_display_data(self.chart),)
        over = db.overflowing
        self.overflow_html.value = (
            f"<p><b>{len(over):,} overflowing row(s)</b> (Next overflow picks them in turn):</p>"
            + over.to_html(index=False)
            if len(over)
            else "<p>No row overflows.</p>"
        )
        self._dataset_shown = v

    # -- events --------------------------------------------------------------------------------

    def _on_variant(self) -> None:
        self.refresh()
        self._relabel_rows()

    def _on_target(self) -> None:
        if not self._quiet:
            self._auto_target = False
            self._show_truncation()

    def _pick_largest(self) -> None:
        sizes = self.dataset_budget().df["prompt_tokens"]
        self._relabel_rows()
        self.row.value = int(sizes.to_numpy().argmax())

    def _pick_next_overflow(self) -> None:
        db = self.dataset_budget()
        self._relabel_rows()
        over = [i for i, o in enumerate(db.df["overflow"]) if o]
        if not over:
            self.status.value = f"<p>No row overflows with {html.escape(db.variant)}.</p>"
            return
        self.row.value = next((i for i in over if i > self.row.value), over[0])

    def _relabel_rows(self) -> None:
        """Row labels with prompt sizes once known; sorted largest first if asked."""
        sizes: DatasetBudget | None = self._datasets.get(self.variant.value)
        try:
            if self.order.value == "largest":
                sizes = self.dataset_budget()
        finally:  # on an error, labels without sizes rather than another variant's
            with self._quietly():
                self.row.options = self._row_options(sizes)

    def _row_options(self, sizes: DatasetBudget | None) -> list[tuple[str, int]]:
        if sizes is None:
            return [(rid, i) for i, rid in enumerate(self.row_ids)]
        tokens = [int(n) for n in sizes.df["prompt_tokens"]]
        labels = [
            f"{rid} · {n:,} tokens" + (" · overflow" if o else "")
            for rid, n, o in zip(self.row_ids, tokens, sizes.df["overflow"], strict=True)
        ]
        order = list(range(len(labels)))
        if self.order.value == "largest":
            order.sort(key=lambda i: -tokens[i])
        return [(labels[i], i) for i in order]

    def _position(self, row: int | str) -> int:
        if isinstance(row, str) and row in self.row_ids:
            return self.row_ids.index(row)
        if isinstance(row, int) and -len(self.rows) <= row < len(self.rows):
            return row % len(self.rows)
        raise ConfigError(
            f"No row {row!r}: pass a position below {len(self.rows)} or a row id such as "
            f"{self.row_ids[0]!r}."
        )

    @contextlib.contextmanager
    def _quietly(self) -> Iterator[None]:
        """Programmatic changes: the target observer does not take them for the user's."""
        quiet, self._quiet = self._quiet, True
        try:
            yield
        finally:
            self._quiet = quiet

    def _safely(self, action: Callable[[], None]) -> Callable[..., None]:
        """An observer that shows errors in the widget rather than raising them."""

        def run(*_: Any) -> None:
            self.status.value = ""
            try:
                action()
            except Exception as exc:
                self.status.value = _error_html(exc)

        return run

    # -- display -------------------------------------------------------------------------------

    def static_html(self) -> str:
        """The budget shown now, as HTML saved with the notebook (no kernel needed to read it)."""
        shown = str(self.budget_html.value)
        return snapshot_note("explorer (other rows, truncation, dataset)") + shown

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return with_static(self.box._repr_mimebundle_(**kwargs), self.static_html())

    def _ipython_display_(self) -> None:
        from IPython.display import display  # type: ignore[import-not-found,unused-ignore]

        display(self._repr_mimebundle_(), raw=True)  # type: ignore[no-untyped-call,unused-ignore]


def _source(variants: Any, dataset: Any) -> tuple[list[Variant], Any]:
    if hasattr(variants, "variants") and hasattr(variants, "dataset"):  # an Experiment
        return list(variants.variants), variants.dataset if dataset is None else dataset
    found = [variants] if isinstance(variants, Variant) else list(variants)
    if not found or not all(isinstance(v, Variant) for v in found):
        raise ConfigError("BudgetExplorer needs a Variant, a list of Variants or an Experiment.")
    if dataset is None:
        raise ConfigError("BudgetExplorer needs a dataset: a Dataset, DataFrame or list of rows.")
    return found, dataset


def _error_html(exc: Exception) -> str:
    text = str(exc) if isinstance(exc, WorkbenchError) else f"{type(exc).__name__}: {exc}"
    return f'<p style="color:{_ERROR}"><b>Error:</b> {html.escape(text)}</p>'


def _display_data(chart: Any) -> dict[str, Any]:
    """An Output widget entry for ``chart``, drawn by the active altair renderer."""
    try:
        bundle = chart._repr_mimebundle_()
    except Exception as exc:
        bundle = {"text/plain": f"The chart could not be drawn: {exc}"}
    data, metadata = bundle if isinstance(bundle, tuple) else (bundle, {})
    return {"output_type": "display_data", "data": data, "metadata": metadata}
