"""Exported prompts with tools: Prompty ``tools`` read by Microsoft's ``prompty`` (which sends the
same tools), Dotprompt ``toolDefs`` read by ``dotpromptz`` (or the reason it was skipped), the
loader's requests, and ``workbench check`` re-running the tool scorers (and tool loops)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from fakes import current_fake
from tool_cases import LOOKUP, REFUND, lookup_order, refund

import workbench as wb
from workbench.artifact.prompty import parse_prompty, write_prompty
from workbench.checking import run_check
from workbench.engine.progress import NullProgress
from workbench.errors import ArtifactError
from workbench.providers import ChatRequest
from workbench.providers.fake import tool_call
from workbench.run_results import Results

DATA = "id,message,order_id\nr42,where is order 42,42\nr7,where is order 7,7\n"
SCORERS = [
    wb.scorers.tool_called("lookup_order"),
    wb.scorers.tool_args("lookup_order", {"order_id": "{{ order_id }}"}),
]


def router(req: ChatRequest) -> Any:
    if req.messages[-1]["role"] == "tool":
        return "Done: " + req.messages[-1]["content"]
    return tool_call("lookup_order", {"order_id": req.messages[-1]["content"].split()[-1]})


def run(tmp_path: Path, **kw: Any) -> Results:
    current_fake().script("router", router)
    (tmp_path / "orders.csv").write_text(DATA, encoding="utf-8")
    kw.setdefault("tools", [LOOKUP, REFUND])
    v = wb.Variant(
        "v1", model="fake/router", system="You route requests.", user="{{ message }}", **kw
    )
    return wb.Experiment("routing", "orders.csv", [v], scorers=SCORERS).run(progress=NullProgress())


def test_the_prompty_file_carries_the_tools_and_round_trips(tmp_path: Path) -> None:
    p = run(tmp_path, tool_choice="lookup_order", parallel_tool_calls=False).export(
        "v1", name="router"
    )
    text = (p.path / "prompt.prompty").read_text()
    assert (
        "tools:\n- name: lookup_order\n  kind: function\n  description: Find an order by id."
        in text
    )
    assert "allowMultipleToolCalls: false" in text
    assert write_prompty(parse_prompty(text)) == text
    assert p.tools is not None and list(p.tools.definitions) == [LOOKUP, REFUND]
    assert p.tools.choice == {"type": "function", "function": {"name": "lookup_order"}}
    assert p.tools.parallel is False and p.params == {}
    assert p.render(message="where is order 9") == {
        "model": "router",
        "messages": [
            {"role": "system", "content": "You route requests."},
            {"role": "user", "content": "where is order 9"},
        ],
        "tools": [LOOKUP, REFUND],
        "tool_choice": {"type": "function", "function": {"name": "lookup_order"}},
        "parallel_tool_calls": False,
    }
    claude = p.render_anthropic(message="where is order 9")
    assert claude["tools"][0] == {
        "name": "lookup_order",
        "description": "Find an order by id.",
        "input_schema": LOOKUP["function"]["parameters"],
    }
    assert claude["tool_choice"] == {
        "type": "tool",
        "name": "lookup_order",
        "disable_parallel_tool_use": True,
    }
    assert "extra_body" not in claude
    record = json.loads((p.path / "eval.json").read_text())
    assert [s["name"] for s in record["scorers"]] == ["tool_called", "tool_args"]
    assert record["variant_spec"]["tools"] == [LOOKUP, REFUND]


def test_the_prompty_package_sends_the_same_request(tmp_path: Path) -> None:
    prompty = pytest.importorskip("prompty")
    from prompty.providers.openai.executor import OpenAIExecutor

    p = run(tmp_path, tool_choice="required", parallel_tool_calls=True).export("v1", name="router")
    agent = prompty.load(str(p.path / "prompt.prompty"))
    assert [(t.name, t.kind) for t in agent.tools] == [
        ("lookup_order", "function"),
        ("refund", "function"),
    ]
    inputs = {"message": "where is order 42"}
    theirs = OpenAIExecutor()._build_chat_args(agent, prompty.prepare(agent, inputs))
    ours = p.render(**inputs)
    assert theirs == {**ours, "model": "router"}


def test_dotprompt_tool_defs_and_when_they_are_skipped(tmp_path: Path) -> None:
    dotpromptz = pytest.importorskip("dotpromptz")
    p = run(tmp_path).export("v1", name="router")
    text = (p.path / "prompt.prompt").read_text()
    meta = asyncio.run(dotpromptz.Dotprompt().render_metadata(text))
    defs = [(d.name, d.description, d.input_schema) for d in meta.tool_defs]
    assert defs == [
        ("lookup_order", "Find an order by id.", LOOKUP["function"]["parameters"]),
        ("refund", "Refund an order.", REFUND["function"]["parameters"]),
    ]
    forced = run(tmp_path, tool_choice="required").export("v1", name="forced")
    assert not (forced.path / "prompt.prompt").exists()
    assert forced.eval["dotprompt"] == (
        "skipped: tool_choice 'required', which Dotprompt has no field for"
    )


def test_check_reruns_the_tool_scorers_and_names_rows_that_regressed(tmp_path: Path) -> None:
    p = run(tmp_path).export("v1", name="router")
    ok = run_check(p.path)
    assert not ok.regressed
    assert any(line.startswith("  [pass] tool_args: reproduced") for line in ok.lines)
    # another model that calls the wrong tool
    current_fake().script(
        "router2", lambda req: tool_call("refund", {"order_id": "1", "amount": 1})
    )
    bad = run_check(p.path, model="fake/router2")
    # two rows cannot prove a regression beyond the margin: inconclusive, never a pass
    assert bad.status == "inconclusive" and not bad.regressed
    called = next(line for line in bad.lines if "tool_called:" in line)
    assert "rows now failing: r42, r7" in called


def test_check_runs_a_tool_loop_with_its_imported_functions(tmp_path: Path) -> None:
    res = run(tmp_path, tools=[lookup_order, refund], max_steps=3)
    assert res.df["output"].tolist()[0].startswith("Done:")
    p = res.export("v1", name="looped")
    meta = p.prompt.metadata
    assert meta["max_steps"] == 3
    assert meta["tool_functions"] == {
        "lookup_order": "tool_cases.lookup_order",
        "refund": "tool_cases.refund",
    }
    report = run_check(p.path)
    assert not report.regressed and report.results is not None
    assert report.results.df["cached"].all()
    assert report.results.df["trajectory"].map(len).tolist() == [3, 3]


def test_check_of_a_loop_whose_functions_cannot_be_found(tmp_path: Path) -> None:
    def lookup_order(order_id: str) -> str:
        """Local."""
        return "x"

    p = run(tmp_path, tools=[lookup_order], max_steps=2).export("v1", name="local")
    with pytest.raises(
        ArtifactError, match=r"defined inside another.*runs a tool loop \(max_steps=2\)"
    ):
        run_check(p.path)
