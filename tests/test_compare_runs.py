"""Runs compared across time: ``wb.Compare(run_a, run_b)`` and ``workbench diff-runs A B`` line
up rows by id and variants by prompt fingerprint (then name), with the paired verdict, the rows
that regressed or improved, and a note when the datasets differ."""

from __future__ import annotations

import pandas as pd
import pytest
from fakes import current_fake

import workbench as wb
from workbench.cli import main
from workbench.errors import WorkbenchError
from workbench.providers.fake import FakeProvider
from workbench.views.across import RunsView
from workbench.views.grid import Compare

Capture = pytest.CaptureFixture[str]
ROWS = {"r0": "paris", "r1": "tokyo", "r2": "rome", "r3": "oslo"}


def run(
    ids: list[str], terse_user: str = "{{ question }}", other_name: str = "polite"
) -> wb.Results:
    current_fake().script("wrong", {"tokyo?": "Kyoto", "rome?": "Rome"})
    ds = wb.Dataset(
        pd.DataFrame(
            {
                "id": ids,
                "question": [ROWS[i] for i in ids],
                "expected": [ROWS[i].title() for i in ids],
            }
        )
    )
    terse = wb.Variant(
        "terse", model="fake/wrong" if "?" in terse_user else "fake/echo", user=terse_user
    )
    other = wb.Variant(other_name, model="fake/echo", system="Be kind.", user="{{ question }}")
    exp = wb.Experiment(
        "capitals", ds, [terse, other], scorers=[wb.scorers.contains("{{ expected }}")]
    )
    return exp.run()


def test_a_reworded_prompt_is_lined_up_with_its_regressions(fake: FakeProvider) -> None:
    before = run(["r0", "r1", "r2"])
    after = run(["r0", "r1", "r2"], terse_user="{{ question }}?", other_name="kind")
    view = wb.Compare(before, after)
    assert isinstance(view, RunsView)
    text = str(view)
    assert f"A = run {before.run_id}" in text and f"B = run {after.run_id}" in text
    assert "Same dataset" in text
    terse, kind = view.result.pairs
    assert (terse.a, terse.b, terse.matched_by) == ("terse", "terse", "same name, prompt changed")
    assert (kind.a, kind.b, kind.matched_by) == ("polite", "kind", "same prompt")
    assert terse.regressions == ("r1",) and terse.improvements == ()
    assert "pass rate 67% vs 100%" in str(terse.comparison)
    regressed = view.regressions("terse")
    assert regressed[["row_id", "output_a", "output_b"]].values.tolist() == [
        ["r1", "tokyo", "Kyoto"]
    ]
    shown = view._repr_html_()
    assert "1 regressions" in shown and '<ins class="wb-ins">Kyoto</ins>' in shown
    grid = view.grid("regressions", background=False)
    assert isinstance(grid, Compare)
    assert grid.variants == ["terse (A)", "terse (B)", "polite (A)", "kind (B)"]
    assert [r["row_id"] for r in grid.rows] == ["r1"]
    with pytest.raises(WorkbenchError, match="No improvements between these runs"):
        view.grid("improvements")


def test_stored_runs_by_name_and_different_datasets(fake: FakeProvider, capsys: Capture) -> None:
    run(["r0", "r1", "r2"])
    run(["r1", "r2", "r3"], terse_user="{{ question }}?")
    view = wb.Compare("previous", "latest")
    text = view.verdict()
    assert "Different datasets" in text
    assert "matched on the 2 rows both have (1 only in A, 1 only in B)" in text
    assert view.result.shared_rows == ("r1", "r2")
    assert main(["diff-runs", "previous", "latest", "--experiment", "capitals"]) == 0
    out = capsys.readouterr().out
    assert out.strip() == text.strip()
    assert "regressed (pass in A, fail in B): 1 rows (r1)" in out


def test_compare_of_one_run_is_still_the_grid(fake: FakeProvider) -> None:
    res = run(["r0", "r1"])
    assert isinstance(wb.Compare(res, background=False), Compare)
    stored = wb.Compare("latest", background=False)
    assert isinstance(stored, Compare) and stored.total == 2


def test_diff_runs_names_a_missing_run(fake: FakeProvider, capsys: Capture) -> None:
    run(["r0"])
    assert main(["diff-runs", "previous", "latest"]) == 1
    assert "has only one finished run" in capsys.readouterr().err
