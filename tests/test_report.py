"""The one-file report: one self-contained HTML file with the verdict, leaderboard, charts, grid
data and provenance, that fetches nothing and never holds a secret."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from fakes import current_fake

import workbench as wb
from workbench.cli import main
from workbench.errors import WorkbenchError
from workbench.providers.fake import FakeProvider

Capture = pytest.CaptureFixture[str]


def results(questions: list[str] | None = None) -> wb.Results:
    current_fake().script("wrong", {"tokyo": "Kyoto"})
    questions = questions or ["paris", "tokyo", "rome"]
    ds = wb.Dataset(
        pd.DataFrame(
            {
                "id": [f"r{i}" for i in range(len(questions))],
                "question": questions,
                "expected": [q.title() for q in questions],
            }
        )
    )
    exp = wb.Experiment(
        "capitals",
        ds,
        [
            wb.Variant("echo", model="fake/echo", system="Answer.", user="{{ question }}"),
            wb.Variant("wrong", model="fake/wrong", system="Answer.", user="{{ question }}"),
        ],
        scorers=[wb.scorers.contains("{{ expected }}")],
        repeats=2,
    )
    return exp.run()


def grid_data(page: str) -> dict[str, object]:
    found = re.search(r'<script type="application/json" id="wb-data">(.*?)</script>', page, re.S)
    assert found
    data: dict[str, object] = json.loads(found.group(1))
    return data


def test_one_self_contained_file(fake: FakeProvider, tmp_path: Path) -> None:
    res = results()
    path = res.report(tmp_path / "out" / "run.html")
    page = path.read_text(encoding="utf-8")
    assert [p.name for p in path.parent.iterdir()] == ["run.html"]  # one file
    # nothing to fetch: no external scripts, styles, images or links
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "@import" not in page and "url(" not in page
    verdict = res.verdict()
    assert html.escape(verdict.overall) in page  # the verdict, with its table of claims
    assert all(html.escape(v.headline) in page for v in verdict.scorers)
    assert "contains pass rate (95% CI)" in page  # the leaderboard with intervals
    assert page.count('<figure class="chart"') == 3 and page.count("<svg") >= 3
    assert res.record.dataset.fingerprint in page
    assert "not in a git repository" in page  # tmp_path is not in a git repository
    assert "calls $0.0000, scoring $0.0000" in page
    assert "prefers-color-scheme: dark" in page
    data = grid_data(page)
    assert data["variants"] == ["echo", "wrong"] and data["scorers"] == ["contains"]
    rows = data["rows"]
    assert isinstance(rows, list) and [r["id"] for r in rows] == ["r0", "r1", "r2"]
    wrong = rows[1]["c"][1]
    assert [r[0] for r in wrong["r"]] == ["Kyoto", "Kyoto"]  # both repeats' outputs
    assert data["strings"].count("Answer.") == 1  # the system prompt stored once


def test_report_of_a_stored_run_from_the_command_line(
    fake: FakeProvider, tmp_path: Path, capsys: Capture
) -> None:
    res = results()
    assert main(["report", "latest", "--out", str(tmp_path / "r.html")]) == 0
    out = capsys.readouterr().out
    assert f"run {res.run_id} of 'capitals'" in out and "offline" in out
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert grid_data(page) == grid_data(res.report(tmp_path / "same.html").read_text("utf-8"))
    assert main(["report", "nope", "--out", str(tmp_path / "x.html")]) == 1
    assert "No run 'nope'" in capsys.readouterr().err


def test_a_secret_is_never_written(
    fake: FakeProvider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    looks_like_a_key = "sk-" + "abcdefghijklmnop1234"  # split, so the source holds no key shape
    res = results(["paris", looks_like_a_key, "rome"])
    with pytest.raises(
        WorkbenchError, match=r"Refusing to write .*an API key, in column 'question' of row r1"
    ):
        res.report(tmp_path / "run.html")
    assert not (tmp_path / "run.html").exists()
    monkeypatch.setenv("MY_SERVICE_TOKEN", "paris")  # too short to count as a secret
    monkeypatch.setenv("OTHER_SECRET", "rome-is-the-capital")
    ok = results(["paris", "rome-is-the-capital"])
    with pytest.raises(WorkbenchError, match="environment variable OTHER_SECRET"):
        ok.report(tmp_path / "run.html")
    with pytest.raises(WorkbenchError, match=r"name it e.g. .*run.html"):
        results().report(tmp_path / "run.txt")
