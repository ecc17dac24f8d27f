"""Case rules of the text scorers: each takes ``case_sensitive=``, with its own stated default
(exact and regex match case; contains, any_of and all_of ignore it); specs stay as they were."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest

from workbench.errors import ScorerError
from workbench.scoring.base import ScoreContext, Scorer, build_scorer
from workbench.scoring.checks import contains, exact, regex
from workbench.scoring.structured import all_of, any_of

ROW = {"expected": "paris"}


def passes(s: Scorer, output: str, row: Mapping[str, Any] = ROW) -> bool | None:
    return asyncio.run(s.score(output, row, ScoreContext())).passed


@pytest.mark.parametrize(
    ("make", "ignores_case"),
    [
        (lambda **kw: exact(**kw), False),
        (lambda **kw: regex("^paris$", **kw), False),
        (lambda **kw: contains(**kw), True),
        (lambda **kw: any_of(**kw), True),
        (lambda **kw: all_of(**kw), True),
    ],
    ids=["exact", "regex", "contains", "any_of", "all_of"],
)
def test_each_default_and_case_sensitive_both_ways(make: Any, ignores_case: bool) -> None:
    assert passes(make(), "Paris") is ignores_case
    assert passes(make(case_sensitive=False), "Paris") is True
    assert passes(make(case_sensitive=True), "Paris") is False
    assert passes(make(case_sensitive=True), "paris") is True


def test_regex_takes_case_sensitive_like_contains() -> None:
    assert passes(regex("^PARIS", case_sensitive=False), "Paris, France") is True
    assert passes(regex("^PARIS"), "Paris, France") is False


def test_regex_ignore_case_still_works_and_a_contradiction_is_refused() -> None:
    assert passes(regex("^PARIS", ignore_case=True), "Paris") is True
    assert passes(regex("^PARIS", ignore_case=True, case_sensitive=False), "Paris") is True
    with pytest.raises(ScorerError, match="case_sensitive=True contradicts ignore_case=True"):
        regex("x", ignore_case=True, case_sensitive=True)


def test_regex_spec_records_case_sensitive_only_when_given() -> None:
    before = {"pattern": "^[A-Z]", "ignore_case": False, "full_match": False}
    assert regex("^[A-Z]").spec == {"name": "regex", "args": before}  # as exported before
    assert build_scorer({"name": "regex", "args": before}).spec == regex("^[A-Z]").spec
    given = regex("^[A-Z]", case_sensitive=False)
    assert given.spec["args"] == {**before, "case_sensitive": False}
    rebuilt = build_scorer(dict(given.spec))
    assert rebuilt.spec == given.spec
    assert passes(rebuilt, "paris") is True


def test_yaml_short_form_takes_case_sensitive() -> None:
    s = build_scorer({"regex": {"pattern": "^PARIS", "case_sensitive": False}})
    assert passes(s, "paris") is True
    s = build_scorer({"contains": {"expected": "{{ expected }}", "case_sensitive": True}})
    assert passes(s, "Paris") is False


@pytest.mark.parametrize("name", ["exact", "contains", "regex", "any_of", "all_of"])
def test_a_flag_that_is_not_true_or_false_is_refused(name: str) -> None:
    args: dict[str, Any] = {"case_sensitive": "yes"}
    if name == "regex":
        args["pattern"] = "x"
    with pytest.raises(ScorerError, match=f"Scorer '{name}': case_sensitive must be true or false"):
        build_scorer({name: args})


def test_docstrings_state_the_default() -> None:
    for s in (exact, regex):
        assert "Case-sensitive by default" in (s.__doc__ or "")
    assert "Ignores case by default" in (contains.__doc__ or "")
    for s in (any_of, all_of):
        assert "case_sensitive=True" in " ".join((s.__doc__ or "").split())
