"""The token-budget explorer, driven headless: values set as the frontend would, state asserted."""

from __future__ import annotations

import html

import pandas as pd
import pytest
from budget_cases import chat_variant

import workbench as wb
from workbench.errors import ConfigError, TemplateError
from workbench.token_budget import budget

pytest.importorskip("ipywidgets")

from workbench.views.budget_widget import DATASET, TRUNCATION, BudgetExplorer

DOC = "The quick brown fox jumps over the lazy dog. " * 40  # a `field: doc` segment


CHAT_ROWS = [
    {"doc": DOC, "question": "What jumps?", "earlier": "Hi", "earlier_reply": "Hello!"},
    {"doc": "A short note.", "question": "Why?", "earlier": "Hi", "earlier_reply": "Hello!"},
]


def _tiny() -> wb.Variant:
    """A 50-token window with 10 reserved: 40 usable."""
    wb.models.register("fake/tiny", context_window=50, max_output=10)
    return wb.Variant("tiny", model="fake/tiny", user="{{ text }}")


def _sizes() -> wb.Dataset:
    return wb.Dataset(
        pd.DataFrame({"id": ["a", "b", "c"], "text": ["short", "word " * 60, "a bit longer"]})
    )


def test_budget_view_follows_the_picked_variant_and_row() -> None:
    chat, bare = chat_variant(), wb.Variant("bare", model="fake/echo", user="{{ question }}")
    ex = BudgetExplorer([chat, bare], CHAT_ROWS)
    shown = ex.budget_html.value
    for label in ("system", "example 1 (user)", "turn 1 (assistant)", "field: doc", "free"):
        assert label in shown
    first = budget(chat, CHAT_ROWS[0])
    assert html.escape(first.summary()) in shown and "row 0 (1 of 2)" in shown

    ex.row.value = 1
    second = budget(chat, CHAT_ROWS[1])
    assert second.prompt_tokens < first.prompt_tokens
    assert html.escape(second.summary()) in ex.budget_html.value
    assert "field: doc" not in ex.budget_html.value

    ex.variant.value = 1
    assert html.escape(budget(bare, CHAT_ROWS[1]).summary()) in ex.budget_html.value
    assert "example 1" not in ex.budget_html.value

    cached = ex.budget(0, 0)
    ex.variant.value, ex.row.value = 0, 0  # flipping back reuses the cached budget
    assert ex.budget() is cached and ex.budget_html.value == shown


def test_overflowing_row_shows_the_warning() -> None:
    rows = [{"text": "short"}, {"text": "word " * 60}]
    ex = BudgetExplorer(_tiny(), rows)
    assert "Overflow" not in ex.budget_html.value
    ex.row.value = 1
    assert "Overflow" in ex.budget_html.value
    assert "exceed the context window by" in ex.budget_html.value
    assert BudgetExplorer(_tiny(), _sizes(), row="b").row.value == 1  # a row id works too


def test_truncation_preview_reports_the_cut_and_that_it_fits() -> None:
    ex = BudgetExplorer(_tiny(), _sizes(), row="b")
    assert ex.truncation_html.value == ""  # not computed until the view opens
    assert ex.target.value == 40  # the usable window by default
    ex.tabs.selected_index = TRUNCATION
    assert "Nothing to cut: this strategy finds nothing." in ex.truncation_html.value
    ex.strategy.value = "trim_longest_field"
    shown = ex.truncation_html.value
    assert "field: text trimmed from " in shown and "fits within 40" in shown
    assert "still over" not in shown and ex.truncation().fits

    chat = chat_variant()
    one_unit = budget(chat.replace(messages=chat.messages[2:]), CHAT_ROWS[0]).prompt_tokens
    ex = BudgetExplorer(chat, CHAT_ROWS)
    ex.tabs.selected_index = TRUNCATION
    assert "Nothing to cut: the prompt already fits." in ex.truncation_html.value
    ex.target.value = one_unit  # as typed by the user: kept from now on
    shown = ex.truncation_html.value
    assert "dropped example 1 (user)" in shown and "dropped example 1 (assistant)" in shown
    assert f"fits within {one_unit:,}" in shown and "dropped turn 1" not in shown
    ex.row.value = 1
    assert ex.target.value == one_unit
    ex.target.value = 0
    assert "Set target tokens to a positive number." in ex.truncation_html.value


def test_dataset_view_is_lazy_and_lists_overflowing_rows() -> None:
    alt = pytest.importorskip("altair")
    echo = wb.Variant("echo", model="fake/echo", user="{{ text }}")
    ex = BudgetExplorer([_tiny(), echo], _sizes())
    assert ex._datasets == {} and ex.chart is None  # nothing counted yet
    ex.tabs.selected_index = DATASET
    db = ex.dataset_budget()
    assert list(db.df["row_id"]) == ["a", "b", "c"]
    assert "3 rows" in ex.dataset_html.value and "1 row(s) overflow" in ex.dataset_html.value
    assert "<td>b</td>" in ex.overflow_html.value and "<td>a</td>" not in ex.overflow_html.value
    assert isinstance(ex.chart, alt.LayerChart)
    bars, rule = ex.chart.layer
    assert list(bars.data["prompt_tokens"]) == list(db.df["prompt_tokens"])
    assert list(bars.data["fit"]) == ["fits", "overflows", "fits"]
    assert list(rule.data["limit"]) == [40]
    assert len(ex.chart_out.outputs) == 1
    labels = [label for label, _ in ex.row.options]
    assert labels[1] == f"b · {db.df['prompt_tokens'][1]} tokens · overflow"

    ex.variant.value = 1
    assert "echo on fake/echo" in ex.dataset_html.value
    assert ex.overflow_html.value == "<p>No row overflows.</p>"
    ex.variant.value = 0
    assert ex.dataset_budget() is db and set(ex._datasets) == {0, 1}


def test_quick_picks_and_largest_first() -> None:
    echo = wb.Variant("echo", model="fake/echo", user="{{ text }}")
    ex = BudgetExplorer([_tiny(), echo], _sizes(), row="c")
    ex.largest.click()
    assert ex.row.value == 1 and "Overflow" in ex.budget_html.value
    ex.row.value = 2
    ex.next_overflow.click()  # wraps round to the only overflowing row
    assert ex.row.value == 1
    ex.order.value = "largest"
    assert [i for _, i in ex.row.options] == [1, 2, 0] and ex.row.value == 1
    ex.variant.value = 1
    ex.next_overflow.click()
    assert "No row overflows with echo." in ex.status.value and ex.row.value == 1


def test_errors_show_in_the_widget() -> None:
    v = wb.Variant("needs", model="fake/echo", user="{{ question }} {{ 10 // n }}")
    rows = [{"question": "q", "n": 2}, {"question": "q2", "n": 0}]  # row 1 cannot render
    with pytest.raises(TemplateError) as missing:
        v.render(rows[1])
    message = html.escape(str(missing.value))
    ex = BudgetExplorer(v, rows)
    assert "Error" not in ex.budget_html.value
    ex.row.value = 1
    assert "Error" in ex.budget_html.value and message in ex.budget_html.value
    ex.tabs.selected_index = TRUNCATION
    assert message in ex.truncation_html.value
    ex.tabs.selected_index = DATASET
    assert message in ex.dataset_html.value and ex.chart is None
    ex.order.value = "largest"
    ex.largest.click()
    assert message in ex.status.value
    ex.row.value = 0
    assert "Error" not in ex.budget_html.value and "needs on fake/echo" in ex.budget_html.value


def test_takes_an_experiment_and_shows_as_its_box() -> None:
    variants = [wb.Variant(n, model="fake/echo", user="{{ q }}") for n in ("a", "b")]
    exp = wb.Experiment("e", pd.DataFrame({"q": ["hi", "hello there"]}), variants)
    ex = BudgetExplorer(exp, row=1)
    assert [label for label, _ in ex.variant.options] == ["a", "b"]
    assert ex.row_ids == ["0", "1"] and "row 1 (2 of 2)" in ex.budget_html.value
    bundle = ex._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == ex.box.model_id

    import workbench.views

    assert workbench.views.BudgetExplorer is BudgetExplorer


def test_bad_arguments_are_clear_errors() -> None:
    v = wb.Variant("v", model="fake/echo", user="{{ q }}")
    with pytest.raises(ConfigError, match="needs a dataset"):
        BudgetExplorer(v)
    with pytest.raises(ConfigError, match="a Variant"):
        BudgetExplorer([], [{"q": "x"}])
    with pytest.raises(ConfigError, match="at least one row"):
        BudgetExplorer(v, [])
    with pytest.raises(ConfigError, match="No row 'zz'"):
        BudgetExplorer(v, [{"q": "x"}], row="zz")
