"""Tool scorers: which tool, which arguments, valid against the schema, in which order; reasons
that name what was called instead; repeats told apart by tool-call signature; k-of-n reducers
and the paired verdict as for any scorer."""

from __future__ import annotations

import asyncio
from typing import Any

import pandas as pd
import pytest
from tool_cases import LOOKUP, REFUND, dataset

import workbench as wb
from workbench.engine.progress import NullProgress
from workbench.errors import ScorerError
from workbench.prompts.tools import tool_config
from workbench.providers import ChatRequest, Response
from workbench.providers.fake import FakeProvider, tool_call, tool_calls
from workbench.providers.tools import tool_call as normalized
from workbench.scoring.base import Score, ScoreContext, Scorer, build_scorer

TOOLS = tool_config([LOOKUP, REFUND], None, None, "test")


def score(
    s: Scorer,
    calls: list[dict[str, Any]] | None,
    output: str = "",
    row: dict[str, Any] | None = None,
) -> Score:
    ctx = ScoreContext(response=Response(text=output, tool_calls=calls), tools=TOOLS)
    return asyncio.run(s.score(output, row or {"order_id": "42", "tool": "lookup_order"}, ctx))


LOOK_42 = [normalized("c1", "lookup_order", '{"order_id": "42"}')]
REFUND_42 = [normalized("c1", "refund", '{"order_id": "42", "amount": 10.0}')]


def test_tool_called() -> None:
    s = wb.scorers.tool_called("{{ tool }}")
    assert score(s, LOOK_42) == Score(1.0, True, "called lookup_order")
    miss = score(s, REFUND_42)
    assert miss.passed is False
    assert miss.reason == 'called refund(order_id="42", amount=10.0) instead of lookup_order'
    assert score(s, None, "I cannot help.").reason == (
        "called no tool (replied 'I cannot help.') instead of lookup_order"
    )
    either = wb.scorers.tool_called(["cancel", "refund"])
    assert score(either, REFUND_42).passed
    assert score(wb.scorers.tool_called("cancel|refund"), REFUND_42).passed
    assert score(either, LOOK_42).reason.endswith("instead of cancel or refund")
    assert score(s, LOOK_42 + REFUND_42).reason == "called lookup_order (of 2 calls)"


def test_no_tool_call() -> None:
    s = wb.scorers.no_tool_call()
    assert score(s, None, "Hello").passed and score(s, []).reason == "called no tool"
    assert score(s, LOOK_42).reason == 'called lookup_order(order_id="42") instead of no tool'


def test_tool_args_subset_exact_numbers_and_case() -> None:
    s = wb.scorers.tool_args("lookup_order", {"order_id": "{{ order_id }}"})
    assert score(s, LOOK_42).reason == 'lookup_order(order_id="42") matches'
    assert score(s, LOOK_42, row={"order_id": "43"}).reason == (
        'lookup_order(order_id="42"): order_id is "42", expected "43"'
    )
    assert score(s, REFUND_42).reason.startswith("called refund(")
    numeric = wb.scorers.tool_args(
        "refund", {"order_id": 42, "amount": "{{ amount }}"}, tolerance=0.5
    )
    assert score(numeric, REFUND_42, row={"amount": "10.4"}).passed  # "42" == 42, 10.0 ~ 10.4
    assert not score(numeric, REFUND_42, row={"amount": "11"}).passed
    exact = wb.scorers.tool_args("refund", {"order_id": "42"}, match="exact")
    assert score(exact, REFUND_42).reason.endswith("amount is not expected")
    assert score(wb.scorers.tool_args("refund", {"note": "x"}), REFUND_42).reason.endswith(
        "note is missing"
    )
    named = [normalized("c1", "lookup_order", '{"order_id": "AB-42 "}')]
    assert not score(wb.scorers.tool_args("lookup_order", {"order_id": "ab-42"}), named).passed
    loose = wb.scorers.tool_args("lookup_order", {"order_id": "ab-42"}, case_sensitive=False)
    assert score(loose, named).passed
    bad = [normalized("c1", "lookup_order", '{"order_id": 4')]
    assert "arguments are not valid JSON" in score(s, bad).reason
    nested = [normalized("c1", "refund", '{"order_id": "42", "items": [{"sku": "a", "n": 2}]}')]
    want = wb.scorers.tool_args("refund", {"items": [{"sku": "a", "n": "{{ n }}"}]})
    assert score(want, nested, row={"n": "2"}).passed
    assert score(want, nested, row={"n": "3"}).reason.endswith('items[0].n is 2, expected "3"')


def test_tool_args_passes_when_any_call_of_the_tool_matches() -> None:
    two = [normalized("a", "lookup_order", '{"order_id": "7"}'), *LOOK_42]
    assert score(wb.scorers.tool_args("lookup_order", {"order_id": "42"}), two).passed


def test_tool_args_valid() -> None:
    s = wb.scorers.tool_args_valid()
    assert score(s, LOOK_42 + REFUND_42).reason == "2 call(s) valid against their schemas"
    assert score(s, None).passed is None
    missing = [normalized("c1", "refund", '{"order_id": "42"}')]
    assert score(s, missing).reason == "refund(order_id=\"42\"): $: 'amount' is a required property"
    typed = [normalized("c1", "refund", '{"order_id": 42, "amount": 1}')]
    assert score(s, typed).reason.endswith("$.order_id: 42 is not of type 'string'")
    assert score(s, [normalized("c", "cancel", "{}")]).reason == (
        "called cancel, which is not a declared tool (lookup_order, refund)"
    )
    assert "not valid JSON" in score(s, [normalized("c", "refund", "{")]).reason


def test_tool_sequence() -> None:
    s = wb.scorers.tool_sequence(["lookup_order", "refund"])
    assert score(s, LOOK_42 + REFUND_42).reason == "called lookup_order → refund"
    assert score(s, REFUND_42 + LOOK_42).reason == (
        "called refund → lookup_order instead of lookup_order → refund"
    )
    loose = wb.scorers.tool_sequence(["lookup_order", "refund"], match="in_order")
    middle = [LOOK_42[0], normalized("x", "note", "{}"), REFUND_42[0]]
    assert score(loose, middle).passed and not score(s, middle).passed
    assert score(loose, REFUND_42 + LOOK_42).reason.endswith("(in this order)")


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: wb.scorers.tool_args("x", "order_id=42"), "expected is a mapping"),
        (lambda: wb.scorers.tool_args("x", {}, match="some"), "match must be 'subset' or 'exact'"),
        (lambda: wb.scorers.tool_args("x", {}, tolerance=-1), "tolerance must be a number >= 0"),
        (lambda: wb.scorers.tool_sequence([]), "non-empty list"),
        (
            lambda: wb.scorers.tool_sequence(["a"], match="any"),
            "match must be 'exact' or 'in_order'",
        ),
    ],
)
def test_bad_arguments_are_refused(build: Any, message: str) -> None:
    with pytest.raises(ScorerError, match=message):
        build()


def test_specs_rebuild_and_negate() -> None:
    for s in (
        wb.scorers.tool_called("{{ expected_tool }}"),
        wb.scorers.no_tool_call(),
        wb.scorers.tool_args("lookup_order", {"order_id": "{{ order_id }}"}, tolerance=0.1),
        wb.scorers.tool_args_valid(),
        wb.scorers.tool_sequence(["lookup_order"], match="in_order"),
    ):
        again = build_scorer(dict(s.spec))
        assert again.spec == s.spec and again.variables == s.variables
    assert wb.scorers.tool_args("lookup_order", {"order_id": "{{ order_id }}"}).variables == {
        "order_id"
    }
    assert build_scorer({"tool_called": "refund"}).name == "tool_called"
    negated = wb.scorers.tool_called("refund", negate=True)
    assert score(negated, LOOK_42).passed


def test_a_scorer_reading_a_missing_column_is_refused_before_the_run(fake: FakeProvider) -> None:
    v = wb.Variant("v", model="fake/x", user="{{ message }}", tools=[LOOKUP])
    with pytest.raises(wb.WorkbenchError, match=r"\{\{ ticket \}\}"):
        wb.Experiment(
            "x",
            dataset(),
            [v],
            scorers=[wb.scorers.tool_args("lookup_order", {"order_id": "{{ ticket }}"})],
        )


# -- repeats ---------------------------------------------------------------------------------


def flaky(req: ChatRequest) -> Any:
    """Calls lookup_order with the right id on repeats 0-3, refund on repeat 4."""
    oid = req.messages[-1]["content"].split()[-1]
    if req.repeat == 4:
        return tool_call("refund", {"order_id": oid, "amount": 1})
    return tool_call("lookup_order", {"order_id": oid})


def test_repeats_count_distinct_tool_call_signatures(fake: FakeProvider) -> None:
    fake.script("v1", flaky).script(
        "v2",
        lambda req: tool_call(
            "lookup_order", {"order_id": req.messages[-1]["content"].split()[-1]}
        ),
    )
    variants = [
        wb.Variant(n, model=f"fake/{n}", user="{{ message }}", tools=[LOOKUP, REFUND])
        for n in ("v1", "v2")
    ]
    res = wb.Experiment(
        "rep",
        dataset(),
        variants,
        repeats=5,
        scorers=[wb.scorers.tool_called("{{ expected_tool }}")],
    ).run(progress=NullProgress())
    summary = res.summary().set_index("variant")
    assert summary.loc["v1", "stability"] == 0.0 and summary.loc["v2", "stability"] == 1.0
    rows = res.table.df
    assert rows["output"].eq("").all()  # the text is the same: only the calls differ
    from workbench.analysis.run import analyze
    from workbench.scoring.reducers import at_least

    by_row = analyze(res.table).by_row("tool_called")
    assert by_row.set_index(["variant", "row_id"]).loc[("v1", "r42"), "distinct_outputs"] == 2
    strict = res.summary(at_least(5)).set_index("variant")
    assert strict.loc["v1", "tool_called_pass_rate"] == 0.0  # 4 of 5 is not 5 of 5
    assert strict.loc["v2", "tool_called_pass_rate"] == 1.0
    assert res.summary().set_index("variant").loc["v1", "tool_called_pass_rate"] == 1.0  # majority
    verdict = str(res.compare("v1", "v2", reducer=at_least(5)))
    assert "v2" in verdict and "n=3" in verdict


def test_distinct_ids_alone_do_not_make_repeats_differ(fake: FakeProvider) -> None:
    counter = iter(range(100))

    def ids(req: ChatRequest) -> Response:
        n = next(counter)
        calls = [normalized(f"id{n}", "lookup_order", {"order_id": "42"})]
        return Response(text="", tool_calls=calls, finish_reason="tool_calls")

    fake.script("v", ids)
    v = wb.Variant("v", model="fake/v", user="{{ message }}", tools=[LOOKUP])
    res = wb.Experiment("ids", wb.Dataset(pd.DataFrame({"message": ["a"]})), [v], repeats=3).run(
        progress=NullProgress()
    )
    assert res.summary()["stability"].iloc[0] == 1.0


def test_parallel_calls_in_one_reply(fake: FakeProvider) -> None:
    fake.script(
        "v",
        tool_calls(
            ("lookup_order", {"order_id": "42"}), ("refund", {"order_id": "42", "amount": 3})
        ),
    )
    v = wb.Variant(
        "v", model="fake/v", user="{{ message }}", tools=[LOOKUP, REFUND], parallel_tool_calls=True
    )
    res = wb.Experiment(
        "par", dataset(), [v], scorers=[wb.scorers.tool_sequence(["lookup_order", "refund"])]
    ).run(progress=NullProgress())
    assert res.df["tool_sequence_pass"].all()
    assert [c["id"] for c in res.df["tool_calls"].iloc[0]] == ["call_1", "call_2"]
