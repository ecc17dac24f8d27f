"""Where the output starts or ends, and how many edits away from a reference it is.

``starts_with`` and ``ends_with`` ignore whitespace around the output (models often add a
newline) and are case-sensitive unless ``case_sensitive=False``; ``levenshtein`` counts
single-character edits. Expected values are templates over the row, like the other checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workbench.errors import ScorerError
from workbench.prompts.render import render_template
from workbench.scoring.base import Score, ScoreContext, ScoreFn, scorer
from workbench.scoring.checks import require_flags

__all__ = ["ends_with", "levenshtein", "starts_with"]


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _affix(name: str, expected: str, case_sensitive: bool, at_start: bool) -> ScoreFn:
    require_flags(name, case_sensitive=case_sensitive)

    def check(output: str, row: Mapping[str, Any], ctx: ScoreContext) -> Score:
        want = render_template(expected, row, f"scorer '{name}'")
        if not want:
            return Score(None, None, "expected value is empty")
        text = output.strip()
        hay, needle = (text, want) if case_sensitive else (text.casefold(), want.casefold())
        ok = hay.startswith(needle) if at_start else hay.endswith(needle)
        verb = ("start" if at_start else "end") + ("s with" if ok else " with")
        return Score(1.0 if ok else 0.0, ok, f"{'' if ok else 'does not '}{verb} {_short(want)!r}")

    return check


@scorer("starts_with")
def starts_with(expected: str = "{{ expected }}", case_sensitive: bool = True) -> ScoreFn:
    """The output (leading whitespace ignored) starts with ``expected`` (a template).
    Case-sensitive by default."""
    return _affix("starts_with", expected, case_sensitive, at_start=True)


@scorer("ends_with")
def ends_with(expected: str = "{{ expected }}", case_sensitive: bool = True) -> ScoreFn:
    """The output (trailing whitespace ignored) ends with ``expected`` (a template).
    Case-sensitive by default."""
    return _affix("ends_with", expected, case_sensitive, at_start=False)


@scorer("levenshtein")
def levenshtein(expected: str = "{{ expected }}", max_distance: int = 5) -> ScoreFn:
    """The output is at most ``max_distance`` single-character edits (insertions, deletions,
    substitutions) from ``expected`` (a template). The value is 1 − distance / the longer
    length (1.0: identical); the reason gives the distance."""
    if isinstance(max_distance, bool) or not isinstance(max_distance, int) or max_distance < 0:
        raise ScorerError(
            f"Scorer 'levenshtein': max_distance must be a whole number >= 0, not {max_distance!r}."
        )
    from rapidfuzz.distance import Levenshtein

    def check(output: str, row: Mapping[str, Any], ctx: ScoreContext) -> Score:
        want = render_template(expected, row, "scorer 'levenshtein'")
        distance = int(Levenshtein.distance(output, want))
        value = 1.0 - distance / max(len(output), len(want), 1)
        ok = distance <= max_distance
        return Score(
            value,
            ok,
            f"edit distance {distance} {'<=' if ok else '>'} {max_distance} from {_short(want)!r}",
        )

    return check
