"""How numbers read wherever they are shown: durations, shares, token counts and money.

``duration(23940)`` is ``"24 s"``, ``share(0.0953)`` ``"9.5 %"``, ``tokens(7093)`` ``"7,093 tok"``,
``money(0.00123)`` ``"$0.0012"`` and ``money(0)`` ``"free"``. A missing value reads ``"–"``.
"""

from __future__ import annotations

import math

__all__ = ["MISSING", "count", "duration", "money", "share", "tokens"]

MISSING = "–"
"""What a missing number reads as."""


def _number(value: object) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def duration(ms: object) -> str:
    """Milliseconds as ``850 ms``, ``1.2 s``, ``24 s`` or ``2 min 05 s``."""
    value = _number(ms)
    if value is None:
        return MISSING
    if value < 1000:
        return f"{value:.0f} ms"
    seconds = value / 1000
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def share(fraction: object) -> str:
    """A fraction as a percentage: ``9.5 %`` below 10 %, ``67 %`` above."""
    value = _number(fraction)
    if value is None:
        return MISSING
    percent = value * 100
    return f"{percent:.1f} %" if abs(percent) < 9.95 else f"{percent:.0f} %"


def count(n: object) -> str:
    """A whole number with thousands separators."""
    value = _number(n)
    return MISSING if value is None else f"{value:,.0f}"


def tokens(n: object) -> str:
    """``7,093 tok``."""
    value = _number(n)
    return MISSING if value is None else f"{value:,.0f} tok"


def money(usd: object) -> str:
    """US dollars with two significant digits below $1 (``$0.0012``), cents above; ``free`` for
    nothing; ``cost unknown`` when a price is missing."""
    value = _number(usd)
    if value is None:
        return "cost unknown"
    if value == 0:
        return "free"
    if abs(value) >= 1:
        return f"${value:,.2f}"
    decimals = max(2, 1 - math.floor(math.log10(abs(value))))
    return f"${value:.{decimals}f}"
