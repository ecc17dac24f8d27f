"""Reducers: what the repeats of one (row, variant) add up to.

Each maps n repeats with c passes to a row value in [0, 1] and a row pass (True/False, or None
when the reducer gives a probability rather than a verdict):

- ``majority`` (default): passes when more than half the repeats passed; value c/n.
- ``mean``: value c/n (the pass share); no verdict — summaries average it.
- ``at_least(k)``: passes when at least k repeats passed ("7 of 10"); value c/n.
- ``pass_at_k(k)``: chance that at least one of k repeats passes (unbiased estimator).
- ``pass_hat_k(k)``: chance that all of k repeats pass (pass^k).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from math import comb

from workbench.errors import ScorerError

__all__ = ["DEFAULT_REDUCER", "Reducer", "at_least", "get_reducer", "pass_at_k", "pass_hat_k"]


@dataclass(frozen=True)
class Reducer:
    """A named rule from (n repeats, c passes) to (value, passed)."""

    name: str
    fn: Callable[[int, int], tuple[float, bool | None]]
    min_repeats: int = 1

    def __call__(self, n: int, c: int) -> tuple[float, bool | None]:
        if n < self.min_repeats:
            return float("nan"), None
        return self.fn(n, c)

    def __str__(self) -> str:
        return self.name


def _majority(n: int, c: int) -> tuple[float, bool | None]:
    return c / n, c * 2 > n


def _mean(n: int, c: int) -> tuple[float, bool | None]:
    return c / n, None


def at_least(k: int) -> Reducer:
    """Passes when at least ``k`` repeats passed."""
    _check_k(k)
    return Reducer(f"at_least({k})", lambda n, c: (c / n, c >= k))


def pass_at_k(k: int) -> Reducer:
    """Probability that at least one of ``k`` repeats drawn from the n run passes."""
    _check_k(k)

    def fn(n: int, c: int) -> tuple[float, bool | None]:
        value = 1.0 - comb(n - c, k) / comb(n, k)
        return value, (c > 0) if k == n else None

    return Reducer(f"pass_at_k({k})", fn, min_repeats=k)


def pass_hat_k(k: int) -> Reducer:
    """Probability that all of ``k`` repeats drawn from the n run pass."""
    _check_k(k)

    def fn(n: int, c: int) -> tuple[float, bool | None]:
        value = comb(c, k) / comb(n, k)
        return value, (c == n) if k == n else None

    return Reducer(f"pass_hat_k({k})", fn, min_repeats=k)


def _check_k(k: int) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ScorerError(f"k must be a whole number >= 1, got {k!r}.")


DEFAULT_REDUCER = Reducer("majority", _majority)
_PLAIN = {"majority": DEFAULT_REDUCER, "mean": Reducer("mean", _mean)}
_WITH_K = {"at_least": at_least, "pass_at_k": pass_at_k, "pass_hat_k": pass_hat_k}


def get_reducer(spec: str | Reducer | None) -> Reducer:
    """A reducer from its name: ``"majority"``, ``"mean"``, ``"at_least(7)"``, ``"pass_at_k(3)"``."""
    if spec is None:
        return DEFAULT_REDUCER
    if isinstance(spec, Reducer):
        return spec
    text = str(spec).replace(" ", "")
    if text in _PLAIN:
        return _PLAIN[text]
    match = re.fullmatch(r"(\w+)\((\d+)\)", text)
    if match and match.group(1) in _WITH_K:
        return _WITH_K[match.group(1)](int(match.group(2)))
    known = [*_PLAIN, *(f"{name}(k)" for name in _WITH_K)]
    raise ScorerError(f"Unknown reducer {spec!r}; use one of {', '.join(known)}.")
