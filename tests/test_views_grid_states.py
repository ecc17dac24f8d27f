"""The grid model tells every state as it is: not run apart from errors, filters users ask for,
the diff's options and truncation, formatted numbers, repeats collapsed in the detail."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pytest

from workbench import figures
from workbench.views.grid_filters import Filters, Sort
from workbench.views.grid_model import GridModel, header_rows
from workbench.views.grid_text import TRUNCATE, DiffOptions, word_diff


def frame(cells: list[dict[str, Any]], scorer: str = "ok") -> pd.DataFrame:
    """A run table from (row_id, variant, repeat, output, error, passed, ...) cells."""
    records = []
    for c in cells:
        passed = c.get("passed")
        records.append(
            {
                "row_id": c["row_id"],
                "question": c.get("question", f"q {c['row_id']}"),
                "variant": c["variant"],
                "repeat": c.get("repeat", 0),
                "model": "fake/echo",
                "provider": "fake",
                "messages": json.dumps([{"role": "user", "content": "q"}]),
                "output": c.get("output"),
                "error": c.get("error"),
                "finish_reason": "stop",
                "input_tokens": c.get("tokens", 7000),
                "output_tokens": 93,
                "latency_ms": c.get("latency", 1234.0),
                "cost_usd": c.get("cost", 0.0),
                "scoring_cost_usd": 0.0,
                "cached": False,
                "request_key": f"k-{c['row_id']}-{c['variant']}-{c.get('repeat', 0)}",
                "human_label": None,
                "human_comment": None,
                scorer: None if passed is None else float(passed),
                f"{scorer}_pass": passed,
                f"{scorer}_reason": c.get("reason", "" if passed else "wrong"),
                **c.get("more", {}),
            }
        )
    df = pd.DataFrame.from_records(records)
    df[f"{scorer}_pass"] = df[f"{scorer}_pass"].astype("boolean")
    return df


def by_id(page: dict[str, Any], row_id: str, variant: str) -> dict[str, Any]:
    row = next(r for r in page["rows"] if r["row_id"] == row_id)
    found: dict[str, Any] = next(c for c in row["cells"] if c["variant"] == variant)
    return found


STOPPED = frame(
    [
        {"row_id": "r0", "variant": "a", "output": "Paris", "passed": True},
        {"row_id": "r0", "variant": "b", "output": "paris", "passed": True},
        {"row_id": "r1", "variant": "a", "output": "Tokyo", "passed": True},
        {"row_id": "r1", "variant": "b", "error": "HTTP 500: boom", "passed": False},
        {"row_id": "r2", "variant": "a", "output": "Rome", "passed": True},
        {"row_id": "r2", "variant": "b", "error": "not run: interrupted", "passed": None},
    ]
)


def test_not_run_is_its_own_state_apart_from_errors() -> None:
    m = GridModel(STOPPED, ["a", "b"], ["ok"])
    page = m.page()
    unrun, failed = by_id(page, "r2", "b"), by_id(page, "r1", "b")
    assert (unrun["status"], unrun["not_run"], unrun["errors"]) == ("notrun", 1, 0)
    assert unrun["checks"]["ok"]["state"] == "none"  # not scored, not failed
    assert (failed["status"], failed["errors"], failed["error"]) == ("error", 1, "HTTP 500: boom")
    ids = lambda f: [m.row_ids[i] for i in m.select(f, Sort())]  # noqa: E731
    assert ids(Filters(not_run=True)) == ["r2"]
    assert ids(Filters(errors=True)) == ["r1"]
    assert ids(Filters(failures=True)) == ["r1"]  # a failed call fails its checks
    assert ids(Filters(passes=True, variant="b")) == ["r0"]
    assert ids(Filters(passes=True)) == ["r0", "r1", "r2"]  # variant a passes everywhere


def test_header_counts_not_run_apart_and_formats_numbers() -> None:
    summary = pd.DataFrame(
        [
            {
                "variant": "b",
                "model": "fake/echo",
                "errors": 1,
                "not_run": 1,
                "ok_pass_rate": 0.0953,
                "ok_pass_low": 0.02,
                "ok_pass_high": 0.5,
                "cost_usd": 0.0,
                "latency_p50_ms": 23940.0,
                "latency_p95_ms": 950.0,
            }
        ]
    )
    (row,) = header_rows(summary, ["ok"])
    assert row["checks"]["ok"] == {"rate": "9.5 %", "ci": "2.0 % – 50 %", "value": 0.0953}
    assert (row["cost"], row["latency"], row["latency_p95"]) == ("free", "24 s", "950 ms")
    assert (row["errors"], row["not_run"]) == (1, 1)


def test_numbers_read_as_people_write_them() -> None:
    assert figures.duration(23940) == "24 s" and figures.duration(1234) == "1.2 s"
    assert figures.duration(850) == "850 ms" and figures.duration(125_000) == "2 min 05 s"
    assert figures.share(0.0953) == "9.5 %" and figures.share(2 / 3) == "67 %"
    assert figures.tokens(7093) == "7,093 tok" and figures.count(12345) == "12,345"
    assert figures.money(0) == "free" and figures.money(0.00123) == "$0.0012"
    assert figures.money(12.5) == "$12.50" and figures.money(None) == "cost unknown"
    assert figures.duration(None) == figures.MISSING


def test_cell_numbers_show_dollars_only_when_not_free() -> None:
    df = frame(
        [
            {"row_id": "r0", "variant": "a", "output": "x", "passed": True},
            {"row_id": "r0", "variant": "b", "output": "x", "passed": True, "cost": 0.0021},
            {"row_id": "r0", "variant": "c", "output": "x", "passed": True, "cost": None},
        ]
    )
    page = GridModel(df, ["a", "b", "c"], ["ok"]).page()
    assert by_id(page, "r0", "a")["meta"] == "7,093 tok · 1.2 s"
    assert by_id(page, "r0", "b")["meta"] == "7,093 tok · 1.2 s · $0.0021"
    assert by_id(page, "r0", "c")["meta"] == "7,093 tok · 1.2 s · cost unknown"


def test_diff_ignores_case_or_space_and_skips_error_cells() -> None:
    m = GridModel(STOPPED, ["a", "b"], ["ok"])
    page = m.page(baseline="a")
    assert "<ins" in by_id(page, "r0", "b")["diff"]  # Paris vs paris
    assert by_id(page, "r1", "b")["diff"] is None  # an error cell is never diffed
    assert by_id(page, "r2", "b")["diff"] is None  # nor a cell that did not run
    same = m.page(baseline="a", diff=DiffOptions(ignore_case=True))
    assert by_id(same, "r0", "b")["diff"] == "paris"
    ids = lambda f, d: [m.row_ids[i] for i in m.select(f, Sort(), "a", d)]  # noqa: E731
    assert ids(Filters(differs=True), DiffOptions()) == ["r0"]
    assert ids(Filters(differs=True), DiffOptions(ignore_case=True)) == []
    assert word_diff("a  b", "a b\n", DiffOptions(ignore_space=True)) == "a b\n"


def test_diff_is_truncated_like_a_cell() -> None:
    long_a, long_b = "word " * 300, "word " * 150 + "other " + "word " * 150
    html = word_diff(long_a, long_b)
    visible = html.replace('<ins class="wb-ins">', "").replace("</ins>", "")
    visible = visible.replace('<del class="wb-del">', "").replace("</del>", "")
    assert visible.endswith("…") and len(visible) == TRUNCATE + 1
    assert "other" not in html  # past the cut


def test_filters_need_a_baseline_to_compare_with() -> None:
    m = GridModel(STOPPED, ["a", "b"], ["ok"])
    with pytest.raises(ValueError, match="Choose a baseline"):
        m.select(Filters(regressed=True), Sort())
    assert [m.row_ids[i] for i in m.select(Filters(regressed=True), Sort(), "a")] == ["r1"]
    assert list(m.select(Filters(regressed=True, variant="a"), Sort(), "a")) == []
    with pytest.raises(ValueError, match="No variant 'c' to filter on"):
        m.select(Filters(errors=True, variant="c"), Sort())


def test_repeats_disagree_and_distinct_outputs_reachable() -> None:
    df = frame(
        [
            {"row_id": "r0", "variant": "a", "repeat": 0, "output": "Milan", "passed": False},
            {"row_id": "r0", "variant": "a", "repeat": 1, "output": "Rome", "passed": True},
            {"row_id": "r0", "variant": "a", "repeat": 2, "output": "Rome", "passed": True},
            {"row_id": "r1", "variant": "a", "repeat": 0, "output": "Oslo", "passed": True},
            {"row_id": "r1", "variant": "a", "repeat": 1, "output": "Oslo", "passed": True},
            {"row_id": "r1", "variant": "a", "repeat": 2, "output": "Oslo", "passed": True},
        ]
    )
    m = GridModel(df, ["a"], ["ok"])
    assert [m.row_ids[i] for i in m.select(Filters(repeats_disagree=True), Sort())] == ["r0"]
    rome = by_id(m.page(), "r0", "a")
    assert rome["output"] == "Rome"  # what most repeats said, not repeat 0's
    assert rome["outputs"] == [
        {"text": "Rome", "count": 2, "repeats": [1, 2]},
        {"text": "Milan", "count": 1, "repeats": [0]},
    ]
    assert rome["checks"]["ok"] == {"k": 2, "n": 3, "state": "mixed", "reason": "wrong"}
    assert "outputs" not in by_id(m.page(), "r1", "a")
    detail = m.detail("r1", "a")
    (group,) = detail["groups"]  # three identical answers: "3 ×"
    assert (group["count"], group["repeats"], group["output"]) == (3, [0, 1, 2], "Oslo")
    assert [r["repeat"] for r in group["runs"]] == [0, 1, 2]


def test_search_as_regex_and_a_bad_pattern_says_what_to_do() -> None:
    m = GridModel(STOPPED, ["a", "b"], ["ok"])
    ids = lambda f: [m.row_ids[i] for i in m.select(f, Sort())]  # noqa: E731
    assert ids(Filters(search="^(tokyo|rome)$", regex=True)) == ["r1", "r2"]
    assert ids(Filters(search="boom")) == ["r1"]  # error texts are searched too
    assert ids(Filters(search="  TOKYO ")) == ["r1"]
    with pytest.raises(ValueError, match=r"not a valid regular expression .* untick 'regex'"):
        m.select(Filters(search="(tokyo", regex=True), Sort())
    assert Filters.of({"regex": 1, "differs": True, "variant": ""}) == Filters(
        regex=True, differs=True
    )


def test_every_filter_condition_has_a_label_for_the_grid() -> None:
    flags = Filters.flags()
    assert [f[0] for f in flags] == [
        "failures",
        "passes",
        "errors",
        "not_run",
        "repeats_disagree",
        "disagree",
        "differs",
        "regressed",
        "other_tool",
    ]
    assert [f[0] for f in Filters.flags(tools=False)][-1] == "regressed"  # no tool calls
    assert ("not_run", "not run", "a call was never made (stopped, or the budget ran out)") in flags


def test_json_outputs_pretty_and_conversations_as_turns() -> None:
    chat = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]
    df = frame(
        [
            {
                "row_id": "r0",
                "variant": "a",
                "output": '{"city":"Paris","n":1}',
                "passed": True,
                "question": json.dumps(chat),
            }
        ]
    )
    m = GridModel(df, ["a"], ["ok"])
    c = by_id(m.page(), "r0", "a")
    assert c["kind"] == "json" and c["pretty"] == '{\n  "city": "Paris",\n  "n": 1\n}'
    assert m.page()["rows"][0]["inputs"]["question"] == {"chat": chat}
    detail = m.detail("r0", "a")
    assert detail["inputs"]["question"] == {"chat": chat}
    assert detail["groups"][0]["kind"] == "json"


def test_detail_lists_further_result_fields_generically() -> None:
    calls = [{"name": "lookup", "arguments": {"city": "Paris"}}]
    df = frame(
        [
            {
                "row_id": "r0",
                "variant": "a",
                "output": "Paris",
                "passed": True,
                "more": {"tool_calls": calls, "reasoning": ""},
            }
        ]
    )
    m = GridModel(df, ["a"], ["ok"], extra=["tool_calls", "reasoning"])
    assert m.inputs == ["question"]  # result fields are not inputs
    run = m.detail("r0", "a")["groups"][0]["runs"][0]
    assert run["extra"] == {"tool_calls": calls}  # empty fields left out
    assert run["usage"] == "7,000 in · 93 out · 1.2 s · free"


def test_graded_scorers_show_their_value_binary_ones_do_not() -> None:
    df = frame([{"row_id": "r0", "variant": "a", "output": "x", "passed": True}])
    df["sim"], df["sim_pass"], df["sim_reason"] = 0.83, True, "close"
    df["sim_pass"] = df["sim_pass"].astype("boolean")
    c = by_id(GridModel(df, ["a"], ["ok", "sim"]).page(), "r0", "a")
    assert "score" not in c["checks"]["ok"] and c["checks"]["sim"]["score"] == "0.83"
