"""Tool loops on the fake provider: model -> tool calls -> Python functions -> results back ->
model, up to max_steps model calls, each a cached, journaled call; errors of tools as results;
the trajectory kept; judges see it."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from typing import Any

import pytest
from tool_cases import dataset, lookup_order, refund

import workbench as wb
from workbench.config import get_settings
from workbench.engine.progress import NullProgress
from workbench.errors import ProviderError
from workbench.providers import ChatRequest
from workbench.providers.fake import FakeProvider, tool_call, tool_calls

QUIET = NullProgress()


def agent(req: ChatRequest) -> Any:
    """Looks the order up, then answers with what the tool said."""
    last = req.messages[-1]
    if last["role"] == "tool":
        return f"Result: {last['content']}"
    return tool_call("lookup_order", {"order_id": last["content"].split()[-1]})


def loop_variant(**kw: Any) -> wb.Variant:
    kw.setdefault("tools", [lookup_order, refund])
    kw.setdefault("max_steps", 3)
    return wb.Variant("loop", model="fake/agent", user="{{ message }}", **kw)


def run(variants: list[wb.Variant], **kw: Any) -> wb.Results:
    return wb.Experiment("loops", dataset(), variants, **kw).run(progress=QUIET)


def test_a_loop_calls_the_functions_and_ends_with_the_models_text(fake: FakeProvider) -> None:
    fake.script("agent", agent)
    res = run([loop_variant()], scorers=[wb.scorers.tool_sequence(["lookup_order"])])
    df = res.df.set_index("row_id")
    assert df.loc["r42", "output"] == 'Result: {"order_id": "42", "status": "shipped"}'
    assert df.loc["r42", "finish_reason"] == "stop"
    assert df.loc["r42", "trajectory"] == [
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"id": "call_1", "name": "lookup_order", "arguments": {"order_id": "42"}}
            ],
        },
        {
            "role": "tool",
            "tool_call_id": "call_1",
            "name": "lookup_order",
            "content": '{"order_id": "42", "status": "shipped"}',
        },
        {"role": "assistant", "content": 'Result: {"order_id": "42", "status": "shipped"}'},
    ]
    assert df.loc["r42", "tool_calls"] == [
        {"id": "call_1", "name": "lookup_order", "arguments": {"order_id": "42"}}
    ]
    assert fake.calls["agent"] == 6  # 3 rows × 2 model steps
    assert df["tool_sequence_pass"].all()
    # token usage is the sum over the steps
    assert df.loc["r42", "input_tokens"] > 0 and df.loc["r42", "output_tokens"] > 0


def test_a_tool_that_raises_returns_its_error_as_the_result(fake: FakeProvider) -> None:
    fake.script("agent", agent)
    df = run([loop_variant()]).df.set_index("row_id")
    assert df.loc["r13", "output"] == "Result: error: KeyError: 'no order 13'"
    assert df.loc["r13", "error"] is None
    assert df.loc["r13", "trajectory"][1]["content"] == "error: KeyError: 'no order 13'"


def test_max_steps_reached_keeps_the_last_calls_unrun(fake: FakeProvider) -> None:
    ran: list[str] = []

    def counted(order_id: str) -> str:
        """Count."""
        ran.append(order_id)
        return "again"

    counted.__name__ = "lookup_order"
    fake.script("agent", lambda req: tool_call("lookup_order", {"order_id": "1"}))
    res = run([loop_variant(tools=[counted], max_steps=3)])
    row = res.df.iloc[0]
    assert row["finish_reason"] == "tool_calls" and row["output"] == ""
    roles = [t["role"] for t in row["trajectory"]]
    assert roles == ["assistant", "tool", "assistant", "tool", "assistant"]
    assert len(row["tool_calls"]) == 3 and [c["id"] for c in row["tool_calls"]] == [
        "call_1",
        "call_2",
        "call_3",
    ]
    assert fake.calls["agent"] == 3 * 3 and len(ran) == 3 * 2  # the 3rd step's call is not run


def test_unknown_tools_invalid_arguments_and_parallel_calls_in_a_loop(fake: FakeProvider) -> None:
    def script(req: ChatRequest) -> Any:
        if req.messages[-1]["role"] == "tool":
            return "done"
        return tool_calls(
            ("cancel", {}),
            ("lookup_order", '{"order_id": 4'),
            ("refund", {"order_id": "42", "amount": 5}),
        )

    fake.script("agent", script)
    row = run([loop_variant()]).df.iloc[0]
    results = [t["content"] for t in row["trajectory"] if t["role"] == "tool"]
    assert results[0] == "error: there is no tool named 'cancel'; tools: lookup_order, refund"
    assert results[1].startswith("error: the arguments are not valid JSON (Expecting")
    assert results[2] == "refunded 5 on 42"
    assert row["output"] == "done"


def test_async_tools_and_wrong_arguments(fake: FakeProvider) -> None:
    async def slow_lookup(order_id: str) -> dict[str, str]:
        """Look up, slowly."""
        await asyncio.sleep(0)
        return {"order_id": order_id}

    fake.script(
        "agent",
        lambda req: (
            "ok"
            if req.messages[-1]["role"] == "tool"
            else tool_calls(("slow_lookup", {"order_id": "42"}), ("slow_lookup", {"id": "42"}))
        ),
    )
    row = run([loop_variant(tools=[slow_lookup])]).df.iloc[0]
    results = [t["content"] for t in row["trajectory"] if t["role"] == "tool"]
    assert results[0] == '{"order_id": "42"}'
    assert (
        results[1].startswith("error: TypeError: ")
        and "unexpected keyword argument 'id'" in results[1]
    )


def test_a_rerun_makes_no_call_and_each_step_is_journaled(fake: FakeProvider) -> None:
    fake.script("agent", agent)
    first = run([loop_variant()])
    assert fake.calls["agent"] == 6 and not first.df["cached"].any()
    again = run([loop_variant()])
    assert fake.calls["agent"] == 6  # every step from the store
    assert again.df["cached"].all()
    assert again.df["output"].tolist() == first.df["output"].tolist()
    assert again.df["trajectory"].tolist() == first.df["trajectory"].tolist()
    db = sqlite3.connect(get_settings().store_path)
    try:
        assert db.execute("SELECT COUNT(*) FROM responses").fetchone()[0] == 6
        keys = db.execute("SELECT key FROM run_cells WHERE cached = 0").fetchall()
    finally:
        db.close()
    # a cell's journal holds its last step: not the first request's key
    assert {k for (k,) in keys}.isdisjoint(set(first.df["request_key"]))


def test_a_step_that_fails_fails_the_cell_and_a_rerun_resumes_from_the_store(
    fake: FakeProvider,
) -> None:
    def broken(req: ChatRequest) -> Any:
        if req.messages[-1]["role"] == "tool":
            raise ProviderError("boom", kind="bad_request")
        return agent(req)

    fake.script("agent", broken)
    res = run([loop_variant()])
    assert res.df["error"].str.startswith("step 2 of the tool loop: boom").all()
    assert res.df["trajectory"].map(len).tolist() == [2, 2, 2]  # the call and its result
    fake.script("agent", agent)
    before = fake.calls["agent"]
    fixed = run([loop_variant()])
    assert fixed.df["error"].isna().all()
    assert fake.calls["agent"] - before == 3  # only the second steps: the first are cached


def test_a_loop_and_a_single_call_variant_share_the_first_request(fake: FakeProvider) -> None:
    fake.script("agent", agent)
    single = loop_variant(max_steps=None).replace(name="single")
    res = run([loop_variant(), single])
    df = res.df.set_index(["variant", "row_id"])
    assert df.loc[("single", "r42"), "output"] == ""
    assert df.loc[("single", "r42"), "tool_calls"][0]["name"] == "lookup_order"
    assert df.loc[("single", "r42"), "trajectory"] is None
    assert df.loc[("loop", "r42"), "output"].startswith("Result:")
    assert fake.calls["agent"] == 6  # the first step, shared


def test_judges_see_the_trajectory(fake: FakeProvider) -> None:
    prompts: list[str] = []

    def judge(req: ChatRequest) -> str:
        prompts.append(req.messages[-1]["content"])
        return "GRADE: PASS\nREASON: fine"

    fake.script("agent", agent).script("judge", judge)
    run([loop_variant()], scorers=[wb.scorers.judge("Right order?", model="fake/judge")])
    text = next(p for p in prompts if "42" in p)
    assert "TRAJECTORY (tool calls and their results, in order):" in text
    assert 'assistant calls lookup_order(order_id="42")' in text
    assert 'tool result (lookup_order): {"order_id": "42", "status": "shipped"}' in text
    assert 'assistant: Result: {"order_id": "42"' in text


def test_judges_see_the_calls_of_a_single_reply(fake: FakeProvider) -> None:
    prompts: list[str] = []
    fake.script("agent", agent).script(
        "judge", lambda r: prompts.append(r.messages[-1]["content"]) or "PASS"
    )
    run([loop_variant(max_steps=None)], scorers=[wb.scorers.judge("ok?", model="fake/judge")])
    assert any('RESPONSE:\nTOOL CALLS:\n- lookup_order(order_id="42")' in p for p in prompts)


def test_the_estimate_counts_the_first_step_with_its_tools(fake: FakeProvider) -> None:
    est = wb.Experiment("loops", dataset(), [loop_variant()]).estimate()
    plain = wb.Experiment("loops", dataset(), [loop_variant(tools=[], max_steps=None)]).estimate()
    assert est.calls == 3 and est.input_tokens > plain.input_tokens


def test_the_trajectory_survives_jsonl(fake: FakeProvider, tmp_path: Any) -> None:
    fake.script("agent", agent)
    res = run([loop_variant()])
    path = res.save(tmp_path / "out.jsonl")
    first = json.loads(path.read_text().splitlines()[0])
    assert first["trajectory"][0]["tool_calls"][0]["name"] == "lookup_order"


@pytest.mark.parametrize("steps", [1, 2])
def test_small_step_limits(fake: FakeProvider, steps: int) -> None:
    fake.script("agent", agent)
    res = run([loop_variant(max_steps=steps)])
    assert fake.calls["agent"] == 3 * steps
    expected = "tool_calls" if steps == 1 else "stop"
    assert res.df["finish_reason"].eq(expected).all()


def test_a_yaml_experiment_runs_a_loop_with_imported_functions(
    fake: FakeProvider, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from workbench.cli import main

    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "wb_yaml_tools", raising=False)
    (tmp_path / "wb_yaml_tools.py").write_text(
        "def lookup_order(order_id: str) -> dict:\n"
        '    """Find an order by id."""\n'
        '    return {"order_id": order_id, "status": "shipped"}\n',
        encoding="utf-8",
    )
    (tmp_path / "q.csv").write_text("message\nwhere is order 42\n", encoding="utf-8")
    (tmp_path / "experiment.yaml").write_text(
        "name: yaml-loop\n"
        "dataset: q.csv\n"
        "variants:\n"
        "  - name: agent\n"
        "    model: fake/agent\n"
        '    user: "{{ message }}"\n'
        "    tools: [wb_yaml_tools.lookup_order]\n"
        "    tool_choice: auto\n"
        "    max_steps: 2\n"
        "scorers:\n"
        "  - tool_called: lookup_order\n",
        encoding="utf-8",
    )
    fake.script("agent", agent)
    monkeypatch.chdir(tmp_path)
    args = [
        "run",
        "experiment.yaml",
        "--import",
        "wb_yaml_tools",
        "--out",
        "out",
        "--format",
        "jsonl",
    ]
    assert main(args) == 0
    row = json.loads(next((tmp_path / "out").glob("*.jsonl")).read_text().splitlines()[0])
    assert row["output"] == 'Result: {"order_id": "42", "status": "shipped"}'
    assert row["tool_called_pass"] is True
    monkeypatch.delitem(sys.modules, "wb_yaml_tools")


@pytest.mark.parametrize("concurrency", [1, 8])
def test_a_single_call_never_pays_again_for_a_loops_first_step(
    fake: FakeProvider, concurrency: int
) -> None:
    fake.script("agent", agent)
    single = loop_variant(max_steps=None).replace(name="single")
    # one at a time, the loop stores its first step before the single call asks for it;
    # at once, the single call shares the loop's call in flight
    res = run([loop_variant(), single], concurrency=concurrency)
    assert fake.calls["agent"] == 6
    assert res.df.groupby("variant")["output"].apply(
        lambda s: s.str.len().gt(0).all()
    ).to_dict() == {
        "loop": True,
        "single": False,
    }
