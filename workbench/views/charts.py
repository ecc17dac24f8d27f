"""Charts as pure functions of DataFrames → altair Charts, for widgets, notebooks and reports.

Nothing here fetches anything: :func:`to_svg` renders through vl-convert offline, and
:func:`enable_offline` makes JupyterLab draw charts with no internet.
"""

from __future__ import annotations

import base64
from typing import Any

import altair as alt
import pandas as pd

__all__ = [
    "cost_quality",
    "enable_offline",
    "latency",
    "pass_rate",
    "prompt_sizes",
    "to_svg",
    "token_budget",
]


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
    bars = base.mark_bar(color="#4c78a8").encode(
        x=alt.X("value:Q", title=title, scale=alt.Scale(domain=[0, 1])),
        tooltip=["variant", "value", "low", "high"],
    )
    errors = base.mark_errorbar(ticks=True, color="black").encode(
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


_BUDGET_KINDS = [
    "inserted",
    "system",
    "example",
    "turn",
    "user",
    "field",
    "tools",
    "overhead",
    "reserved",
    "free",
]
_BUDGET_COLOURS = alt.Scale(
    domain=_BUDGET_KINDS,
    range=[
        "#b279a2",
        "#4c78a8",
        "#72b7b2",
        "#54a24b",
        "#f58518",
        "#e45756",
        "#9d755d",
        "#bab0ac",
        "#888888",
        "#eeeeee",
    ],
)


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
                scale=alt.Scale(domain=["fits", "overflows"], range=["#4c78a8", "#d62728"]),
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
    GitHub and nbconvert as they are."""
    return {
        "image/svg+xml": _svg(spec),
        "image/png": _png(spec),
        "text/plain": "<altair chart (SVG, PNG)>",
    }


def _interactive_renderer(spec: dict[str, Any], **_: Any) -> Any:
    """The offline Jupyter chart widget (tooltips), with the SVG beside it for readers without
    a kernel."""
    try:
        from altair.vegalite.v6.display import jupyter_renderer
    except ImportError:  # altair 5
        from altair.vegalite.v5.display import jupyter_renderer  # type: ignore[no-redef]

    bundle = jupyter_renderer(spec, offline=True)
    data, metadata = bundle if isinstance(bundle, tuple) else (bundle, {})
    return {**data, **_svg_renderer(spec), "text/plain": data.get("text/plain", "")}, metadata


alt.renderers.register("workbench-svg", _svg_renderer)
alt.renderers.register("workbench-interactive", _interactive_renderer)


def enable_offline(interactive: bool = False) -> None:
    """Draw altair charts in JupyterLab without internet, as inline SVG: small, saved with the
    notebook, and shown by a reader without a kernel, GitHub and ``nbconvert --to html``.
    ``interactive=True``: the offline chart widget (tooltips) with the SVG beside it; a
    notebook saved with widget state then stores about 1 MB per chart."""
    alt.renderers.enable("workbench-interactive" if interactive else "workbench-svg")
