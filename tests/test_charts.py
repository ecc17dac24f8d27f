"""Charts: each builds from a DataFrame, encodes the right fields, and renders to SVG offline."""

from __future__ import annotations

import pandas as pd
import pytest

alt = pytest.importorskip("altair")
pytest.importorskip("vl_convert")

from workbench.views import charts  # noqa: E402

SUMMARY = pd.DataFrame(
    {
        "variant": ["a", "b"],
        "ok_pass_rate": [0.8, 0.5],
        "ok_pass_low": [0.6, 0.3],
        "ok_pass_high": [0.9, 0.7],
        "ok_mean": [0.8, 0.5],
        "ok_mean_low": [0.6, 0.3],
        "ok_mean_high": [0.9, 0.7],
        "cost_usd": [0.01, 0.002],
    }
)


def _fields(chart: alt.TopLevelMixin) -> set[str]:
    spec = chart.to_dict()
    found: set[str] = set()
    for layer in spec.get("layer", [spec]):
        for channel in layer.get("encoding", {}).values():
            if isinstance(channel, dict) and "field" in channel:
                found.add(channel["field"])
    return found


def test_pass_rate_with_interval_bars() -> None:
    chart = charts.pass_rate(SUMMARY)
    assert {"variant", "value", "low", "high"} <= _fields(chart)
    marks = [layer["mark"]["type"] for layer in chart.to_dict()["layer"]]
    assert marks == ["bar", "errorbar"]
    assert "mean score" in str(charts.pass_rate(SUMMARY, "ok", metric="mean").to_dict())


def test_cost_quality_scatter() -> None:
    chart = charts.cost_quality(SUMMARY)
    assert {"cost_usd", "pass_rate", "variant", "low", "high"} <= _fields(chart)


def test_latency_distribution_leaves_out_failed_calls() -> None:
    df = pd.DataFrame(
        {"variant": ["a", "a", "b"], "latency_ms": [10.0, 20.0, 99.0], "error": [None, None, "x"]}
    )
    chart = charts.latency(df)
    assert {"variant", "latency_ms"} <= _fields(chart)
    assert list(chart.data["latency_ms"]) == [10.0, 20.0]


def test_token_budget_stacked_bar_with_limit() -> None:
    segments = pd.DataFrame(
        {
            "segment": ["system", "few-shot", "user"],
            "tokens": [40, 120, 15],
            "kind": ["a", "b", "c"],
        }
    )
    chart = charts.token_budget(segments, limit=200)
    assert {"tokens", "kind", "variant", "limit"} <= _fields(chart)
    with pytest.raises(ValueError, match="segment"):
        charts.token_budget(pd.DataFrame({"tokens": [1]}))


def test_prompt_sizes_histogram_with_usable_window() -> None:
    sizes = pd.DataFrame(
        {
            "row_id": ["a", "b", "c"],
            "prompt_tokens": [10, 20, 300],
            "overflow": [False, False, True],
        }
    )
    chart = charts.prompt_sizes(sizes, limit=100)
    assert {"prompt_tokens", "fit", "limit"} <= _fields(chart)
    bars, rule = chart.layer
    assert list(bars.data["fit"]) == ["fits", "fits", "overflows"]
    assert list(rule.data["limit"]) == [100]
    plain = charts.prompt_sizes(sizes[["prompt_tokens"]])  # no overflow column, no limit
    assert plain.to_dict()["mark"]["type"] == "bar" and set(plain.data["fit"]) == {"fits"}
    with pytest.raises(ValueError, match="prompt_tokens"):
        charts.prompt_sizes(pd.DataFrame({"tokens": [1]}))


def test_missing_scorer_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="pass_rate"):
        charts.pass_rate(SUMMARY[["variant", "cost_usd"]])


@pytest.mark.parametrize(
    "name", ["pass_rate", "cost_quality", "latency", "token_budget", "prompt_sizes"]
)
def test_renders_svg_offline(name: str) -> None:
    frames = {
        "pass_rate": lambda: charts.pass_rate(SUMMARY),
        "cost_quality": lambda: charts.cost_quality(SUMMARY),
        "latency": lambda: charts.latency(pd.DataFrame({"variant": ["a"], "latency_ms": [5.0]})),
        "token_budget": lambda: charts.token_budget(
            pd.DataFrame({"segment": ["s"], "tokens": [3], "kind": ["k"]})
        ),
        "prompt_sizes": lambda: charts.prompt_sizes(
            pd.DataFrame({"prompt_tokens": [3, 9], "overflow": [False, True]}), limit=5
        ),
    }
    svg = charts.to_svg(frames[name]())
    assert svg.lstrip().startswith("<svg") and "</svg>" in svg
