"""``workbench check`` as a CI gate that does not flap: a paired non-inferiority test against the
recorded evidence, row by row, with its own exit code for "inconclusive", a sequential mode that
stops paying once settled, pairwise scorers checked too, and output for machines (JSON against
its schema, JUnit XML read by a JUnit parser, a GitHub step summary)."""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from pathlib import Path

import jsonschema
import pytest
from fakes import current_fake
from junitparser import Error, Failure, JUnitXml, Skipped

from workbench.artifact.check_output import json_schema
from workbench.artifact.store import EVAL_FILE, MANIFEST, canonical_json, manifest_bytes
from workbench.checking import run_check
from workbench.cli import EXIT_INCONCLUSIVE, EXIT_PROVIDER, EXIT_REGRESSED, main
from workbench.errors import ProviderError
from workbench.providers import ChatRequest
from workbench.providers.fake import FakeProvider, last_user_text

Capture = pytest.CaptureFixture[str]

YAML = """\
name: capitals
dataset: questions.csv
repeats: {repeats}
defaults:
  model: fake/echo
  params: {{temperature: 0, max_tokens: 16}}
variants:
  - name: terse
    user: "Capital of {{{{ country }}}}?"
  - name: friendly
    extends: terse
    model: fake/good
scorers:
  - contains: "{{{{ expected }}}}"
"""


def answer(wrong: Collection[int] = (), style: str = "{city}") -> object:
    """A reply function: the right city (in ``style``) except for the rows in ``wrong``."""

    def reply(req: ChatRequest) -> str:
        i = int(re.findall(r"\d+", last_user_text(req))[0])
        return "Atlantis" if i in wrong else style.format(city=f"City{i}")

    return reply


def make_project(rows: int, repeats: int = 1) -> None:
    lines = ["id,country,expected"] + [f"r{i},Country{i},City{i}" for i in range(rows)]
    Path("questions.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    Path("exp.yaml").write_text(YAML.format(repeats=repeats), encoding="utf-8")
    current_fake().script("good", answer())
    args = ["export", "exp.yaml", "--variant", "friendly", "--name", "cap", "--to", "prompts"]
    assert main(args) == 0


def fresh_store(monkeypatch: pytest.MonkeyPatch, name: str = "ci-store") -> None:
    """A scheduled CI run: no cache from the export."""
    monkeypatch.setenv("WORKBENCH_STORE", str(Path(name).resolve()))


# -- the decisions --------------------------------------------------------------------------


def test_an_unchanged_prompt_passes(capsys: Capture, fake: FakeProvider) -> None:
    make_project(20)
    capsys.readouterr()
    calls = fake.calls["good"]
    assert main(["check", "prompts/cap"]) == 0
    out = capsys.readouterr().out
    assert fake.calls["good"] == calls  # from the cache
    assert "[pass] contains: reproduced: every recorded output and score came back the same" in out
    assert out.rstrip().endswith(
        "OK: every scorer reproduced its record (same outputs, same scores)"
    )


def test_an_unchanged_prompt_passes_on_a_fresh_store(
    capsys: Capture, fake: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_project(20)
    fresh_store(monkeypatch)
    calls = fake.calls["good"]
    assert main(["check", "prompts/cap"]) == 0
    assert fake.calls["good"] == calls + 20  # really called again, same answers
    assert "reproduced" in capsys.readouterr().out


def test_changed_outputs_that_still_pass_pass_on_enough_rows(
    capsys: Capture, fake: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not reproduced (every output differs), so it takes the test: at 80 rows, none of them
    worse, the interval clears the 5-point margin."""
    make_project(80)
    fresh_store(monkeypatch)
    fake.script("good", answer(style="It is {city}."))
    assert main(["check", "prompts/cap"]) == 0
    out = capsys.readouterr().out
    assert "[pass] contains: pass rate 100% -> 100% on the same 80 rows (+0 points, 95% CI" in out
    assert "Tango score test): no worse than 5 points below the record" in out
    assert "OK: no scorer significantly worse than its record by more than 5 points" in out


def test_a_prompt_worse_on_30_percent_of_rows_fails(
    capsys: Capture, fake: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_project(40)
    fresh_store(monkeypatch)
    wrong = set(range(0, 40, 10)) | set(range(1, 40, 5))  # 12 of 40 rows
    assert len(wrong) == 12
    fake.script("good", answer(wrong))
    assert main(["check", "prompts/cap"]) == EXIT_REGRESSED
    out = capsys.readouterr().out
    assert (
        "REGRESSED: contains pass rate fell from 100% to 70% on the same 40 rows (-30 points" in out
    )
    failing = re.search(r"rows now failing: ([^\n;]+)", out)
    assert failing is not None
    shown = failing.group(1).rstrip(" …").split(", ")
    assert shown == [f"r{i}" for i in sorted(wrong)][:10]


@pytest.mark.parametrize("margin", ["0.05", "0.1"])
def test_a_prompt_worse_on_one_row_of_twenty_is_never_a_regression(
    capsys: Capture, fake: FakeProvider, monkeypatch: pytest.MonkeyPatch, margin: str
) -> None:
    make_project(20)
    fresh_store(monkeypatch)
    fake.script("good", answer({7}))
    code = main(["check", "prompts/cap", "--margin", margin])
    assert code in (0, EXIT_INCONCLUSIVE)
    out = capsys.readouterr().out
    assert "rows now failing: r7" in out
    if code == EXIT_INCONCLUSIVE:
        assert "INCONCLUSIVE at n=20: contains cannot be told apart" in out
        assert "rows would settle it" in out or "right at the margin" in out


def test_the_margin_decides_what_is_allowed(
    capsys: Capture, fake: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    """10 of 60 rows worse (-17 points): a regression at a 5-point margin, a pass at 40 points."""
    make_project(60)
    fresh_store(monkeypatch)
    fake.script("good", answer(range(10)))
    assert main(["check", "prompts/cap"]) == EXIT_REGRESSED
    assert main(["check", "prompts/cap", "--margin", "0.4"]) == 0
    out = capsys.readouterr().out
    assert "no worse than 40 points below the record" in out
    assert main(["check", "prompts/cap", "--tolerance", "0.4"]) == 0  # the old name still works
    with pytest.raises(SystemExit) as exc:
        main(["check", "prompts/cap", "--margin", "1.5"])
    assert exc.value.code == 2


def test_min_pass_rate_is_a_test_too(
    capsys: Capture, fake: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_project(30)
    fresh_store(monkeypatch)
    fake.script("good", answer(range(6)))  # 80% pass
    assert main(["check", "prompts/cap", "--min-pass-rate", "0.5"]) == 0
    assert "is at least 50%" in capsys.readouterr().out
    assert main(["check", "prompts/cap", "--min-pass-rate", "0.99"]) == EXIT_REGRESSED
    assert "is below the required 99%" in capsys.readouterr().out
    assert main(["check", "prompts/cap", "--min-pass-rate", "0.85"]) == EXIT_INCONCLUSIVE
    assert "may be above or below 85%" in capsys.readouterr().out


def test_a_failed_call_is_a_provider_error_not_a_regression(
    capsys: Capture, fake: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_project(20)
    fresh_store(monkeypatch)
    good = answer()

    def flaky(req: ChatRequest) -> str:
        if "Country3?" in last_user_text(req):
            raise ProviderError("fake: the service is down", kind="server")
        return good(req)  # type: ignore[operator]

    fake.script("good", flaky)
    assert main(["check", "prompts/cap"]) == EXIT_PROVIDER
    out = capsys.readouterr().out
    assert "ERROR: 1 call(s) failed where the record has an answer (row r3 repeat 0:" in out
    assert "run the check again (finished calls are cached)" in out


def test_another_dataset_is_compared_on_the_rows_it_shares(
    capsys: Capture, fake: FakeProvider
) -> None:
    make_project(20)
    rows = Path("questions.csv").read_text(encoding="utf-8").splitlines()
    rows[1] = "r0,Country0,Elsewhere"  # same id, another expected answer: not compared
    Path("more.csv").write_text("\n".join([*rows, "r99,Country99,City99"]) + "\n")
    code = main(["check", "prompts/cap", "--dataset", "more.csv"])
    out = capsys.readouterr().out
    assert code == EXIT_INCONCLUSIVE  # 19 shared rows, not reproduced as a whole
    assert "dataset more.csv differs from the one evaluated (21 rows now, 20 then" in out
    assert "rows with the same id but other values, not compared: r0" in out
    report = run_check("prompts/cap", dataset="more.csv")
    (contains,) = report.scorers
    assert (contains.paired, contains.unpaired) == (19, 2)


# -- sequential ------------------------------------------------------------------------------


def test_sequential_stops_paying_once_a_regression_is_clear(
    capsys: Capture, fake: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_project(200)
    fresh_store(monkeypatch)
    fake.script("good", answer(range(0, 200, 2)))  # half the rows now wrong
    calls = fake.calls["good"]
    assert main(["check", "prompts/cap", "--sequential"]) == EXIT_REGRESSED
    out = capsys.readouterr().out
    assert fake.calls["good"] - calls == 50  # the first look settled it
    assert "sequential: settled at look 1 of 4 (50 of 200 rows" in out
    assert "O'Brien–Fleming-type alpha spending" in out


def test_sequential_reaches_the_end_when_it_must(capsys: Capture, fake: FakeProvider) -> None:
    make_project(40)
    calls = fake.calls["good"]
    assert main(["check", "prompts/cap", "--sequential"]) == 0
    out = capsys.readouterr().out
    assert fake.calls["good"] == calls  # all from the cache
    assert "sequential: settled at look 4 of 4 (40 of 40 rows" in out and "reproduced" in out


def test_sequential_on_rows_without_ids_keeps_their_positions(
    capsys: Capture, fake: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_project(120)
    text = Path("questions.csv").read_text(encoding="utf-8")
    Path("questions.csv").write_text(re.sub(r"(?m)^[^,]*,", "", text), encoding="utf-8")  # no id
    assert main(["export", "exp.yaml", "--variant", "friendly", "--name", "noid"]) == 0
    fresh_store(monkeypatch)
    fake.script("good", answer({5, 17, 60}))
    report = run_check("prompts/noid", sequential=True)
    assert report.sequential is not None
    (contains,) = report.scorers
    seen = report.sequential.rows_seen
    assert set(contains.newly_failing) <= {"5", "17", "60"}
    assert contains.paired == seen  # every row seen was paired with its recorded self


# -- pairwise scorers --------------------------------------------------------------------------

PAIRWISE = (
    YAML
    + """\
  - pairwise: {{rubric: "Which is right?", baseline: terse, model: fake/judge, name: prefer}}
"""
)


def judge_prefers_cities(req: ChatRequest) -> str:
    """The judge picks the response that names a City (tie when both or neither do)."""
    text = last_user_text(req)
    first = text.split("RESPONSE 1:")[1].split("RESPONSE 2:")[0]
    second = text.split("RESPONSE 2:")[1]
    a, b = "City" in first, "City" in second
    return "WINNER: tie" if a == b else ("WINNER: 1" if a else "WINNER: 2")


def test_pairwise_scorers_are_checked_against_the_recorded_baseline(
    capsys: Capture, fake: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.script("judge", judge_prefers_cities)
    make_project(30)
    Path("exp.yaml").write_text(PAIRWISE.format(repeats=1), encoding="utf-8")
    assert main(["export", "exp.yaml", "--variant", "friendly", "--name", "pw"]) == 0
    capsys.readouterr()
    assert main(["check", "prompts/pw"]) == 0
    out = capsys.readouterr().out
    assert "[pass] prefer: reproduced" in out and "skipped" not in out
    # A new model that only ties with the recorded baseline on 11 rows (r1, r10-r19) regresses.
    fresh_store(monkeypatch)
    fake.script(
        "good", lambda req: "Atlantis" if "Country1" in last_user_text(req) else answer()(req)
    )  # type: ignore[operator]
    assert main(["check", "prompts/pw"]) == EXIT_REGRESSED
    out = capsys.readouterr().out
    assert "prefer mean preference fell from 1 to 0.817 on the same 30 rows" in out
    assert "sign-flip permutation test" in out


def test_a_prompt_that_is_its_own_pairwise_baseline_is_judged_against_its_record(
    capsys: Capture, fake: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.script("judge", judge_prefers_cities)
    make_project(30)
    yaml = PAIRWISE.replace("baseline: terse", "baseline: friendly")
    Path("exp.yaml").write_text(yaml.format(repeats=1), encoding="utf-8")
    assert main(["export", "exp.yaml", "--variant", "friendly", "--name", "self"]) == 0
    fresh_store(monkeypatch)
    fake.script("good", lambda req: "Atlantis")
    assert main(["check", "prompts/self"]) == EXIT_REGRESSED
    out = capsys.readouterr().out
    assert "prefer mean preference fell from 0.5 to 0 on the same 30 rows" in out
    assert fake.calls["judge"] >= 60  # both orders, every row: judged against the record


# -- machine-readable output ---------------------------------------------------------------


def regressed_project(monkeypatch: pytest.MonkeyPatch, fake: FakeProvider) -> None:
    make_project(40)
    Path("exp.yaml").write_text(
        YAML.format(repeats=1) + '  - regex: {pattern: "^City", name: starts}\n', encoding="utf-8"
    )
    assert main(["export", "exp.yaml", "--variant", "friendly", "--name", "cap"]) == 0
    fresh_store(monkeypatch)
    fake.script("good", answer(range(12)))


def test_json_output_matches_its_schema(
    capsys: Capture, fake: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    regressed_project(monkeypatch, fake)
    capsys.readouterr()
    assert main(["check", "prompts/cap", "--format", "json"]) == EXIT_REGRESSED
    data = json.loads(capsys.readouterr().out)
    jsonschema.Draft202012Validator.check_schema(json_schema())
    jsonschema.validate(data, json_schema())
    assert data["status"] == "regression" and data["margin"] == 0.05
    contains = data["scorers"][0]
    test = contains["test"]
    assert (test["n"], test["worse"], test["better"], test["decision"]) == (40, 12, 0, "regression")
    assert test["effect"] == pytest.approx(-0.3)
    assert test["ci_high"] < -0.05 and test["p_regression"] < 0.0125
    assert test["confidence"] == pytest.approx(0.975)  # alpha split over the two scorers
    assert contains["newly_failing"] == [f"r{i}" for i in range(12)]


def test_junit_output_is_read_by_a_junit_parser(
    capsys: Capture, fake: FakeProvider, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    regressed_project(monkeypatch, fake)
    capsys.readouterr()
    assert main(["check", "prompts/cap", "--format", "junit"]) == EXIT_REGRESSED
    path = tmp_path / "check.xml"
    path.write_text(capsys.readouterr().out, encoding="utf-8")
    xml = JUnitXml.fromfile(str(path))
    (suite,) = list(xml)
    assert suite.name == "cap@2"
    cases = {case.name: case for case in suite}
    assert set(cases) == {"contains", "starts"}
    (failure,) = cases["contains"].result
    assert isinstance(failure, Failure) and failure.type == "regression"
    assert "contains pass rate fell from 100% to 70%" in (failure.message or "")
    assert suite.tests == 2 and suite.failures == 2
    # Inconclusive is skipped (not enough evidence either way), a provider failure an error.
    fresh_store(monkeypatch, "ci-2")
    fake.script("good", answer({3}))
    assert main(["check", "prompts/cap", "--format", "junit"]) == EXIT_INCONCLUSIVE
    path.write_text(capsys.readouterr().out, encoding="utf-8")
    (suite,) = list(JUnitXml.fromfile(str(path)))
    for case in suite:
        (result,) = case.result
        assert isinstance(result, Skipped) and result.type == "inconclusive"
        assert "inconclusive at n=40" in (result.message or "")
    fresh_store(monkeypatch, "ci-3")
    fake.script("good", lambda req: (_ for _ in ()).throw(ProviderError("down", kind="server")))
    assert main(["check", "prompts/cap", "--format", "junit"]) == EXIT_PROVIDER
    path.write_text(capsys.readouterr().out, encoding="utf-8")
    (suite,) = list(JUnitXml.fromfile(str(path)))
    assert all(isinstance(case.result[0], Error) for case in suite)


def test_github_output_writes_the_step_summary(
    capsys: Capture, fake: FakeProvider, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    regressed_project(monkeypatch, fake)
    capsys.readouterr()
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert main(["check", "prompts/cap", "--format", "github"]) == EXIT_REGRESSED
    out = capsys.readouterr().out
    assert out.startswith("::error title=workbench check cap@2::REGRESSED: contains pass rate")
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("earlier step\n### ❌ workbench check `cap@2`: regression")
    assert "| contains | ❌ regression | 100 → 70 | -30 pts (97.5% CI" in text
    monkeypatch.delenv("GITHUB_STEP_SUMMARY")
    assert main(["check", "prompts/cap", "--format", "github"]) == EXIT_REGRESSED
    assert "### ❌ workbench check" in capsys.readouterr().out  # no file: on stdout


# -- old records -------------------------------------------------------------------------------


def test_a_record_exported_before_verdicts_still_checks(
    capsys: Capture, fake: FakeProvider
) -> None:
    """Fields are only added to eval.json: a schema-1 record without them loads and checks."""
    make_project(20)
    version = Path("prompts/cap/v1")
    record = json.loads((version / EVAL_FILE).read_text(encoding="utf-8"))
    for key in ("confidence", "interval"):
        record["comparison"].pop(key)
    record.pop("verdict")
    (version / EVAL_FILE).write_text(canonical_json(record), encoding="utf-8")
    files = {p.name: p.read_bytes() for p in version.iterdir() if p.name != MANIFEST}
    (version / MANIFEST).write_bytes(manifest_bytes(files))
    capsys.readouterr()
    assert main(["check", "prompts/cap"]) == 0
    assert "reproduced" in capsys.readouterr().out


def test_the_exit_codes_are_documented_in_one_table() -> None:
    from readme_cases import README

    import workbench.cli as cli

    text = README.read_text(encoding="utf-8")
    table = text.split("| exit code | meaning |")[1].split("\n\n")[0]
    documented = [int(code) for code in re.findall(r"^\| (\d+) \|", table, re.M)]
    defined = sorted({0, 2} | {v for k, v in vars(cli).items() if k.startswith("EXIT_")})
    assert documented == defined
    for code, words in ((4, "regression"), (5, "inconclusive"), (6, "provider error")):
        assert re.search(rf"^\| {code} \| `check`: {words}", table, re.M)
