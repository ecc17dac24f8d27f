"""Deterministic checks: exact, contains, regex. Expected values are templates over the row.

Case: ``exact`` and ``regex`` are case-sensitive by default, ``contains`` (like ``any_of`` and
``all_of``) ignores case; each takes ``case_sensitive=`` to change it.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from typing import Any

from workbench.errors import ScorerError
from workbench.prompts.render import render_template
from workbench.scoring.base import Score, ScoreContext, ScoreFn, scorer

__all__ = ["contains", "exact", "regex"]

_PUNCT = str.maketrans("", "", string.punctuation)


def _normalize(text: str, case: bool, whitespace: bool, punctuation: bool) -> str:
    if not case:
        text = text.casefold()
    if not punctuation:
        text = text.translate(_PUNCT)
    if not whitespace:
        text = " ".join(text.split())
    return text


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def require_flags(name: str, hint: str = "", **flags: Any) -> None:
    """Refuse a flag (``case_sensitive=``...) that is not a bool, e.g. ``"yes"`` from YAML."""
    for key, value in flags.items():
        if not isinstance(value, bool):
            raise ScorerError(
                f"Scorer '{name}': {key} must be true or false, not {value!r}. {hint}".rstrip()
            )


@scorer("exact")
def exact(
    expected: str = "{{ expected }}",
    case_sensitive: bool = True,
    whitespace_sensitive: bool = False,
    punctuation_sensitive: bool = True,
) -> ScoreFn:
    """The output equals ``expected`` (a template). Case-sensitive by default
    (``case_sensitive=False`` ignores case); surrounding and repeated whitespace is ignored unless
    ``whitespace_sensitive``; punctuation counts unless ``punctuation_sensitive=False``."""
    require_flags(
        "exact",
        case_sensitive=case_sensitive,
        whitespace_sensitive=whitespace_sensitive,
        punctuation_sensitive=punctuation_sensitive,
    )

    def check(output: str, row: Mapping[str, Any], ctx: ScoreContext) -> Score:
        want = render_template(expected, row, "scorer 'exact'")
        norm = (case_sensitive, whitespace_sensitive, punctuation_sensitive)
        ok = _normalize(output, *norm) == _normalize(want, *norm)
        return Score(
            1.0 if ok else 0.0, ok, f"{'equals' if ok else 'differs from'} {_short(want)!r}"
        )

    return check


@scorer("contains")
def contains(expected: str = "{{ expected }}", case_sensitive: bool = False) -> ScoreFn:
    """The output contains ``expected`` (a template). Ignores case by default
    (``case_sensitive=True`` to match it)."""
    require_flags("contains", case_sensitive=case_sensitive)

    def check(output: str, row: Mapping[str, Any], ctx: ScoreContext) -> Score:
        want = render_template(expected, row, "scorer 'contains'")
        if not want:
            return Score(None, None, "expected value is empty")
        hay, needle = (output, want) if case_sensitive else (output.casefold(), want.casefold())
        ok = needle in hay
        return Score(
            1.0 if ok else 0.0, ok, f"{'contains' if ok else 'does not contain'} {_short(want)!r}"
        )

    return check


@scorer("regex", recorded_if_given=("case_sensitive",))
def regex(
    pattern: str,
    ignore_case: bool = False,
    full_match: bool = False,
    case_sensitive: bool | None = None,
) -> ScoreFn:
    """The output matches ``pattern`` (a template; insert row values literally with
    ``{{ value | regex_escape }}``). Case-sensitive by default: ``case_sensitive=False`` ignores
    case (as does the older ``ignore_case=True``); ``full_match=True`` anchors both ends."""
    require_flags("regex", ignore_case=ignore_case, full_match=full_match)
    if case_sensitive is not None:
        require_flags("regex", case_sensitive=case_sensitive)
        if case_sensitive and ignore_case:
            raise ScorerError(
                "Scorer 'regex': case_sensitive=True contradicts ignore_case=True; "
                "pass only case_sensitive."
            )
    flags = re.IGNORECASE if ignore_case or case_sensitive is False else 0
    if template_free(pattern):
        _compile(pattern, flags)  # a bad fixed pattern fails now, not on every row

    def check(output: str, row: Mapping[str, Any], ctx: ScoreContext) -> Score:
        compiled = _compile(render_template(pattern, row, "scorer 'regex'"), flags)
        match = compiled.fullmatch(output) if full_match else compiled.search(output)
        if match:
            return Score(1.0, True, f"matches /{_short(compiled.pattern)}/ at {match.start()}")
        return Score(0.0, False, f"no match for /{_short(compiled.pattern)}/")

    return check


def template_free(text: str) -> bool:
    """True when ``text`` has no template syntax."""
    return "{{" not in text and "{%" not in text


def _compile(pattern: str, flags: int) -> re.Pattern[str]:
    try:
        return re.compile(pattern, flags)
    except re.error as exc:
        raise ScorerError(f"Scorer 'regex': invalid pattern {pattern!r}: {exc}.") from exc
