"""Reasoning, visible: efforts, verbosity, thinking and the Responses API's parameters checked per
model before any call; a reply left empty because reasoning used the output budget flagged as its
own kind — in the cell, the summary, the verdict and the grid — with the max_tokens that fits;
the token budget reserving the reasoning seen."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from fidelity_helpers import experiment, run, variant

import workbench as wb
from workbench.errors import ParamError
from workbench.testing.mockserver import MockServer
from workbench.token_budget import dataset_budget
from workbench.views.grid_model import GridModel


@pytest.mark.parametrize(
    ("model", "params", "message"),
    [
        (
            "openai/gpt-6.2-sol",
            {"reasoning_effort": "none"},
            r"reasoning_effort='none' is not one openai/gpt-6.2-sol accepts; use one of "
            r"low, medium, high, xhigh, max",
        ),
        (
            "openai/gpt-4.1",
            {"reasoning_effort": "low"},
            r"openai/gpt-4.1 does not reason, so it takes no reasoning_effort",
        ),
        ("openai/gpt-4.1", {"verbosity": "low"}, r"does not reason, so it takes no verbosity"),
        ("openai/gpt-6.2-sol", {"verbosity": "loud"}, r"verbosity must be one of low, medium"),
        (
            "openai/gpt-6.2-sol",
            {"api": "responses", "stop": ["\n"]},
            r"the Responses API takes no stop; remove it, or drop api='responses'",
        ),
        (
            "openai/gpt-6.2-sol",
            {"reasoning_summary": "auto"},
            r"reasoning_summary needs the Responses API: add api='responses'",
        ),
        ("openai/gpt-6.2-sol", {"api": "batch"}, r"api must be 'chat' or 'responses'"),
        (
            "anthropic/claude-haiku-4-5",
            {"effort": "low"},
            r"claude-haiku-4-5 does not reason, so it takes no effort",
        ),
        (
            "anthropic/claude-sonnet-4-6",
            {"effort": "xhigh"},
            r"effort='xhigh' is not one anthropic/claude-sonnet-4-6 accepts; use one of "
            r"low, medium, high, max",
        ),
        (
            "anthropic/claude-haiku-4-5",
            {"thinking": {"type": "adaptive"}},
            r"does not take thinking type 'adaptive' \(it takes enabled\)",
        ),
        (
            "anthropic/claude-sonnet-4-6",
            {"thinking": {"type": "enabled", "budget_tokens": 500}},
            r"budget_tokens must be a whole number >= 1024",
        ),
        (
            "anthropic/claude-sonnet-4-6",
            {"thinking": {"type": "enabled", "budget_tokens": 4000}, "max_tokens": 2000},
            r"budget_tokens=4000 must be below max_tokens=2000 .* raise max_tokens to at least 5024",
        ),
        (
            "anthropic/claude-sonnet-4-6",
            {"response_format": {"type": "json_object"}},
            r"Anthropic takes a response_format only as a JSON Schema",
        ),
    ],
)
def test_reasoning_parameters_are_checked_per_model_before_any_call(
    srv: MockServer, model: str, params: dict[str, Any], message: str
) -> None:
    v = wb.Variant("v", model=model, user="{{ q }}", params=params)
    with pytest.raises(ParamError, match=message):
        run(experiment([v]))
    assert srv.stats()["requests_total"] == 0


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        ("openai", {"reasoning_effort": "high", "verbosity": "low"}),
        (
            "responses",
            {"reasoning_effort": "max", "verbosity": "high", "reasoning_summary": "auto"},
        ),
        ("anthropic", {"thinking": {"type": "adaptive"}, "effort": "max"}),
        ("anthropic", {"thinking": {"type": "enabled", "budget_tokens": 1024}}),
    ],
)
def test_accepted_reasoning_parameters_reach_the_wire(
    srv: MockServer, kind: str, params: dict[str, Any]
) -> None:
    res = run(experiment([variant(kind, params=params)]))
    assert res.df["error"].isna().all()
    body = srv.bodies()[-1]
    if kind == "openai":
        assert (body["reasoning_effort"], body["verbosity"]) == ("high", "low")
    elif kind == "responses":
        assert body["reasoning"] == {"effort": "max", "summary": "auto"}
        assert body["text"] == {"verbosity": "high"}
    elif "effort" in params:
        assert body["output_config"] == {"effort": "max"}
        assert body["max_tokens"] == 16_000  # room to think when no max_tokens is given
    else:
        assert body["thinking"] == {"type": "enabled", "budget_tokens": 1024}
        assert body["max_tokens"] == 1024 + 1024  # the budget plus room for the answer


@pytest.mark.parametrize("kind", ["openai", "responses", "anthropic"])
def test_a_reply_starved_by_reasoning_is_its_own_kind_with_the_fix(
    srv: MockServer, kind: str
) -> None:
    srv.set_faults(reasoning_words=40)
    thinking = (
        {"thinking": {"type": "enabled", "budget_tokens": 1024}} if kind == "anthropic" else {}
    )
    tight = variant(kind, "tight", params={"max_tokens": 32} if not thinking else {})
    roomy = variant(kind, "roomy", params={"max_tokens": 200, **thinking})
    if thinking:  # Anthropic: thinking needs max_tokens above its budget; starve it another way
        srv.set_faults(reasoning_words=1100)
        tight = variant(kind, "tight", params={"max_tokens": 1100, **thinking})
        roomy = variant(kind, "roomy", params={"max_tokens": 2000, **thinking})
    exp = experiment(
        [tight, roomy], ["one", "two"], scorers=[wb.scorers.contains("mock")], repeats=2
    )
    res = run(exp)
    df = res.df
    starved = df[df["variant"] == "tight"]
    assert starved["starved"].all() and starved["error"].isna().all()
    assert (starved["output"] == "").all() and (starved["finish_reason"] == "length").all()
    assert starved["contains_pass"].isna().all()  # unscored, not a silent fail of every scorer
    reason = starved["contains_reason"].iloc[0]
    assert reason.startswith("no answer: reasoning used the whole output budget")
    limit = 1100 if thinking else 32
    assert f"(max_tokens {limit}, finish_reason length); raise max_tokens to about " in reason
    suggested = int(reason.rsplit(" ", 1)[-1])
    assert suggested >= 2 * limit and suggested % 256 == 0
    fine = df[df["variant"] == "roomy"]
    assert not fine["starved"].any() and fine["contains_pass"].all()
    summary = res.summary().set_index("variant")
    assert (summary.loc["tight", "starved"], summary.loc["roomy", "starved"]) == (4, 0)
    verdict = str(res.verdict())
    assert (
        f"tight: 4 of 4 replies came back empty because reasoning used the whole output budget "
        f"(max_tokens {limit}): raise max_tokens to about {suggested}" in verdict
    )
    grid = GridModel(df, res.variants, res.scorers)
    cell = grid.row(0)["cells"][0]
    assert (cell["variant"], cell["starved"]) == ("tight", 2)
    (group,) = grid.detail(df["row_id"].iloc[0], "tight")["groups"]
    detail = group["runs"][0]
    assert detail["starved"] is True and detail["reasoning_tokens"] == limit
    assert f"({limit:,} reasoning)" in detail["usage"]


def test_the_token_budget_reserves_the_reasoning_seen(srv: MockServer) -> None:
    srv.set_faults(reasoning_words=30)
    capped = variant("openai", "capped", params={"max_tokens": 24})
    free = variant("openai", "free")
    res = run(experiment([capped, free], ["one", "two"], repeats=2))
    row = {"q": "one"}
    before = wb.budget(free, row)
    assert before.reasoning_tokens is None
    after = wb.budget(free, row, observed=res)
    assert after.reasoning_tokens == 30
    assert after.reserved_output == before.reserved_output  # 4,096 already holds 30 + answer
    table = after.table().set_index("segment")
    assert table.loc["reserved: reasoning (p95 seen)", "tokens"] == 30
    assert table.loc["reserved: answer", "tokens"] == after.reserved_output - 30
    tight = wb.budget(capped, row, observed=res.df)
    assert tight.reasoning_tokens == 24 and tight.starves
    assert "REASONING ALONE FILLS max_tokens" in tight.summary()
    with pytest.raises(wb.WorkbenchError, match="observed= takes the results of a run"):
        wb.budget(free, row, observed=pd.DataFrame({"x": [1]}))


def test_a_variant_without_max_tokens_reserves_at_least_the_reasoning_seen(
    srv: MockServer,
) -> None:
    wb.models.register("mock/thinker", max_output=200, context_window=100_000)
    srv.set_faults(reasoning_words=500)
    v = wb.Variant("v", model="mock/thinker", user="{{ q }}")
    res = run(experiment([v]))
    assert res.df["reasoning_tokens"].iloc[0] == 500
    budget = wb.budget(v, {"q": "x"}, observed=res)
    assert wb.budget(v, {"q": "x"}).reserved_output == 200  # the model's max_output
    assert budget.reserved_output == 500 + 4  # the reasoning seen plus the answer seen
    assert dataset_budget(v, [{"q": "x"}], observed=res).reserved_output == 504
