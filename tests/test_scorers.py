"""Scorers: built-in checks, specs and rebuilding, custom functions, failures, naming."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Mapping
from typing import Any

import pandas as pd
import pytest

import workbench as wb
from workbench.errors import ScorerError
from workbench.scoring import (
    Score,
    ScoreContext,
    Scorer,
    build_scorer,
    contains,
    custom,
    exact,
    regex,
    registered_scorers,
)

CTX = ScoreContext(variant="v", repeat=0)


def judge(s: Scorer, output: str, row: Mapping[str, Any] | None = None) -> Score:
    return asyncio.run(s.score(output, row or {}, CTX))


# -- exact ----------------------------------------------------------------------------------


def test_exact_default_ignores_surrounding_and_repeated_whitespace() -> None:
    s = exact()
    assert s.name == "exact"
    assert s.variables == {"expected"}
    assert judge(s, "  New   York \n", {"expected": "New York"}) == Score(
        1.0, True, "equals 'New York'"
    )
    assert judge(s, "new york", {"expected": "New York"}) == Score(
        0.0, False, "differs from 'New York'"
    )


def test_exact_case_insensitive() -> None:
    assert judge(exact(case_sensitive=False), "PARIS", {"expected": "paris"}).passed is True


def test_exact_whitespace_sensitive() -> None:
    s = exact(whitespace_sensitive=True)
    assert judge(s, " Paris", {"expected": "Paris"}).passed is False
    assert judge(s, "Paris", {"expected": "Paris"}).passed is True


def test_exact_punctuation() -> None:
    assert judge(exact(), "Paris.", {"expected": "Paris"}).passed is False
    assert judge(exact(punctuation_sensitive=False), "Paris.", {"expected": "Paris"}).passed


def test_exact_templated_expected() -> None:
    s = exact("{{ city }}, {{ country }}")
    assert s.variables == {"city", "country"}
    assert judge(s, "Paris, France", {"city": "Paris", "country": "France"}).passed is True


def test_exact_missing_expected_value_matches_empty_output() -> None:
    assert judge(exact(), "", {"expected": None}).passed is True


# -- contains -------------------------------------------------------------------------------


def test_contains_case_insensitive_by_default() -> None:
    s = contains()
    assert judge(s, "It is PARIS.", {"expected": "paris"}) == Score(1.0, True, "contains 'paris'")
    assert judge(s, "It is Lyon.", {"expected": "paris"}) == Score(
        0.0, False, "does not contain 'paris'"
    )


def test_contains_case_sensitive() -> None:
    s = contains(case_sensitive=True)
    assert judge(s, "It is PARIS.", {"expected": "paris"}).passed is False
    assert judge(s, "It is paris.", {"expected": "paris"}).passed is True


def test_contains_empty_expected_is_unscored() -> None:
    assert judge(contains(), "anything", {"expected": ""}) == Score(
        None, None, "expected value is empty"
    )


def test_contains_long_expected_is_shortened_in_reason() -> None:
    want = "x" * 100
    reason = judge(contains(), "y", {"expected": want}).reason
    assert len(reason) < 90
    assert reason.endswith("…'")


# -- regex ----------------------------------------------------------------------------------


def test_regex_fixed_pattern() -> None:
    s = regex(r"\d+")
    assert judge(s, "abc 42") == Score(1.0, True, r"matches /\d+/ at 4")
    assert judge(s, "none") == Score(0.0, False, r"no match for /\d+/")


def test_regex_templated_pattern_with_escape() -> None:
    s = regex("^{{ expected | regex_escape }}$")
    assert s.variables == {"expected"}
    assert judge(s, "3.14", {"expected": "3.14"}).passed is True
    assert judge(s, "3x14", {"expected": "3.14"}).passed is False


def test_regex_ignore_case() -> None:
    assert judge(regex("^paris"), "Paris!").passed is False
    assert judge(regex("^paris", ignore_case=True), "Paris!").passed is True


def test_regex_full_match() -> None:
    assert judge(regex("[A-Z][a-z]+"), "Paris is nice").passed is True
    assert judge(regex("[A-Z][a-z]+", full_match=True), "Paris is nice").passed is False
    assert judge(regex("[A-Z][a-z]+", full_match=True), "Paris").passed is True


def test_regex_bad_fixed_pattern_fails_at_build() -> None:
    with pytest.raises(ScorerError, match=r"Scorer 'regex': invalid pattern '\(unclosed'"):
        regex("(unclosed")


def test_regex_bad_rendered_pattern_is_unscored_not_a_crash() -> None:
    s = regex("({{ expected }}")  # cannot be checked before the row is known
    score = judge(s, "x", {"expected": "a"})
    assert score.value is None
    assert score.passed is None
    assert "invalid pattern '(a'" in score.reason


def test_regex_needs_pattern() -> None:
    with pytest.raises(ScorerError, match=r"missing a required argument: 'pattern'.*Signature"):
        regex()  # type: ignore[call-arg]


# -- negate ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "output", "row"),
    [
        (lambda: exact(negate=True), "Paris", {"expected": "Paris"}),
        (lambda: contains(negate=True), "in Paris", {"expected": "paris"}),
        (lambda: regex("Par", negate=True), "Paris", {}),
    ],
)
def test_negate_flips_pass_and_value(make: Any, output: str, row: dict[str, str]) -> None:
    s = make()
    assert s.negate is True
    assert s.spec["args"]["negate"] is True
    score = judge(s, output, row)
    assert score.passed is False
    assert score.value == 0.0
    assert score.reason.startswith("not (")
    assert judge(s, "zzz", row).passed is True
    assert judge(s, "zzz", row).value == 1.0


def test_negate_leaves_unscored_alone() -> None:
    assert judge(contains(negate=True), "x", {"expected": ""}) == Score(
        None, None, "expected value is empty"
    )


# -- specs and rebuilding -------------------------------------------------------------------


def test_registered_scorers() -> None:
    assert {"exact", "contains", "regex"} <= set(registered_scorers())


@pytest.mark.parametrize(
    ("spec", "name", "args"),
    [
        ("contains", "contains", {"expected": "{{ expected }}", "case_sensitive": False}),
        (
            {"name": "contains", "args": {"case_sensitive": True}},
            "contains",
            {"expected": "{{ expected }}", "case_sensitive": True},
        ),
        (
            {"name": "exact"},
            "exact",
            {
                "expected": "{{ expected }}",
                "case_sensitive": True,
                "whitespace_sensitive": False,
                "punctuation_sensitive": True,
            },
        ),
        (
            {"contains": "{{ answer }}"},
            "contains",
            {"expected": "{{ answer }}", "case_sensitive": False},
        ),
        ({"contains": None}, "contains", {"expected": "{{ expected }}", "case_sensitive": False}),
        (
            {"exact": ["{{ answer }}", False]},
            "exact",
            {
                "expected": "{{ answer }}",
                "case_sensitive": False,
                "whitespace_sensitive": False,
                "punctuation_sensitive": True,
            },
        ),
        (
            {"regex": {"pattern": "^[A-Z]", "name": "capitalised"}},
            "capitalised",
            {"pattern": "^[A-Z]", "ignore_case": False, "full_match": False, "name": "capitalised"},
        ),
        (
            {"regex": {"pattern": "x", "negate": True}},
            "regex",
            {"pattern": "x", "ignore_case": False, "full_match": False, "negate": True},
        ),
    ],
)
def test_build_scorer_forms(spec: Any, name: str, args: dict[str, Any]) -> None:
    s = build_scorer(spec)
    assert s.name == name
    assert s.spec["name"] in {"contains", "exact", "regex"}
    assert dict(s.spec["args"]) == args
    assert build_scorer(s.spec) == s


@pytest.mark.parametrize(
    "original",
    [
        exact(),
        exact("{{ a }}", case_sensitive=False, punctuation_sensitive=False),
        contains("{{ a }}", case_sensitive=True, name="has_a"),
        contains(negate=True),
        regex("^{{ a | regex_escape }}", ignore_case=True, full_match=True, name="starts"),
        regex("[0-9]", negate=True, name="no_digits"),
    ],
)
def test_rebuild_from_spec_behaves_the_same(original: Scorer) -> None:
    rebuilt = build_scorer(original.spec)
    assert rebuilt == original  # name, spec, variables, negate
    rows = [{"a": "Paris", "expected": "Paris"}, {"a": "x.y", "expected": "zz"}]
    outputs = ["Paris", "paris!", "x.y 1", "xzy", " 42 ", ""]
    for row in rows:
        for out in outputs:
            assert judge(rebuilt, out, row) == judge(original, out, row)


def test_spec_survives_yaml_round_trip() -> None:
    import yaml

    s = regex("^{{ a }}$", name="whole", negate=True)
    assert build_scorer(yaml.safe_load(yaml.safe_dump(dict(s.spec)))) == s


def test_unknown_scorer_lists_known() -> None:
    with pytest.raises(ScorerError) as info:
        build_scorer("containz")
    message = str(info.value)
    assert "Unknown scorer 'containz'" in message
    for known in ("contains", "exact", "regex"):
        assert known in message


def test_unknown_scorer_in_short_form() -> None:
    with pytest.raises(ScorerError, match="Unknown scorer 'similar'"):
        build_scorer({"similar": "x"})


@pytest.mark.parametrize("spec", [3, {"contains": "x", "regex": "y"}, ["contains"]])
def test_unreadable_spec(spec: Any) -> None:
    with pytest.raises(ScorerError, match="Cannot read scorer spec"):
        build_scorer(spec)


def test_args_without_name_is_an_unknown_scorer() -> None:
    with pytest.raises(ScorerError, match="Unknown scorer 'args'"):
        build_scorer({"args": {}})


def test_bad_argument_names_scorer_and_signature() -> None:
    with pytest.raises(ScorerError, match=r"Scorer 'contains': .*'foo'.*Signature: contains\("):
        build_scorer({"contains": {"foo": 1}})


def test_template_syntax_error_in_scorer_argument() -> None:
    with pytest.raises(wb.WorkbenchError, match=r"scorer 'contains', line 1"):
        contains("{{ expected ")


def test_custom_registered_scorer_rebuilds() -> None:
    @wb.scorers.scorer("length_at_most")
    def length_at_most(limit: int = 10) -> Any:
        def check(output: str, row: Mapping[str, Any], ctx: ScoreContext) -> Score:
            return Score(float(len(output)), len(output) <= limit, f"{len(output)} chars")

        return check

    s = length_at_most(3, name="short")
    assert s.spec == {"name": "length_at_most", "args": {"limit": 3, "name": "short"}}
    rebuilt = build_scorer(s.spec)
    assert rebuilt.name == "short"
    assert judge(rebuilt, "abcd") == Score(4.0, False, "4 chars")
    assert "length_at_most" in registered_scorers()


# -- custom ---------------------------------------------------------------------------------


def is_short(output: str, row: Mapping[str, Any]) -> bool:
    return len(output) < 5


def test_custom_sync_bool() -> None:
    s = custom(is_short)
    assert s.name == "is_short"
    assert s.spec == {"name": "custom", "args": {"function": f"{__name__}.is_short"}}
    assert judge(s, "abc") == Score(1.0, True, "")
    assert judge(s, "abcdef") == Score(0.0, False, "")


def test_custom_number_has_no_pass() -> None:
    s = custom(lambda out, row: len(out) / 10, name="len10")
    assert s.name == "len10"
    assert judge(s, "abcde") == Score(0.5, None, "")


def test_custom_lambda_default_name() -> None:
    assert custom(lambda out, row: True).name == "custom"


def test_custom_tuples() -> None:
    assert judge(custom(lambda o, r: (0.7, True, "good")), "x") == Score(0.7, True, "good")
    assert judge(custom(lambda o, r: (1, False)), "x") == Score(1.0, False, "")
    assert judge(custom(lambda o, r: (None, None, "skip")), "x") == Score(None, None, "skip")


def test_custom_score_object_and_context() -> None:
    seen: list[ScoreContext] = []

    def with_ctx(output: str, row: Mapping[str, Any], ctx: ScoreContext) -> Score:
        seen.append(ctx)
        return Score(2.0, True, f"{ctx.variant}/{row['k']}")

    assert judge(custom(with_ctx), "x", {"k": "v1"}) == Score(2.0, True, "v/v1")
    assert seen == [CTX]


def test_custom_async() -> None:
    async def slow_check(output: str, row: Mapping[str, Any]) -> tuple[float, bool, str]:
        await asyncio.sleep(0)
        return 0.25, output == row["expected"], "async"

    s = custom(slow_check)
    assert s.name == "slow_check"
    assert judge(s, "a", {"expected": "a"}) == Score(0.25, True, "async")
    assert judge(s, "b", {"expected": "a"}) == Score(0.25, False, "async")


def test_custom_async_bool() -> None:
    async def ok(output: str, row: Mapping[str, Any]) -> bool:
        return True

    assert judge(custom(ok), "x") == Score(1.0, True, "")


def test_custom_rebuilds_from_an_imported_module_with_its_name() -> None:
    s = custom(is_short, name="brief")
    assert s.spec == {
        "name": "custom",
        "args": {"function": f"{__name__}.is_short", "name": "brief"},
    }
    rebuilt = build_scorer(s.spec)
    assert rebuilt.name == "brief" and rebuilt.spec == s.spec
    assert judge(rebuilt, "abc").passed is True and judge(rebuilt, "abcdef").passed is False


@pytest.mark.parametrize(
    ("function", "message"),
    [
        ("no_such_module_xyz.fn", r"import its module first \(`import no_such_module_xyz`"),
        ("__main__.my_check", "defined in a notebook or script: move it into a module"),
        ("pkg.make.<locals>.inner", "a lambda or a function defined inside another"),
        (f"{__name__}.<lambda>", "a lambda or a function defined inside another"),
        (f"{__name__}.not_defined_here", "not found"),
        ("nodots", "a function is named 'module.name'"),
    ],
)
def test_custom_that_cannot_be_rebuilt_says_why(function: str, message: str) -> None:
    with pytest.raises(ScorerError, match=message):
        build_scorer({"name": "custom", "args": {"function": function}})


def test_custom_spec_with_unknown_argument() -> None:
    with pytest.raises(ScorerError, match=r"Scorer 'custom': .*unexpected keyword"):
        build_scorer({"custom": {"function": f"{__name__}.is_short", "limit": 3}})


def test_custom_never_imports_a_module_named_by_a_spec() -> None:
    assert "json.tool" not in sys.modules
    with pytest.raises(ScorerError, match="import its module first"):
        build_scorer({"custom": {"function": "json.tool.main"}})
    assert "json.tool" not in sys.modules


# -- failures become unscored results ------------------------------------------------------


def test_raising_scorer_is_unscored_with_reason() -> None:
    def broken(output: str, row: Mapping[str, Any]) -> bool:
        raise KeyError("answer")

    score = judge(custom(broken), "x")
    assert score == Score(None, None, "scorer error: KeyError: 'answer'")


def test_raising_async_scorer_is_unscored_with_reason() -> None:
    async def broken(output: str, row: Mapping[str, Any]) -> bool:
        raise ValueError("bad output")

    assert judge(custom(broken), "x") == Score(None, None, "scorer error: ValueError: bad output")


def test_wrong_return_type_is_unscored_not_a_crash() -> None:
    score = judge(custom(lambda o, r: "yes"), "x")
    assert score.value is None
    assert score.passed is None
    assert "returned str" in score.reason


def test_missing_template_value_at_scoring_is_unscored() -> None:
    score = judge(contains("{{ answer }}"), "x", {"other": "y"})
    assert score.passed is None
    assert "'answer' is undefined" in score.reason


def test_raising_negated_scorer_stays_unscored() -> None:
    @wb.scorers.scorer("always_raises")
    def always_raises() -> Any:
        def check(output: str, row: Mapping[str, Any], ctx: ScoreContext) -> Score:
            raise RuntimeError("boom")

        return check

    score = judge(always_raises(negate=True), "x")
    assert score == Score(None, None, "scorer error: RuntimeError: boom")


# -- scorers in an Experiment ---------------------------------------------------------------


def dataset() -> wb.Dataset:
    return wb.Dataset(pd.DataFrame({"q": ["a", "b"], "expected": ["a", "z"]}))


def variant() -> wb.Variant:
    return wb.Variant("v", model="fake/echo", user="{{ q }}")


def test_duplicate_scorer_names_get_suffixed() -> None:
    exp = wb.Experiment(
        "e",
        dataset(),
        [variant()],
        scorers=[contains(), "contains", {"contains": "{{ q }}"}, exact()],
    )
    assert [s.name for s in exp.scorers] == ["contains", "contains_2", "contains_3", "exact"]
    assert exp.scorers[1].spec["args"]["name"] == "contains_2"
    assert build_scorer(exp.scorers[2].spec).name == "contains_3"


def test_suffix_skips_a_name_already_taken() -> None:
    exp = wb.Experiment(
        "e", dataset(), [variant()], scorers=[contains(), contains(name="contains_2"), contains()]
    )
    assert [s.name for s in exp.scorers] == ["contains", "contains_2", "contains_3"]


def test_suffixed_scorers_all_get_columns() -> None:
    exp = wb.Experiment("e", dataset(), [variant()], scorers=[contains(), contains("{{ q }}")])
    res = exp.run(progress=_quiet())
    assert list(res.df["contains_pass"]) == [True, False]
    assert list(res.df["contains_2_pass"]) == [True, True]


def test_scorer_name_clashing_with_result_column() -> None:
    with pytest.raises(ScorerError, match=r"clashes with .*\['output'\]"):
        wb.Experiment("e", dataset(), [variant()], scorers=[contains(name="output")])


def test_scorer_name_clashing_with_dataset_column() -> None:
    ds = wb.Dataset(pd.DataFrame({"q": ["a"], "contains": ["keep me"]}))
    with pytest.raises(ScorerError, match=r"clashes with .*\['contains'\]"):
        wb.Experiment("e", ds, [variant()], scorers=[contains("a")])


def test_scorer_variable_not_in_dataset() -> None:
    with pytest.raises(wb.WorkbenchError, match=r"Scorer 'contains' uses \{\{ answer \}\}"):
        wb.Experiment("e", dataset(), [variant()], scorers=[contains("{{ answer }}")])


def test_not_a_scorer() -> None:
    with pytest.raises(ScorerError, match="Not a scorer"):
        wb.Experiment("e", dataset(), [variant()], scorers=[42])  # type: ignore[list-item]


def _quiet() -> Any:
    from workbench.engine.progress import NullProgress

    return NullProgress()
