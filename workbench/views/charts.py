"""Charts as pure functions of DataFrames → altair Charts, for widgets, notebooks and reports.

Nothing here fetches anything: :func:`to_svg` renders through vl-convert offline, and
:func:`enable_offline` makes JupyterLab draw charts with no internet in the ``workbench`` altair
theme (mid-tone marks that show on light and dark backgrounds): as inline SVG and PNG on their
own white background (saved with the notebook, readable in either theme), or as the chart widget
whose text, axis and background colours come from JupyterLab's theme variables, so a chart
follows the theme even when it is switched.
"""

from __future__ import annotations

import base64
from typing import Any

import altair as alt
import pandas as pd

from workbench.token_budget import SEGMENT_COLOURS

__all__ = [
    "THEME",
    "cost_quality",
    "enable_offline",
    "latency",
    "pass_rate",
    "prompt_sizes",
    "to_svg",
    "token_budget",
]


PALETTE = ["#4c78a8", "#f58518", "#54a24b", "#b279a2", "#e45756", "#72b7b2", "#eeca3b", "#9d755d"]
"""Mark colours: mid tones, visible (3:1 or more) on white and on JupyterLab's dark background."""
_NEUTRAL = "#888888"
"""Interval bars and rules: grey that shows on light and dark backgrounds."""
_INK, _LINE = "#222222", "#bbbbbb"
"""Text and axis lines where no notebook theme applies (SVG exports, reports: light)."""
THEME: dict[str, Any] = {
    "config": {
        "background": "white",
        "view": {"stroke": _LINE},
        "range": {"category": PALETTE},
        "mark": {"color": PALETTE[0]},
        "axis": {
            "domainColor": _NEUTRAL,
            "tickColor": _NEUTRAL,
            "gridColor": _LINE,
            "labelColor": _INK,
            "titleColor": _INK,
        },
        "legend": {"labelColor": _INK, "titleColor": _INK},
        "title": {"color": _INK, "subtitleColor": _INK},
    }
}
"""The ``workbench`` altair theme. In JupyterLab (after :func:`enable_offline`) text, axes and
background follow the notebook theme instead."""
THEME_CSS = """
.jp-OutputArea-output .vega-embed svg.marks { background-color: transparent !important; }
.jp-OutputArea-output .vega-embed svg.marks > rect:first-child { fill: transparent; }
.jp-OutputArea-output .vega-embed :is(.role-axis-label, .role-axis-title, .role-legend-label,
  .role-legend-title, .role-title-text, .role-title-subtitle) text {
  fill: var(--jp-ui-font-color1, #222);
}
.jp-OutputArea-output .vega-embed :is(.role-axis-domain, .role-axis-tick) :is(line, path) {
  stroke: var(--jp-ui-font-color2, #888);
}
.jp-OutputArea-output .vega-embed .role-axis-grid :is(line, path),
.jp-OutputArea-output .vega-embed .role-frame > g > path.background {
  stroke: var(--jp-border-color2, #ddd);
}
#vg-tooltip-element.vg-tooltip {
  background: var(--jp-layout-color1, #fff); color: var(--jp-ui-font-color1, #222);
  border: 1px solid var(--jp-border-color1, #bbb);
}
#vg-tooltip-element.vg-tooltip td.key { color: var(--jp-ui-font-color1, #222); }
"""
"""How charts drawn by the ``workbench`` renderer take the notebook theme's colours."""


def _need(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} needs column(s) {missing}; got {list(frame.columns)}.")


def _first_scorer(summary: pd.DataFrame) -> str:
    for column in summary.columns:
        if column.endswith("_pass_rate"):
            return column[: -len("_pass_rate")]
    raise ValueError("The summary has no '<scorer>_pass_rate' column: the results need a scorer.")


def pass_rate(summary: pd.DataFrame, scorer: str | None = None, metric: str = "pass") -> alt.Chart:
    """Pass rate (``metric="pass"``) or mean score (``"mean"``) per variant, with its 95%
    interval as error bars, from ``res.summary()``."""
    name = scorer or _first_scorer(summary)
    value, low, high = (
        (f"{name}_pass_rate", f"{name}_pass_low", f"{name}_pass_high")
        if metric == "pass"
        else (f"{name}_mean", f"{name}_mean_low", f"{name}_mean_high")
    )
    _need(summary, ["variant", value, low, high], "pass_rate")
    data = summary[["variant", value, low, high]].rename(
        columns={value: "value", low: "low", high: "high"}
    )
    title = f"{name}: {'pass rate' if metric == 'pass' else 'mean score'} (95% CI)"
    base = alt.Chart(data).encode(y=alt.Y("variant:N", sort=None, title=None))
    bars = base.mark_bar(color=PALETTE[0]).encode(
        x=alt.X("value:Q", title=title, scale=alt.Scale(domain=[0, 1])),
        tooltip=["variant", "value", "low", "high"],
    )
    errors = base.mark_errorbar(ticks=True, color=_NEUTRAL).encode(
        x=alt.X("low:Q", title=title), x2="high:Q"
    )
    return (bars + errors).properties(width=320)  # type: ignore[no-any-return]


def cost_quality(summary: pd.DataFrame, scorer: str | None = None) -> alt.Chart:
    """Each variant as a point: total cost (x) against pass rate (y), interval as a rule."""
    name = scorer or _first_scorer(summary)
    cols = ["variant", "cost_usd", f"{name}_pass_rate", f"{name}_pass_low", f"{name}_pass_high"]
    _need(summary, cols, "cost_quality")
    data = summary[cols].rename(
        columns={
            f"{name}_pass_rate": "pass_rate",
            f"{name}_pass_low": "low",
            f"{name}_pass_high": "high",
        }
    )
    base = alt.Chart(data).encode(x=alt.X("cost_usd:Q", title="cost (USD)"))
    points = base.mark_point(filled=True, size=80).encode(
        y=alt.Y("pass_rate:Q", title=f"{name} pass rate", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("variant:N"),
        tooltip=["variant", "cost_usd", "pass_rate", "low", "high"],
    )
    rules = base.mark_rule().encode(y="low:Q", y2="high:Q", color=alt.Color("variant:N"))
    return (rules + points).properties(width=320, height=240)  # type: ignore[no-any-return]


def latency(df: pd.DataFrame) -> alt.Chart:
    """Distribution of call latency per variant (box plot) from ``res.df``; cached cells count
    with the latency of their original call, failed calls are left out."""
    _need(df, ["variant", "latency_ms"], "latency")
    data = df.loc[
        df.get("error", pd.Series(None, index=df.index)).isna(), ["variant", "latency_ms"]
    ]
    data = data.assign(latency_ms=pd.to_numeric(data["latency_ms"], errors="coerce")).dropna()
    return (  # type: ignore[no-any-return]
        alt.Chart(data)
        .mark_boxplot(extent="min-max")
        .encode(
            y=alt.Y("variant:N", sort=None, title=None),
            x=alt.X("latency_ms:Q", title="latency (ms)"),
            color=alt.Color("variant:N", legend=None),
        )
        .properties(width=320)
    )


_BUDGET_COLOURS = alt.Scale(domain=list(SEGMENT_COLOURS), range=list(SEGMENT_COLOURS.values()))
"""The token budget's palette: the same as the HTML bar's (``token_budget.SEGMENT_COLOURS``)."""


def token_budget(segments: Any, limit: int | None = None) -> alt.Chart:
    """Stacked bar of a prompt's tokens by segment, with the context ``limit`` as a red rule:
    ``charts.token_budget(wb.budget(variant, row))`` (its segments, reserved output and free
    space against the window), or a table with columns ``segment``, ``tokens``, ``kind`` (and
    ``variant`` for one bar each)."""
    if hasattr(segments, "table") and hasattr(segments, "context_window"):  # a Budget
        segments, limit = segments.table(), segments.context_window  # segments are disjoint
    _need(segments, ["segment", "tokens", "kind"], "token_budget")
    data = segments.copy()
    if "variant" not in data.columns:
        data["variant"] = "prompt"
    data["order"] = range(len(data))
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("variant:N", sort=None, title=None),
            x=alt.X("sum(tokens):Q", title="tokens", stack="zero"),
            color=alt.Color("kind:N", title="kind", scale=_BUDGET_COLOURS),
            order=alt.Order("order:Q"),
            tooltip=["variant", "segment", "kind", "tokens"],
        )
    )
    chart: Any = bars
    if limit is not None:
        rule = (
            alt.Chart(pd.DataFrame({"limit": [limit]})).mark_rule(color="red").encode(x="limit:Q")
        )
        chart = bars + rule
    return chart.properties(width=400)  # type: ignore[no-any-return]


def prompt_sizes(sizes: pd.DataFrame, limit: int | None = None, bins: int = 30) -> alt.Chart:
    """Histogram of prompt tokens per row (column ``prompt_tokens``; an ``overflow`` column
    colours the rows that overflow), as in ``dataset_budget(...).df``, with the usable window
    ``limit`` (context window less reserved output) as a red rule."""
    _need(sizes, ["prompt_tokens"], "prompt_sizes")
    overflow = sizes["overflow"] if "overflow" in sizes.columns else False
    data = pd.DataFrame(
        {
            "prompt_tokens": sizes["prompt_tokens"],
            "fit": pd.Series(overflow, index=sizes.index).map({True: "overflows", False: "fits"}),
        }
    )
    title = "prompt tokens"
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("prompt_tokens:Q", bin=alt.Bin(maxbins=bins), title=title),
            y=alt.Y("count():Q", title="rows"),
            color=alt.Color(
                "fit:N",
                title=None,
                scale=alt.Scale(domain=["fits", "overflows"], range=[PALETTE[0], "#d62728"]),
            ),
            tooltip=[alt.Tooltip("prompt_tokens:Q", bin=True, title=title), "count():Q"],
        )
    )
    chart: Any = bars
    if limit is not None:
        rule = (
            alt.Chart(pd.DataFrame({"limit": [limit]}))
            .mark_rule(color="red")
            .encode(
                x=alt.X("limit:Q", title=title),
                tooltip=[alt.Tooltip("limit:Q", title="usable window")],
            )
        )
        chart = bars + rule
    return chart.properties(width=400, height=160)  # type: ignore[no-any-return]


def to_svg(chart: alt.TopLevelMixin) -> str:
    """The chart as SVG text, rendered offline by vl-convert."""
    return _svg(chart.to_dict())


def _svg(spec: dict[str, Any]) -> str:
    import vl_convert as vlc  # type: ignore[import-untyped,unused-ignore]

    return str(vlc.vegalite_to_svg(spec))


def _png(spec: dict[str, Any]) -> str:
    import vl_convert as vlc  # type: ignore[import-untyped,unused-ignore]

    return base64.b64encode(vlc.vegalite_to_png(spec)).decode("ascii")


def _svg_renderer(spec: dict[str, Any], **_: Any) -> dict[str, str]:
    """Inline SVG, and a PNG for where SVG is not shown (JupyterLab shows no SVG of an
    untrusted notebook: one opened without running it): tens of kB, shown by a saved notebook,
    GitHub and nbconvert as they are. Drawn in the ``workbench`` theme: dark ink on its own
    white background, so it reads the same in a light or a dark notebook (an image takes no
    theme colours)."""
    return {
        "image/svg+xml": _svg(spec),
        "image/png": _png(spec),
        "text/plain": "<altair chart (SVG, PNG)>",
    }


_THEMED: list[type] = []


def _themed_widget(spec: dict[str, Any], embed_options: dict[str, Any] | None) -> Any:
    """altair's offline Jupyter chart widget with :data:`THEME_CSS`, drawing SVG (which CSS can
    recolour to the notebook theme) and without the export menu."""
    if not _THEMED:
        alt.JupyterChart.enable_offline(offline=True)

        class ThemedChart(alt.JupyterChart):
            _css = alt.JupyterChart._css + THEME_CSS

        _THEMED.append(ThemedChart)
    options = {"renderer": "svg", "actions": False, **(embed_options or {})}
    return _THEMED[0](chart=alt.Chart.from_dict(spec), embed_options=options)


def _interactive_renderer(spec: dict[str, Any], **metadata: Any) -> Any:
    """The offline chart widget (tooltips) in the notebook's theme, with the SVG and PNG beside
    it for readers without a kernel."""
    bundle = _themed_widget(spec, metadata.get("embed_options"))._repr_mimebundle_()
    data, meta = bundle if isinstance(bundle, tuple) else (bundle, {})
    return {**data, **_svg_renderer(spec), "text/plain": data.get("text/plain", "")}, meta


alt.renderers.register("workbench-svg", _svg_renderer)
alt.renderers.register("workbench-interactive", _interactive_renderer)


def enable_offline(interactive: bool = False) -> None:
    """Draw altair charts in JupyterLab without internet, in the ``workbench`` theme (mid-tone
    marks that show on light and dark backgrounds). By default as inline SVG with a PNG beside
    it: small, saved with the notebook, shown by a reader without a kernel, GitHub and
    ``nbconvert --to html``, on its own white background in either theme.
    ``interactive=True``: the offline chart widget (tooltips), whose text, axes and background
    follow JupyterLab's theme even when it is switched, with the SVG and PNG beside it; a
    notebook saved with widget state then stores about 1 MB per chart."""
    _register_theme()
    alt.renderers.enable("workbench-interactive" if interactive else "workbench-svg")


def _register_theme() -> None:
    theme = getattr(alt, "theme", None)
    if theme is not None and hasattr(theme, "register"):  # altair >= 5.5
        theme.register("workbench", enable=True)(lambda: THEME)
    else:  # pragma: no cover - older altair
        alt.themes.register("workbench", lambda: THEME)
        alt.themes.enable("workbench")
