"""One run as a single offline HTML file: verdict, leaderboard with intervals, charts, the
comparison grid (plain JavaScript: paging, filters, search, sort, word diff, each cell's detail)
and provenance. Nothing is fetched: scripts, styles, data and charts (SVG) are inline. The page
follows the reader's light or dark system theme. A page that would hold a secret is not written.
"""

from __future__ import annotations

import html
import json
import math
import time
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from workbench.analysis.run import analyze
from workbench.artifact.files import find_secret
from workbench.errors import WorkbenchError
from workbench.plain import plain
from workbench.report.payload import grid_payload
from workbench.results.table import RunTable
from workbench.version import __version__

__all__ = ["report_html", "write_report"]


def _asset(name: str) -> str:
    return resources.files("workbench.report").joinpath(name).read_text(encoding="utf-8")


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _fmt(value: Any, spec: str, missing: str = "–") -> str:
    return missing if _missing(value) else format(float(value), spec)


def _when(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(seconds))


def _table(head: Iterable[str], rows: Iterable[Iterable[str]], cls: str = "") -> str:
    th = "".join(f"<th>{_esc(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'


def _leaderboard(table: RunTable) -> str:
    board = analyze(table).leaderboard()
    scorers = table.scorers
    head = ["rank", "variant", "model", *[f"{s} pass rate (95% CI)" for s in scorers]]
    head += ["p vs best", "errors", "cost $", "p50 ms", "p95 ms", "stable"]
    rows = []
    for r in board.to_dict(orient="records"):
        cells = [str(r["rank"]), _esc(r["variant"]), _esc(r["model"])]
        for s in scorers:
            cells.append(
                f"{_fmt(r[f'{s}_pass_rate'], '.0%')} <span class='ci'>"
                f"[{_fmt(r[f'{s}_pass_low'], '.0%')}–{_fmt(r[f'{s}_pass_high'], '.0%')}]</span>"
            )
        cells += [
            _fmt(r.get("p_vs_best"), ".3g"),
            str(r["errors"]),
            _fmt(r["cost_usd"], ".4f", "unknown"),
            _fmt(r["latency_p50_ms"], ".0f"),
            _fmt(r["latency_p95_ms"], ".0f"),
            _fmt(r["stability"], ".0%"),
        ]
        rows.append(cells)
    reducer = board["reducer"].iloc[0] if len(board) else ""
    note = f"<p class='note'>Repeats of a row reduced by {_esc(reducer)}; intervals over rows.</p>"
    return _table(head, rows, "board") + note


def _charts(table: RunTable) -> str:
    try:
        from workbench.views import charts
    except ImportError:
        return "<p class='note'>Charts need pip install 'prompt-workbench[notebook]'.</p>"
    summary = analyze(table).summary()
    made: list[tuple[str, Any]] = []
    if table.scorers:
        made += [(f"{table.scorers[0]} pass rate", lambda: charts.pass_rate(summary))]
        made += [("cost and quality", lambda: charts.cost_quality(summary))]
    made += [("latency", lambda: charts.latency(table.df))]
    out = []
    for title, build in made:
        try:
            svg = charts.to_svg(build())
        except Exception as exc:  # a chart that cannot be drawn does not stop the report
            svg = f"<p class='note'>{_esc(title)}: not drawn ({_esc(exc)})</p>"
        out.append(f'<figure class="chart" aria-label="{_esc(title)}">{svg}</figure>')
    return f'<div class="charts">{"".join(out)}</div>'


def _provenance(table: RunTable) -> str:
    record = table.record
    spend, env, data = record.spend, record.environment, record.dataset
    facts = [
        ("experiment", _esc(record.experiment)),
        ("run", f"{_esc(record.run_id)} ({_esc(record.kind)}, {_esc(record.status)})"),
        ("started / finished", f"{_when(record.started)} / {_when(record.finished)}"),
        (
            "dataset",
            f"{_esc(data.source)}: {data.rows} rows, columns {_esc(', '.join(data.columns))}",
        ),
        ("dataset fingerprint", f"<code>{_esc(data.fingerprint)}</code>"),
        ("repeats", str(record.repeats)),
        ("models", _esc(", ".join(record.models))),
        (
            "cost",
            f"calls ${spend.calls_usd:.4f}, scoring ${spend.scoring_usd:.4f} "
            f"({spend.judge_calls} judge calls); {spend.unpriced_calls} calls without a price; "
            f"{spend.not_made} not made at the budget"
            + ("" if record.budget_usd is None else f" of ${record.budget_usd:.2f}"),
        ),
        ("git commit", f"<code>{_esc(env.git_commit or 'not in a git repository')}</code>"),
        (
            "made with",
            f"workbench {_esc(env.workbench)}, Python {_esc(env.python)}, {_esc(env.platform)}",
        ),
        ("report", f"workbench {_esc(__version__)}"),
    ]
    rows = "".join(f"<tr><th>{_esc(k)}</th><td>{v}</td></tr>" for k, v in facts)
    variants = "".join(
        f"<details><summary><b>{_esc(v.name)}</b> · {_esc(v.model)} · prompt "
        f"<code>{_esc(v.fingerprint)}</code> · params {_esc(json.dumps(dict(v.params)))}"
        f"</summary><pre>{_esc(json.dumps(v.spec(), indent=2, ensure_ascii=False))}</pre></details>"
        for v in record.variants
    )
    scorers = "".join(
        f"<li><code>{_esc(name)}</code>: {_esc(json.dumps(plain(dict(spec)), ensure_ascii=False))}</li>"
        for name, spec in zip(record.scorer_columns, record.scorers, strict=True)
    )
    return (
        f'<table class="facts">{rows}</table><h3>Variants</h3>{variants}'
        f"<h3>Scorers</h3><ul>{scorers or '<li>none</li>'}</ul>"
    )


def _script_json(data: Any) -> str:
    """JSON safe inside a <script> element."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def report_html(table: RunTable) -> str:
    """The report of one run as one self-contained HTML page."""
    record = table.record
    title = f"{record.experiment} · run {record.run_id}"
    verdict = (
        analyze(table).verdict()._repr_html_()
        if table.scorers
        else "<p>No scorer: nothing to judge by.</p>"
    )
    message = f"<p class='message'>{_esc(record.message)}</p>" if record.message else ""
    cells = len(table.df)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>{_esc(title)}</title>
<style>{_asset("report.css")}</style></head>
<body>
<header><h1>{_esc(title)}</h1>
<p class="status status-{_esc(record.status)}">{_esc(record.status)} · {cells} cells ·
{len(table.variants)} variants × {record.dataset.rows} rows × {record.repeats} repeats ·
finished {_when(record.finished)}</p>{message}</header>
<section><h2>Verdict</h2><div class="verdict">{verdict}</div></section>
<section><h2>Leaderboard</h2>{_leaderboard(table)}</section>
<section><h2>Charts</h2>{_charts(table)}</section>
<section><h2>Rows</h2><div id="grid"><noscript>The grid needs JavaScript.</noscript></div></section>
<section><h2>Provenance</h2>{_provenance(table)}</section>
<script type="application/json" id="wb-data">{_script_json(grid_payload(table))}</script>
<script>{_asset("report.js")}</script>
</body></html>
"""


def _locate_secret(table: RunTable) -> str:
    """Where in the run a secret sits, for the message (never the secret itself)."""
    for v in table.record.variants:
        if find_secret(json.dumps(v.spec(), ensure_ascii=False)):
            return f"variant '{v.name}' (its templates or params)"
    df = table.df
    for column in df.columns:
        values = df[column]
        if not (pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)):
            continue
        for row_id, variant, value in zip(df["row_id"], df["variant"], values, strict=True):
            if isinstance(value, str) and find_secret(value):
                return f"column '{column}' of row {row_id}, variant '{variant}'"
    return "the run's record"


def write_report(table: RunTable, path: str | Path) -> Path:
    """Write the report of ``table`` to ``path`` (.html); refused, naming where, when the page
    would contain a secret (an API key, a token, a key's value from the environment)."""
    out = Path(path)
    if out.suffix.lower() not in (".html", ".htm"):
        raise WorkbenchError(f"A report is an HTML file: name it e.g. {out.with_suffix('.html')}.")
    page = report_html(table)
    kind = find_secret(page)
    if kind:
        raise WorkbenchError(
            f"Refusing to write {out}: it would contain {kind}, in {_locate_secret(table)}. "
            f"Remove it from the dataset, templates or params (keys belong in the environment "
            f"only), run again, and write the report of the new run."
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out
