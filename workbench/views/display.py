"""How a run's results show in a notebook: the comparison grid where widgets work, else the
leaderboard as HTML. The one place that decides."""

from __future__ import annotations

import html

from workbench.analysis.run import analyze
from workbench.results.table import RunTable
from workbench.views.notebook import in_notebook

__all__ = ["error_html", "results_html", "show_results"]


def results_html(table: RunTable) -> str:
    """The run's heading, its message and the leaderboard, as HTML."""
    record = table.record
    note = f"<p>{html.escape(record.message)}</p>" if record.message else ""
    board = analyze(table).leaderboard().to_html(index=False, na_rep="–")
    return (
        f"<p><b>{html.escape(record.experiment)}</b> · run {record.run_id} · "
        f"{len(table.df)} cells · {record.status}</p>{note}" + board
    )


def error_html(error: BaseException, label: str, *, started: bool = False) -> str:
    """A run's error as a panel in the notebook's theme: what happened to the run, then the
    error's own message (which says what to do)."""
    what = "stopped by an error" if started else "did not start: no call was made"
    colour = "var(--jp-error-color1, #d62728)"
    style = (
        f"border-left:4px solid {colour};padding:4px 8px;margin:2px 0;"
        f"background:color-mix(in srgb, {colour} 10%, var(--jp-layout-color0, #fff));"
        "color:var(--jp-content-font-color1, #000)"
    )
    return (
        f'<div class="wb-run-error" role="alert" style="{style}"><b>{html.escape(label)}</b> '
        f"{what}.<br><b>{type(error).__name__}</b>: {html.escape(str(error))}</div>"
    )


def show_results(table: RunTable, text: str) -> None:
    """Display a run as a cell's output: the grid in a notebook with anywidget, else HTML."""
    from IPython.display import display  # type: ignore[import-not-found,unused-ignore]

    if in_notebook():
        try:
            from workbench.views.grid import Compare
        except ImportError:
            pass
        else:
            display(Compare(table))  # type: ignore[no-untyped-call,unused-ignore]
            return
    display(  # type: ignore[no-untyped-call,unused-ignore]
        {"text/plain": text, "text/html": results_html(table)}, raw=True
    )
