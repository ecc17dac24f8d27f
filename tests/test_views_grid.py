"""The comparison grid: pure grid model (grouping, filters, sort, paging, diff, detail) and the
widget driven headless, setting traits as the browser would."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

import workbench as wb
from workbench.engine.progress import NullProgress
from workbench.engine.store import Store
from workbench.providers import ChatRequest
from workbench.providers.fake import FakeProvider, last_user_text
from workbench.views.grid_filters import Filters, Sort
from workbench.views.grid_model import GridModel
from workbench.views.grid_text import word_diff


def _flaky(request: ChatRequest) -> str:
    text = last_user_text(request)
    if text == "rome":  # repeats disagree: one right, one wrong
        return "Rome" if request.repeat == 0 else "Milan"
    return {"paris": "It is Paris", "tokyo": "Kyoto"}.get(text, text)


@pytest.fixture
def res(fake: FakeProvider) -> wb.Results:
    fake.script("flaky", _flaky)
    ds = wb.Dataset(
        pd.DataFrame(
            {
                "id": ["r0", "r1", "r2"],
                "question": ["paris", "tokyo", "rome"],
                "expected": ["Paris", "Tokyo", "Rome"],
            }
        )
    )
    variants = [
        wb.Variant("echo", model="fake/echo", user="{{ question }}"),
        wb.Variant("flaky", model="fake/flaky", user="{{ question }}"),
    ]
    exp = wb.Experiment(
        "grid", ds, variants, scorers=[wb.scorers.contains("{{ expected }}")], repeats=2
    )
    return exp.run(progress=NullProgress())


def model(res: wb.Results) -> GridModel:
    return GridModel(res.df, res.variants, res.scorers)


def cell(page: dict[str, Any], row_id: str, variant: str) -> dict[str, Any]:
    row = next(r for r in page["rows"] if r["row_id"] == row_id)
    found: dict[str, Any] = next(c for c in row["cells"] if c["variant"] == variant)
    return found


def test_repeats_grouped_k_of_n_and_distinct_outputs(res: wb.Results) -> None:
    page = model(res).page()
    assert [r["row_id"] for r in page["rows"]] == ["r0", "r1", "r2"]
    rome = cell(page, "r2", "flaky")
    assert rome["checks"]["contains"] == {
        "k": 1,
        "n": 2,
        "state": "mixed",
        "reason": "does not contain 'Rome'",  # the failing repeat's reason, in the cell
    }
    assert rome["n"] == 2 and rome["distinct"] == 2
    assert cell(page, "r1", "flaky")["checks"]["contains"]["state"] == "fail"
    assert cell(page, "r0", "flaky")["checks"]["contains"]["state"] == "pass"
    assert cell(page, "r0", "echo")["checks"]["contains"]["state"] == "pass"  # case-insensitive
    assert page["rows"][0]["inputs"] == {"question": "paris", "expected": "Paris"}  # id: row_id


def test_filters_failures_disagreement_search_scorer(res: wb.Results) -> None:
    m = model(res)
    ids = lambda f: [m.row_ids[i] for i in m.select(f, Sort())]  # noqa: E731
    assert ids(Filters(failures=True)) == ["r1", "r2"]
    assert ids(Filters(disagree=True)) == ["r1", "r2"]  # r2: 1 of 2 is no majority
    assert ids(Filters(search="KYOTO")) == ["r1"]
    assert ids(Filters(search="paris")) == ["r0"]
    assert ids(Filters(failures=True, scorer="contains")) == ["r1", "r2"]
    with pytest.raises(ValueError, match="No scorer"):
        m.select(Filters(scorer="nope"), Sort())


def test_sort_by_any_metric(res: wb.Results) -> None:
    m = model(res)
    order = lambda s: [m.row_ids[i] for i in m.select(Filters(), s)]  # noqa: E731
    assert order(Sort("pass", variant="flaky")) == ["r1", "r2", "r0"]
    assert order(Sort("pass", variant="flaky", desc=True)) == ["r0", "r2", "r1"]
    assert order(Sort("distinct", variant="flaky", desc=True))[0] == "r2"
    assert order(Sort("row", desc=True)) == ["r2", "r1", "r0"]
    for key in ("score", "tokens", "latency", "cost", "errors"):
        assert sorted(order(Sort(key))) == ["r0", "r1", "r2"]
    with pytest.raises(ValueError, match="Cannot sort"):
        Sort.of({"by": "vibes"})


def test_paging_sends_only_page_size_rows() -> None:
    n = 95
    df = pd.DataFrame(
        {
            "row_id": [i for i in range(n) for _ in range(2)],
            "variant": ["a", "b"] * n,
            "repeat": 0,
            "output": ["x"] * (2 * n),
            "error": None,
            "messages": "[]",
            "input_tokens": 1,
            "output_tokens": 1,
            "latency_ms": 1.0,
            "cost_usd": 0.0,
            "request_key": "k",
        }
    )
    m = GridModel(df, ["a", "b"], [])
    page = m.page(page=3, page_size=20)
    assert page["total"] == n and page["pages"] == 5 and page["page"] == 3
    assert [r["row_id"] for r in page["rows"]] == list(range(60, 80))
    assert len(m.page(page=99, page_size=20)["rows"]) == 15  # clamped to the last page


def test_word_diff_highlights_changes_and_escapes() -> None:
    html = word_diff("the cat sat", "the <dog> sat")
    assert html == 'the <del class="wb-del">cat </del><ins class="wb-ins">&lt;dog&gt; </ins>sat'
    assert word_diff("same", "same") == "same"


def test_diff_against_baseline_only_for_other_variants(res: wb.Results) -> None:
    page = model(res).page(baseline="echo")
    assert cell(page, "r1", "echo")["diff"] is None
    assert (
        "<ins" in cell(page, "r1", "flaky")["diff"] and "Kyoto" in cell(page, "r1", "flaky")["diff"]
    )


def test_detail_has_messages_raw_response_and_reasons(res: wb.Results) -> None:
    m = model(res)
    keys = {k: {"body": k} for _, k in m.repeats_of("r2", "flaky")}
    detail = m.detail("r2", "flaky", keys)
    assert [g["output"] for g in detail["groups"]] == ["Rome", "Milan"]
    assert detail["messages"] == [{"role": "user", "content": "rome"}]
    first = detail["groups"][0]
    run = first["runs"][0]
    assert run["raw"] == {"body": run["request_key"]}
    score = first["scores"][0]
    assert score["scorer"] == "contains" and (score["passed"], score["n"]) == (1, 1)
    assert "Rome" in score["reasons"][0]["text"]
    assert detail["groups"][1]["scores"][0]["passed"] == 0


# -- the widget ------------------------------------------------------------------------------
anywidget = pytest.importorskip("anywidget")


def test_widget_pages_filters_sorts_like_the_frontend(res: wb.Results) -> None:
    w = wb.Compare(res, page_size=2)
    assert (w.total, w.pages, len(w.rows)) == (3, 2, 2)
    assert w.variants == ["echo", "flaky"] and w.scorers == ["contains"]
    assert w.summary[0]["variant"] == "echo" and "contains_pass_low" in w.summary[0]
    assert w.header[0]["checks"]["contains"]["ci"]  # the same, formatted
    assert "echo" in w.verdict
    w.page = 1
    assert [r["row_id"] for r in w.rows] == ["r2"]
    w.filters = {"failures": True, "search": "", "scorer": None, "disagree": False}
    assert w.page == 0 and w.total == 2 and [r["row_id"] for r in w.rows] == ["r1", "r2"]
    w.filters = {"search": "kyoto"}
    assert [r["row_id"] for r in w.rows] == ["r1"]
    w.filters = {}
    w.sort = {"by": "pass", "variant": "flaky", "desc": False}
    assert [r["row_id"] for r in w.rows] == ["r1", "r2"]
    w.baseline = "echo"
    assert "<ins" in w.rows[0]["cells"][1]["diff"]
    w.sort = {"by": "vibes"}
    assert "Cannot sort" in w.error


def test_widget_cell_detail_and_label_saved_in_store(res: wb.Results) -> None:
    w = wb.Compare(res)
    w.selected = {"row_id": "r1", "variant": "flaky"}
    assert w.detail["variant"] == "flaky" and w.detail["repeats"] == 2
    (kyoto,) = w.detail["groups"]  # both repeats said Kyoto: one group, "2 ×"
    assert kyoto["count"] == 2 and kyoto["repeats"] == [0, 1]
    assert kyoto["runs"][0]["raw"] is not None  # the provider's body, from the store
    w.label = {"row_id": "r1", "variant": "flaky", "label": "down", "comment": "wrong city"}
    assert w.saved == 1 and not w.error
    assert cell({"rows": w.rows}, "r1", "flaky")["label"] == "down"
    assert w.detail["groups"][0]["runs"][1]["comment"] == "wrong city"
    with Store(res.record.store) as store:
        saved = store.labels("grid")
    assert saved[("r1", "flaky", 0)] == saved[("r1", "flaky", 1)] == ("down", "wrong city")
    part = res.df[res.df["human_label"].notna()]
    assert list(part["row_id"]) == ["r1", "r1"] and set(part["human_comment"]) == {"wrong city"}
    # one repeat, then clearing it
    w.label = {"row_id": "r0", "variant": "echo", "label": "A", "comment": "", "repeat": 1}
    with Store(res.record.store) as store:
        assert ("r0", "echo", 0) not in store.labels("grid")
        assert store.labels("grid")[("r0", "echo", 1)] == ("A", "")
    w.label = {"row_id": "r0", "variant": "echo", "label": "", "comment": "", "repeat": 1}
    with Store(res.record.store) as store:
        assert ("r0", "echo", 1) not in store.labels("grid")


def test_labels_survive_a_rerun_and_show_in_df(res: wb.Results) -> None:
    res.set_label("r2", "flaky", "up", "close enough")
    again = wb.Experiment(
        "grid",
        wb.Dataset(
            pd.DataFrame(
                {
                    "id": ["r0", "r1", "r2"],
                    "question": ["paris", "tokyo", "rome"],
                    "expected": ["Paris", "Tokyo", "Rome"],
                }
            )
        ),
        [
            wb.Variant("echo", model="fake/echo", user="{{ question }}"),
            wb.Variant("flaky", model="fake/flaky", user="{{ question }}"),
        ],
        scorers=[wb.scorers.contains("{{ expected }}")],
        repeats=2,
    ).run(progress=NullProgress())
    graded = again.df[again.df["human_label"].notna()]
    assert list(graded["human_label"]) == ["up", "up"] and set(graded["variant"]) == {"flaky"}
    w = wb.Compare(again)
    assert cell({"rows": w.rows}, "r2", "flaky")["comment"] == "close enough"
    agreement = again.agreement("contains", labels="human_label")
    assert agreement.n == 2


def test_results_show_the_grid_only_in_a_kernel(res: wb.Results) -> None:
    assert "<table" in res._repr_html_()  # outside a kernel: the plain table


def test_res_as_last_line_shows_the_grid_in_a_kernel(tmp_path: Any) -> None:
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import pandas as pd, workbench as wb\n"
            "ds = wb.Dataset(pd.DataFrame({'question': ['a', 'b'], 'expected': ['a', 'x']}))\n"
            "exp = wb.Experiment('k', ds, [wb.Variant('echo', model='fake/echo', "
            "user='{{ question }}')], scorers=[wb.scorers.contains('{{ expected }}')])\n"
            "res = exp.run()\n"
            "res"
        )
    ]
    client = NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    client.set_widgets_metadata()
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    grids = [m["state"] for m in state.values() if "rows" in m["state"]]
    assert len(grids) == 1
    grid = grids[0]
    assert grid["variants"] == ["echo"] and grid["total"] == 2
    states = [r["cells"][0]["checks"]["contains"]["state"] for r in grid["rows"]]
    assert states == ["pass", "fail"]
    shown = [
        o
        for o in nb.cells[0].outputs
        if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    ]
    assert len(shown) == 2  # the progress widget and the grid
