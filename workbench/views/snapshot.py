"""Static renderings saved beside each widget, for readers without a kernel.

A widget's output in a saved notebook is only a pointer to a model that lives in the kernel:
reopened without one (JupyterLab's default, GitHub's notebook view, ``nbconvert --to html``) it
shows nothing. Each display object therefore also carries ``text/html``: the first page of the
grid, its statistics header and verdict; the budget shown; a finished run's progress — saying
that the live view needs a kernel. Colours are set with their text colour, so they read in light
and dark themes, and every state is also a symbol (✓ ✗ ½), so nothing depends on colour alone.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

from workbench.views.grid_model import GridModel

__all__ = [
    "NEEDS_KERNEL",
    "STATES",
    "compare_html",
    "grid_page_html",
    "snapshot_note",
    "summary_html",
    "with_static",
]

NEEDS_KERNEL = "the live {what} needs a running kernel: run this cell again"
STATES: Mapping[str, tuple[str, str, str]] = {
    "pass": ("✓", "#e6f4ea", "#0d5223"),
    "fail": ("✗", "#fdecea", "#8a1c12"),
    "mixed": ("½", "#fff4e5", "#6b4100"),
    "none": ("–", "#f1f1f1", "#333333"),
}
"""Check state -> (symbol, background, text colour): 4.5:1 or more in both themes."""
_CELL = "padding:3px 6px;border:1px solid #bbb;vertical-align:top;text-align:left"
_NOTE = "color:#555;background:#f7f7f7;padding:2px 6px;border-left:3px solid #888"


def snapshot_note(what: str) -> str:
    """The line that says this is a saved snapshot and what the live view needs."""
    text = f"Saved snapshot · {NEEDS_KERNEL.format(what=what)}."
    return f'<p class="wb-snapshot-note" style="{_NOTE}"><i>{html.escape(text)}</i></p>'


def with_static(bundle: Any, static_html: str) -> Any:
    """A widget's mimebundle (a dict, or ``(data, metadata)``) with ``text/html`` added."""
    data, metadata = bundle if isinstance(bundle, tuple) else (bundle, None)
    data = {**(data or {}), "text/html": static_html}
    return data if metadata is None else (data, metadata)


def _fmt(value: Any, spec: str, missing: str = "–") -> str:
    return missing if _missing(value) else format(float(value), spec)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def summary_html(rows: Sequence[Mapping[str, Any]], scorers: Sequence[str]) -> str:
    """The statistics header: per variant its model, each scorer's pass rate with its 95%
    interval, errors, cost and median latency."""
    if not rows:
        return ""
    head = ["variant", "model", *[f"{s} (95% CI)" for s in scorers], "errors", "cost $", "p50 ms"]
    body = []
    for r in rows:
        cells = [str(r.get("variant", "")), str(r.get("model", ""))]
        for s in scorers:
            cells.append(
                f"{_fmt(r.get(f'{s}_pass_rate'), '.0%')} "
                f"[{_fmt(r.get(f'{s}_pass_low'), '.0%')}–{_fmt(r.get(f'{s}_pass_high'), '.0%')}]"
            )
        cells += [
            str(r.get("errors", "")),
            _fmt(r.get("cost_usd"), ".4f", "unknown"),
            _fmt(r.get("latency_p50_ms"), ".0f"),
        ]
        body.append("".join(f'<td style="{_CELL}">{html.escape(c)}</td>' for c in cells))
    return _table(head, body, "wb-snapshot-summary")


def _table(head: Sequence[str], body: Sequence[str], cls: str) -> str:
    th = "".join(f'<th style="{_CELL}">{html.escape(h)}</th>' for h in head)
    rows = "".join(f"<tr>{r}</tr>" for r in body)
    return (
        f'<table class="{cls}" style="border-collapse:collapse;font-size:90%">'
        f"<thead><tr>{th}</tr></thead><tbody>{rows}</tbody></table>"
    )


def _cell_html(cell: Mapping[str, Any], limit: int) -> str:
    if cell.get("missing"):
        return f'<td style="{_CELL}">–</td>'
    checks = cell.get("checks", {})
    worst = "none"
    for state in ("fail", "mixed", "pass"):
        if any(c["state"] == state for c in checks.values()):
            worst = state
            break
    status = cell.get("status")
    if status == "error" or (status is None and cell.get("errors")):
        worst = "fail"
    elif status == "notrun":
        worst = "none"
    _, background, colour = STATES[worst]
    marks = " ".join(
        f"{STATES[c['state']][0]} {html.escape(name)} {c['k']}/{c['n']}"
        for name, c in checks.items()
    )
    text = str(cell.get("output") or "")
    if len(text) > limit:
        text = text[:limit] + "…"
    shown = cell.get("diff") or html.escape(text)
    if status == "notrun":
        shown = "<i>○ not run</i>"
    elif cell.get("errors") and not text:
        shown = "<i>call failed</i>"
    return (
        f'<td class="wb-snapshot-cell wb-snapshot-{worst}" style="{_CELL};'
        f'background:{background};color:{colour}">{shown}'
        f"<br><small>{marks}</small></td>"
    )


def grid_page_html(
    model: GridModel,
    *,
    page_size: int = 25,
    baseline: str | None = None,
    limit: int = 160,
) -> str:
    """The first page of the comparison grid as a static table: the row's inputs and each
    variant's output with its checks (``k/n`` repeats passed)."""
    page = model.page(page_size=page_size, baseline=baseline)
    head = ["row", *model.inputs, *model.variants]
    body = []
    for row in page["rows"]:
        inputs = "".join(
            f'<td style="{_CELL}">{html.escape(str(row["inputs"].get(c, ""))[:limit])}</td>'
            for c in model.inputs
        )
        cells = "".join(_cell_html(c, limit) for c in row["cells"])
        body.append(f'<td style="{_CELL}">{html.escape(str(row["row_id"]))}</td>{inputs}{cells}')
    shown = len(page["rows"])
    more = (
        f"<p>Rows 1–{shown} of {page['total']}; every row is in the one-file report: "
        f'<code>res.report("run.html")</code>.</p>'
        if page["total"] > shown
        else ""
    )
    return _table(head, body, "wb-snapshot-grid") + more


def compare_html(
    title: str,
    model: GridModel,
    summary: Sequence[Mapping[str, Any]],
    verdict: str,
    *,
    page_size: int = 25,
    baseline: str | None = None,
) -> str:
    """The comparison grid as saved with the notebook: title, the note that the live grid
    needs a kernel, the statistics header, the verdict and the first page of rows."""
    stats = (
        summary_html(summary, model.scorers)
        if summary
        else "<p><i>The statistics were still being computed when this was shown: "
        "res.summary() or the report has them.</i></p>"
    )
    said = f'<p class="wb-snapshot-verdict">{html.escape(verdict)}</p>' if verdict else ""
    return (
        f'<div class="wb-snapshot"><p><b>{html.escape(title)}</b></p>'
        f"{snapshot_note('grid (filters, sorting, each cell’s detail, grading)')}"
        f"{stats}{said}{grid_page_html(model, page_size=page_size, baseline=baseline)}</div>"
    )
