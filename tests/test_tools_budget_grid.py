"""Tool definitions in the token budget and the estimate; tool calls in the comparison grid: the
cell, "4 of 5 repeats call ...", the detail, the diff against the baseline, and the filter
"called a different tool than baseline"."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from tool_cases import LOOKUP, REFUND, dataset, lookup_order

import workbench as wb
from workbench.engine.progress import NullProgress
from workbench.providers import ChatRequest
from workbench.providers.fake import FakeProvider, tool_call
from workbench.token_budget import dataset_budget
from workbench.views.grid_filters import Filters, Sort
from workbench.views.grid_model import GridModel


def test_tool_definitions_are_a_segment_of_the_budget() -> None:
    plain = wb.Variant("v", model="openai/gpt-4o-mini", system="Route.", user="{{ message }}")
    tooled = plain.replace(tools=[LOOKUP, REFUND])
    row = dataset().rows[0]
    before, after = wb.budget(plain, row), wb.budget(tooled, row)
    tools = next(s for s in after.segments if s.kind == "tools")
    assert tools.label == "tool definitions (lookup_order, refund)"
    assert after.prompt_tokens == before.prompt_tokens + tools.tokens
    assert tools.tokens > 20
    assert before.exact and not after.exact
    assert "tool definitions by OpenAI's cookbook approximation (estimate)" in after.method
    table = after.table()
    assert table.loc[table["kind"] == "tools", "tokens"].item() == tools.tokens
    sizes = dataset_budget(tooled, dataset()).df["prompt_tokens"]
    assert (sizes - dataset_budget(plain, dataset()).df["prompt_tokens"]).eq(tools.tokens).all()


@pytest.mark.parametrize(
    ("model", "why"),
    [
        ("anthropic/claude-haiku-4-5", "Anthropic has no offline tokenizer"),
        ("fake/x", "the fake provider has no tool-definition counter"),
    ],
)
def test_other_providers_estimate_tool_definitions_and_say_so(model: str, why: str) -> None:
    b = wb.budget(wb.Variant("v", model=model, user="hi", tools=[LOOKUP]), {})
    assert f"tool definitions: estimate ({why})" in b.method and not b.exact


def test_the_estimate_includes_tool_definitions() -> None:
    v = wb.Variant("v", model="openai/gpt-4o-mini", user="{{ message }}")
    bare = wb.Experiment("e", dataset(), [v]).estimate()
    tooled = wb.Experiment("e", dataset(), [v.replace(tools=[LOOKUP])]).estimate()
    per_call = wb.budget(v.replace(tools=[LOOKUP]), dataset().rows[0])
    added = next(s.tokens for s in per_call.segments if s.kind == "tools")
    assert tooled.input_tokens == bare.input_tokens + 3 * added
    assert tooled.cost_usd is not None and bare.cost_usd is not None
    assert tooled.cost_usd > bare.cost_usd


# -- the grid ----------------------------------------------------------------------------------


def wobbly(req: ChatRequest) -> Any:
    """Looks up the right order on repeats 0-3, refunds on repeat 4 of row 42."""
    oid = req.messages[-1]["content"].split()[-1]
    if oid == "42" and req.repeat == 4:
        return tool_call("refund", {"order_id": oid, "amount": 1})
    return tool_call("lookup_order", {"order_id": oid})


@pytest.fixture
def res(fake: FakeProvider) -> wb.Results:
    fake.script("steady", lambda req: tool_call("lookup_order", {"order_id": "42"}))
    fake.script("wobbly", wobbly)
    fake.script("chatty", lambda req: "I cannot look that up.")
    variants = [
        wb.Variant(n, model=f"fake/{n}", user="{{ message }}", tools=[LOOKUP, REFUND])
        for n in ("steady", "wobbly", "chatty")
    ]
    return wb.Experiment(
        "grid", dataset(), variants, repeats=5, scorers=[wb.scorers.tool_called("lookup_order")]
    ).run(progress=NullProgress())


def runs(detail: dict[str, Any]) -> list[dict[str, Any]]:
    """A cell's repeats in order, from the detail's groups of identical answers."""
    return sorted((r for g in detail["groups"] for r in g["runs"]), key=lambda r: r["repeat"])


def cells(page: dict[str, Any], row_id: str) -> dict[str, dict[str, Any]]:
    row = next(r for r in page["rows"] if r["row_id"] == row_id)
    return {c["variant"]: c for c in row["cells"]}


def test_cells_show_the_calls_and_how_often_repeats_make_them(res: wb.Results) -> None:
    m = GridModel(res.df, res.variants, res.scorers)
    row = cells(m.page(), "r42")
    assert row["wobbly"]["tool_calls"] == ['lookup_order(order_id="42")']
    assert row["wobbly"]["tools_mode"] == '4 of 5 repeats call lookup_order(order_id="42")'
    assert row["wobbly"]["distinct"] == 2 and row["steady"]["distinct"] == 1
    assert row["steady"]["tools_mode"] == '5 of 5 repeats call lookup_order(order_id="42")'
    assert row["chatty"]["tools_mode"] == "5 of 5 repeats call no tool"
    assert row["chatty"]["tool_calls"] == [] and not row["chatty"]["tools_invalid"]


def test_the_diff_against_the_baseline_includes_the_calls(res: wb.Results) -> None:
    m = GridModel(res.df, res.variants, res.scorers)
    row = cells(m.page(baseline="steady"), "r7")
    assert row["wobbly"]["diff"] == (
        '→ <del class="wb-del">lookup_order(order_id=&quot;42&quot;)</del>'
        '<ins class="wb-ins">lookup_order(order_id=&quot;7&quot;)</ins>'
    )  # steady always asks for order 42
    assert row["steady"]["diff"] is None
    assert "I cannot look that up." in row["chatty"]["diff"]


def test_the_filter_called_a_different_tool_than_baseline(res: wb.Results) -> None:
    m = GridModel(res.df, res.variants, res.scorers)
    ids = lambda base: [m.row_ids[i] for i in m.select(Filters(other_tool=True), Sort(), base)]  # noqa: E731
    assert ids("steady") == ["r42", "r7", "r13"]  # chatty calls no tool on every row
    assert Filters.of({"other_tool": True}).other_tool
    two = GridModel(res.df[res.df["variant"] != "chatty"], ["steady", "wobbly"], res.scorers)
    pick = lambda: [two.row_ids[i] for i in two.select(Filters(other_tool=True), Sort(), "steady")]  # noqa: E731
    assert pick() == []  # wobbly's usual call is lookup_order too
    assert two.page(Filters(other_tool=True), baseline="steady")["total"] == 0
    assert [r["row_id"] for r in m.page(Filters(search="REFUND"))["rows"]] == ["r42"]


def test_the_detail_holds_each_repeats_calls_and_trajectory(
    res: wb.Results, fake: FakeProvider
) -> None:
    m = GridModel(res.df, res.variants, res.scorers)
    detail = m.detail("r42", "wobbly")
    assert [(g["count"], g["tool_calls"]) for g in detail["groups"]] == [
        (4, ['lookup_order(order_id="42")']),
        (1, ['refund(order_id="42", amount=1)']),
    ]  # repeats grouped by the calls they made
    repeats = runs(detail)
    assert [r["tool_calls"][0]["name"] for r in repeats] == ["lookup_order"] * 4 + ["refund"]
    assert repeats[4]["tool_calls"][0]["arguments"] == {"order_id": "42", "amount": 1}
    assert repeats[0]["trajectory"] is None
    fake.script(
        "loop",
        lambda req: (
            "ok"
            if req.messages[-1]["role"] == "tool"
            else tool_call("lookup_order", {"order_id": "42"})
        ),
    )
    looped = wb.Experiment(
        "l",
        wb.Dataset(pd.DataFrame({"message": ["x"]})),
        [
            wb.Variant(
                "l", model="fake/loop", user="{{ message }}", tools=[lookup_order], max_steps=2
            )
        ],
    ).run(progress=NullProgress())
    d = GridModel(looped.df, looped.variants, looped.scorers).detail(
        looped.df["row_id"].iloc[0], "l"
    )
    assert [t["role"] for t in runs(d)[0]["trajectory"]] == ["assistant", "tool", "assistant"]


def test_invalid_arguments_are_marked_in_the_cell(fake: FakeProvider) -> None:
    fake.script("bad", tool_call("lookup_order", '{"order_id": 4'))
    v = wb.Variant("bad", model="fake/bad", user="{{ message }}", tools=[LOOKUP])
    res = wb.Experiment("b", dataset(), [v]).run(progress=NullProgress())
    row = cells(GridModel(res.df, res.variants, res.scorers).page(), "r42")["bad"]
    assert row["tools_invalid"]
    assert row["tool_calls"] == ['lookup_order(⚠ invalid arguments: {"order_id": 4)']


def test_the_widget_forwards_the_filter(res: wb.Results) -> None:
    pytest.importorskip("anywidget")
    from workbench.views.grid import Compare

    grid = Compare(res, background=False, baseline="steady")
    assert "other_tool" in [name for name, _, _ in grid.flags]  # offered: replies called tools
    grid.filters = {"other_tool": True}
    assert grid.total == 3 and grid.error == ""
    grid.selected = {"row_id": "r42", "variant": "wobbly"}
    assert runs(grid.detail)[4]["tool_calls"][0]["name"] == "refund"
