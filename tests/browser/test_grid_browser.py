"""The comparison grid and a chart in a real JupyterLab, light and dark, driven by headless Chromium.

One notebook runs an experiment on the fake provider (two variants, two scorers, three repeats:
passes, failures, repeats that disagree, a JSON answer, Markdown, a failed call) and shows the
grid and a chart (the saved image, and the interactive widget). Each test drives it as a user would and restores what it changed. Every text
is measured against its background: contrast of at least 4.5:1 (WCAG AA) in both themes.
Screenshots go to ``docs/screenshots/`` (``-dark`` for the dark theme).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import pytest
from conftest import Lab
from lab import contrast, notebook_page, theme_of, write_notebook

from workbench.engine.store import Store

CELLS = [
    """import pandas as pd
import workbench as wb
from workbench.errors import ProviderError
from workbench.providers.fake import FakeProvider, last_user_text
from workbench.views import charts
charts.enable_offline()

def wrong(request):
    q = last_user_text(request)
    if q == "lima":
        raise ProviderError("HTTP 500: upstream broke")
    if q == "oslo":
        return "Oslo" if request.repeat else "Bergen"
    return {"tokyo": "Kyoto", "rome": '{"city": "Milan", "country": "Italy"}',
            "cairo": "**Cairo**, on the Nile"}.get(q, q.title())

wb.configure(providers=[FakeProvider().script("wrong", wrong)], max_retries=0)
cities = ["paris", "tokyo", "rome", "oslo", "lima", "cairo", "delhi", "quito", "accra", "hanoi",
          "sofia", "doha"]
ds = wb.Dataset(pd.DataFrame({
    "id": [f"r{i}" for i in range(12)], "question": cities,
    "expected": [c.title() for c in cities],
    "note": ["A long note about the city and its history. " * 12] + ["short"] * 11,
    "chat": ['[{"role": "user", "content": "Hi!"}, {"role": "assistant", "content": "Hello."}]']
            + [""] * 11}))
exp = wb.Experiment("browser-grid", ds,
    [wb.Variant("echo", model="fake/echo", user="{{ question }}"),
     wb.Variant("wrong", model="fake/wrong", user="{{ question }}")],
    scorers=[wb.scorers.contains("{{ expected }}"),
             wb.scorers.regex("^[A-Z]", name="capitalised")], repeats=3)
res = exp.run()""",
    "wb.Compare(res, baseline='echo', page_size=10)",
    "charts.pass_rate(res.summary())",
    "charts.enable_offline(interactive=True)\ncharts.pass_rate(res.summary())",
]


@pytest.fixture(scope="module")
def page(lab: Lab) -> Iterator[Any]:
    """The grid notebook, run once per theme; tests share it and undo what they change."""
    from playwright.sync_api import expect

    write_notebook(lab.root / "grid.ipynb", CELLS)
    with notebook_page(lab.url, "grid", lab.work / "chromium") as p:
        expect(p.locator(".wb-grid td.wb-cell")).to_have_count(20, timeout=120_000)
        expect(p.locator(".wb-grid .wb-verdict").first).not_to_contain_text("computing")
        assert theme_of(p) == lab.theme
        yield p


CHART = "svg.marks, canvas, img[src^='data:image/svg+xml']"
"""A drawn chart: vega's SVG or canvas, or the inline SVG (vl-convert's, offline) that
JupyterLab shows as an image."""


def cell(page: Any, row: str, variant: str) -> Any:
    return page.locator(f"td.wb-cell[data-row='\"{row}\"'][data-variant='{variant}']")


def rows(page: Any) -> list[str]:
    return [t.strip() for t in page.locator(".wb-grid tr.wb-row .wb-rowid").all_inner_texts()]


def readable(locator: Any, at_least: int) -> None:
    """Every visible text under ``locator`` has contrast >= 4.5:1 (and there is text)."""
    measured = contrast(locator)
    assert len(measured) >= at_least, measured
    low = [t for t in measured if t["ratio"] < 4.5]
    assert not low, low[:12]


def test_every_text_readable_in_the_theme(page: Any, lab: Lab) -> None:
    grid = page.locator(".wb-grid").first
    readable(grid, 150)
    states = {
        cell(page, r, v).get_attribute("data-state")
        for r, v in [("r0", "echo"), ("r1", "wrong"), ("r3", "wrong"), ("r4", "wrong")]
    }
    assert states == {"pass", "fail", "mixed", "error"}
    grid.scroll_into_view_if_needed()
    grid.screenshot(path=str(lab.shot("grid")))
    progress = page.locator(".jp-OutputArea-output").first
    assert "— done" in progress.inner_text()  # a clear end, and no Stop left to press
    assert not page.locator(".jp-CodeCell").first.locator("button", has_text="Stop").is_visible()
    readable(progress, 10)


def test_scorer_choice_recolours_and_the_legend_says_how(page: Any) -> None:
    echo = cell(page, "r0", "echo")
    before = rows(page)
    assert echo.get_attribute("data-state") == "pass"  # contains 'Paris' (any case)
    legend = page.locator(".wb-legend").first
    for word in ("pass", "some repeats pass", "fail", "call failed", "not run", "unscored"):
        assert word in legend.inner_text()
    page.locator(".wb-color-by").first.select_option("capitalised")
    from playwright.sync_api import expect

    expect(echo).to_have_attribute("data-state", "fail")  # 'paris' is not capitalised
    assert rows(page) == before  # the same rows, recoloured
    page.locator(".wb-color-by").first.select_option("contains")
    expect(echo).to_have_attribute("data-state", "pass")


def test_cells_show_fail_reasons_scores_and_every_distinct_answer(page: Any) -> None:
    assert "contains: does not contain 'Tokyo'" in cell(page, "r1", "wrong").inner_text()
    oslo = cell(page, "r3", "wrong")
    summary = oslo.locator(".wb-alts summary")
    assert summary.inner_text() == "2 distinct answers of 3"
    summary.click()
    answers = oslo.locator(".wb-alt").all_inner_texts()
    assert [a.split("×")[0].strip() for a in answers] == ["2", "1"]
    assert "Bergen" in answers[1]
    summary.click()
    assert "! call failed: HTTP 500: upstream broke" in cell(page, "r4", "wrong").inner_text()
    badge = cell(page, "r3", "wrong").locator(".wb-badge").first
    assert " ".join(badge.inner_text().split()) == "◐ contains 2/3"


def test_search_on_enter_and_as_you_type_with_highlights_and_regex(page: Any) -> None:
    from playwright.sync_api import expect

    search = page.locator(".wb-f-search").first
    search.click()
    search.press_sequentially("kyo", delay=30)  # as you type: no Enter needed
    expect(page.locator(".wb-grid tr.wb-row")).to_have_count(1, timeout=20_000)
    assert page.locator(".wb-grid mark.wb-hit").first.inner_text().lower() == "kyo"
    page.locator(".wb-f-regex").first.check()
    search.fill("^(tokyo|rome)$")
    search.press("Enter")
    expect(page.locator(".wb-grid tr.wb-row")).to_have_count(2, timeout=20_000)
    search.fill("(tokyo")
    search.press("Enter")
    expect(page.locator(".wb-status").first).to_contain_text("not a valid regular expression")
    search.fill("")
    search.press("Enter")
    page.locator(".wb-f-regex").first.uncheck()
    expect(page.locator(".wb-grid tr.wb-row")).to_have_count(10, timeout=20_000)
    expect(page.locator(".wb-status").first).to_be_hidden()


def test_filters_show_as_chips_and_restore(page: Any) -> None:
    from playwright.sync_api import expect

    page.locator(".wb-f-errors").first.check()
    expect(page.locator(".wb-grid tr.wb-row")).to_have_count(1, timeout=20_000)
    page.locator(".wb-f-variant").first.select_option("wrong")
    chips = page.locator(".wb-chips .wb-chip")
    expect(chips).to_have_count(1)
    expect(chips.first).to_contain_text("errors in wrong")
    page.locator(".wb-f-repeats_disagree").first.check()
    expect(chips).to_have_count(2)
    expect(page.locator(".wb-page").first).to_contain_text("0 rows")  # lima: no repeat agrees
    page.locator(".wb-chips .wb-clear").click()
    expect(chips).to_have_count(0)
    expect(page.locator(".wb-grid tr.wb-row")).to_have_count(10, timeout=20_000)
    page.locator(".wb-chips .wb-restore").click()
    expect(chips).to_have_count(2)
    page.locator(".wb-chip-x").first.click()  # remove one: the other stays
    expect(chips).to_have_count(1)
    expect(chips.first).to_contain_text("repeats disagree in wrong")
    expect(page.locator(".wb-grid tr.wb-row")).to_have_count(1, timeout=20_000)  # oslo
    page.locator(".wb-chip-x").first.click()
    page.locator(".wb-chip-x").first.click()  # the variant
    expect(chips).to_have_count(0)
    expect(page.locator(".wb-grid tr.wb-row")).to_have_count(10, timeout=20_000)


def test_diff_options_and_no_diff_on_error_cells(page: Any) -> None:
    from playwright.sync_api import expect

    paris = cell(page, "r0", "wrong")
    assert paris.locator("ins.wb-ins").count() == 1  # 'Paris' vs the baseline's 'paris'
    assert cell(page, "r4", "wrong").locator(".wb-diffed").count() == 0  # a failed call
    page.locator(".wb-d-case").first.check()
    expect(paris.locator("ins.wb-ins")).to_have_count(0, timeout=20_000)
    page.locator(".wb-d-case").first.uncheck()
    expect(paris.locator("ins.wb-ins")).to_have_count(1, timeout=20_000)


def test_json_and_markdown_views(page: Any) -> None:
    from playwright.sync_api import expect

    page.locator(".wb-baseline").first.select_option("")
    rome = cell(page, "r2", "wrong")
    expect(rome.locator(".wb-diffed")).to_have_count(0, timeout=20_000)  # no baseline now
    expect(rome.locator(".wb-mono")).to_have_count(1)  # JSON: monospace
    font = rome.locator(".wb-mono").evaluate("e => getComputedStyle(e).fontFamily")
    assert "mono" in font.lower()
    page.locator(".wb-render").first.select_option("json")
    expect(rome.locator("pre.wb-mono")).to_contain_text('"city": "Milan"')
    assert '\n  "city"' in rome.locator("pre.wb-mono").inner_text()
    page.locator(".wb-render").first.select_option("markdown")
    expect(cell(page, "r5", "wrong").locator(".wb-md strong")).to_have_text("Cairo")
    page.locator(".wb-render").first.select_option("text")
    page.locator(".wb-baseline").first.select_option("echo")
    expect(cell(page, "r0", "wrong").locator("ins.wb-ins")).to_have_count(1, timeout=20_000)


def test_dense_rows_page_size_sticky_header_and_inputs(page: Any) -> None:
    from playwright.sync_api import expect

    pager = page.locator(".wb-page").first
    expect(pager).to_have_text("page 1 of 2 · 12 rows")
    row_y = [page.locator(".wb-grid tr.wb-row").nth(i).bounding_box()["y"] for i in (1, 4)]
    assert row_y[1] - row_y[0] < 3 * 110  # compact: a row with a short input is ~100 px
    bubbles = page.locator(".wb-grid tr.wb-row").first.locator(".wb-inputs .wb-bubble")
    assert bubbles.all_inner_texts() == ["user\nHi!", "assistant\nHello."]  # a conversation
    note = page.locator(".wb-grid tr.wb-row").first.locator(".wb-in-value.wb-clamped")
    assert note.bounding_box()["height"] < 70  # a long input shows three lines
    page.locator(".wb-grid .wb-more").first.click()
    assert page.locator(".wb-grid tr.wb-row").first.locator(".wb-clamped").count() == 0
    page.locator(".wb-grid .wb-more").first.click()
    page.locator(".wb-page-size").first.select_option("25")
    expect(pager).to_have_text("page 1 of 1 · 12 rows")
    expect(page.locator(".wb-grid tr.wb-row")).to_have_count(12, timeout=20_000)
    box = page.locator(".wb-table").first
    box.evaluate("e => { e.scrollTop = 400; }")
    page.wait_for_timeout(100)
    head = page.locator(".wb-table thead th").first.bounding_box()
    assert abs(head["y"] - box.bounding_box()["y"]) < 3  # the header stays in view
    box.evaluate("e => { e.scrollTop = 0; }")
    inputs = page.locator(".wb-grid th.wb-inputs").first
    wide = inputs.bounding_box()["width"]
    page.locator(".wb-inputs-width").first.select_option("narrow")
    page.wait_for_timeout(200)
    assert inputs.bounding_box()["width"] < wide * 0.6
    page.locator(".wb-inputs-width").first.select_option("wide")
    page.locator(".wb-page-size").first.select_option("10")
    expect(pager).to_have_text("page 1 of 2 · 12 rows")


def test_detail_opens_in_view_and_grades_save_on_enter(page: Any, lab: Lab) -> None:
    from playwright.sync_api import expect

    cell(page, "r3", "wrong").locator(".wb-output").click()
    dialog = page.locator("dialog.wb-detail[open]")
    expect(dialog).to_be_visible(timeout=20_000)
    box, view = dialog.bounding_box(), page.viewport_size
    assert box["x"] >= 0 and box["y"] >= 0
    assert box["x"] + box["width"] <= view["width"] + 1
    assert box["y"] + box["height"] <= view["height"] + 1
    groups = dialog.locator(".wb-repeat")
    expect(groups).to_have_count(2)  # Oslo ×2 and Bergen side by side
    assert groups.first.locator(".wb-count").inner_text() == "2 ×"
    first, second = groups.first.bounding_box(), groups.nth(1).bounding_box()
    assert abs(first["y"] - second["y"]) < 2  # side by side
    groups.first.locator(".wb-run summary").first.click()  # each repeat's raw response
    expect(groups.first.locator(".wb-raw").first).to_contain_text('"fake": "wrong"')
    expect(dialog.locator(".wb-bubble.wb-role-user")).to_have_text("user" + "oslo")
    readable(dialog, 20)
    page.screenshot(path=str(lab.shot("grid-detail")))
    comment = groups.first.locator(".wb-grade-comment")
    comment.fill("right city")
    comment.press("Enter")
    expect(dialog.locator(".wb-saved").first).to_have_text("saved", timeout=20_000)
    with Store(lab.root / ".workbench" / "store.sqlite") as store:
        labels = store.labels("browser-grid")
    assert labels[("r3", "wrong", 1)] == labels[("r3", "wrong", 2)] == ("", "right city")
    assert ("r3", "wrong", 0) not in labels  # Bergen's group was not graded
    page.keyboard.press("ArrowLeft")  # the same row, the previous variant
    expect(dialog.locator(".wb-detail-title")).to_contain_text("row r3 · echo", timeout=20_000)
    page.keyboard.press("ArrowDown")
    expect(dialog.locator(".wb-detail-title")).to_contain_text("row r4 · echo", timeout=20_000)
    page.keyboard.press("Escape")
    expect(page.locator("dialog.wb-detail[open]")).to_have_count(0)
    focused = page.evaluate(
        "document.activeElement.dataset.variant + document.activeElement.dataset.r"
    )
    assert focused == "echo4"  # back on the cell the detail showed last


def test_keyboard_moves_opens_grades_and_never_reaches_the_notebook(page: Any, lab: Lab) -> None:
    from playwright.sync_api import expect

    notebook_cells = page.locator(".jp-Notebook .jp-Cell")
    count = notebook_cells.count()
    active = "[...document.querySelectorAll('.jp-Notebook .jp-Cell')].findIndex(c => c.classList.contains('jp-mod-active'))"
    start = cell(page, "r0", "echo")
    start.focus()
    where = page.evaluate(active)
    focused = "document.activeElement.dataset.r + ':' + document.activeElement.dataset.c"
    for key, expected in [("j", "1:0"), ("l", "1:1"), ("ArrowDown", "2:1"), ("k", "1:1")]:
        page.keyboard.press(key)
        assert page.evaluate(focused) == expected, key
    for key in ("a", "b", "d", "d", "m", "x"):  # notebook shortcuts: none may fire
        page.keyboard.press(key)
    assert notebook_cells.count() == count and page.evaluate(active) == where
    page.keyboard.press("+")  # r1 wrong: good
    expect(cell(page, "r1", "wrong").locator(".wb-up.wb-on")).to_have_count(1, timeout=20_000)
    assert page.evaluate(focused) == "1:1"  # the focus survives the redraw
    with Store(lab.root / ".workbench" / "store.sqlite") as store:
        assert store.labels("browser-grid")[("r1", "wrong", 0)][0] == "up"
    page.keyboard.press("+")  # again: ungraded
    expect(cell(page, "r1", "wrong").locator(".wb-up.wb-on")).to_have_count(0, timeout=20_000)
    page.keyboard.press("Enter")
    expect(page.locator("dialog.wb-detail[open] .wb-detail-title")).to_contain_text(
        "row r1 · wrong"
    )
    page.keyboard.press("Escape")
    expect(page.locator("dialog.wb-detail[open]")).to_have_count(0)
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.classList.contains('wb-f-search')")
    page.keyboard.type("ab")  # typing in the grid: no notebook shortcut fires
    assert notebook_cells.count() == count and page.evaluate(active) == where
    page.keyboard.press("Escape")  # clears the search
    expect(page.locator(".wb-grid tr.wb-row")).to_have_count(10, timeout=20_000)
    roles = page.evaluate(
        "[...new Set([...document.querySelectorAll('.wb-grid [role]')].map(e => e.getAttribute('role')))]"
    )
    assert {"grid", "row", "gridcell", "columnheader", "toolbar"} <= set(roles)
    assert page.locator(".wb-grid .wb-up").first.get_attribute("aria-label") == "Mark good (+)"


def test_chart_follows_the_theme(page: Any, lab: Lab) -> None:
    """The interactive chart (``enable_offline(interactive=True)``) takes its text, axes and
    background from the notebook theme."""
    from playwright.sync_api import expect

    output = page.locator(".jp-CodeCell").nth(3).locator(".jp-OutputArea-output").first
    chart = output.locator("svg.marks")
    expect(chart.first).to_be_attached(timeout=30_000)
    chart.first.scroll_into_view_if_needed()
    assert "Error" not in output.inner_text()
    background = chart.first.evaluate(
        "e => [getComputedStyle(e).backgroundColor, e.querySelector(':scope > rect')?.getAttribute('fill'),"
        " e.querySelector(':scope > rect') ? getComputedStyle(e.querySelector(':scope > rect')).fill : null]"
    )
    assert background[0] in ("rgba(0, 0, 0, 0)", "transparent"), background
    assert background[2] in (None, "rgba(0, 0, 0, 0)", "transparent", "none"), background
    readable(output, 8)  # axis labels and title against the notebook's background
    output.screenshot(path=str(lab.shot("chart")))


def test_static_chart_reads_in_either_theme(page: Any, lab: Lab) -> None:
    """The default chart is an image saved with the notebook (inline SVG, a PNG beside it): it
    takes no theme colours, so it carries its own white background under dark ink."""
    from playwright.sync_api import expect

    output = page.locator(".jp-CodeCell").nth(2).locator(".jp-OutputArea-output").first
    image = output.locator(f":is({CHART})")
    expect(image.first).to_be_visible(timeout=30_000)
    assert "Error" not in output.inner_text()
    svg = unquote(image.first.get_attribute("src").split(",", 1)[1])
    assert svg.lstrip().startswith("<svg")
    backdrop = re.search(r'<rect[^>]*fill="([^"]+)"', svg)
    assert backdrop is not None and backdrop.group(1) in ("white", "#ffffff", "#fff"), svg[:400]
    inks = set(re.findall(r'<text[^>]*fill="([^"]+)"', svg))
    assert inks and inks <= {"#222222", "#222"}, inks  # 15.9:1 on white
