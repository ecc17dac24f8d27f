"""How a run's results show in a notebook: the comparison grid where widgets work, else the
leaderboard as HTML. The one place that decides."""

from __future__ import annotations

import html

from workbench.analysis.run import analyze
from workbench.results.table import RunTable
from workbench.views.notebook import in_notebook

__all__ = ["results_html", "show_results"]


def results_html(table: RunTable) -> str:
    """The run's heading, its message and the leaderboard, as HTML."""
    record = table.record
    note = f"<p>{html.escape(record.message)}</p>" if record.message else ""
    board = analyze(table).leaderboard().to_html(index=False, na_rep="–")
    return (
        f"<p><b>{html.escape(record.experiment)}</b> · run {record.run_id} · "
        f"{len(table.df)} cells · {record.status}</p>{note}" + board
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
