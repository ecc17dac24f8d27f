"""Text and numbers in the comparison grid, in plain Python: truncation, the word diff, JSON and
chat values, the search matcher, a cell's figures. Shared by the grid widget and any static rendering of it."""

from __future__ import annotations

import difflib
import html
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from workbench import figures
from workbench.plain import plain

__all__ = [
    "INPUT_CHARS",
    "TRUNCATE",
    "USAGE_DETAIL",
    "DiffOptions",
    "as_chat",
    "cell_meta",
    "input_value",
    "jsonable",
    "matcher",
    "messages",
    "number",
    "pretty_json",
    "score_text",
    "text",
    "usage_line",
    "word_diff",
]

TRUNCATE = 400
"""Characters of a value shown in a cell (the detail shows all)."""
INPUT_CHARS = 1000
"""Characters of an input value sent with a page (the cell clamps them to a few lines)."""
_TOKEN = re.compile(r"\s*\S+\s*|\s+")  # a word with the spaces around it
_SPACE = re.compile(r"\s+")


def text(value: Any, limit: int | None = TRUNCATE) -> str:
    """``value`` as text ('' when missing), cut to ``limit`` characters with an ellipsis."""
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):  # a list: not missing
        return ""
    shown = str(value)
    return shown if limit is None or len(shown) <= limit else shown[:limit] + "…"


@dataclass(frozen=True)
class DiffOptions:
    """How outputs are compared with the baseline's."""

    ignore_case: bool = False
    ignore_space: bool = False
    """Runs of whitespace (and leading/trailing spaces) count as one space."""

    @classmethod
    def of(cls, data: Any) -> DiffOptions:
        """From the widget's ``diff`` dict."""
        data = data or {}
        return cls(bool(data.get("ignore_case")), bool(data.get("ignore_space")))

    def key(self, value: str) -> str:
        """What two texts are compared by."""
        if self.ignore_space:
            value = _SPACE.sub(" ", value).strip()
        return value.casefold() if self.ignore_case else value


def word_diff(
    base: str, other: str, options: DiffOptions | None = None, limit: int | None = TRUNCATE
) -> str:
    """HTML of ``other`` with words not in ``base`` in ``<ins>`` and removed ones in ``<del>``,
    compared as ``options`` say, showing at most ``limit`` characters (then an ellipsis)."""
    options = options or DiffOptions()
    a, b = _TOKEN.findall(base), _TOKEN.findall(other)
    ka = [options.key(t) or " " for t in a]
    kb = [options.key(t) or " " for t in b]
    out: list[str] = []
    left = limit if limit is not None else -1

    def emit(piece: str, tag: str | None) -> bool:
        """Add ``piece`` (cut to what is left); False once the limit is reached."""
        nonlocal left
        if left == 0:
            return False
        cut = piece if left < 0 or len(piece) <= left else piece[:left]
        if left > 0:
            left -= len(cut)
        shown = html.escape(cut)
        out.append(f'<{tag} class="wb-{tag}">{shown}</{tag}>' if tag else shown)
        return len(cut) == len(piece)

    matcher_ = difflib.SequenceMatcher(None, ka, kb, autojunk=False)
    for op, i1, i2, j1, j2 in matcher_.get_opcodes():
        if op == "equal":
            going = emit("".join(b[j1:j2]), None)
        else:
            going = True
            if op in ("delete", "replace"):
                going = emit("".join(a[i1:i2]), "del")
            if going and op in ("insert", "replace"):
                going = emit("".join(b[j1:j2]), "ins")
        if not going:
            out.append("…")
            break
    return "".join(out)


def pretty_json(value: str) -> str | None:
    """``value`` indented, when it is a JSON object or array (else None)."""
    stripped = value.strip()
    if not stripped or stripped[0] not in "[{":
        return None
    try:
        parsed = json.loads(stripped)
    except ValueError:
        return None
    return json.dumps(parsed, indent=2, ensure_ascii=False)


def as_chat(value: Any) -> list[dict[str, str]] | None:
    """A conversation — a list of ``{"role", "content"}`` turns, or JSON text of one — as turns
    with text content; None for anything else."""
    if isinstance(value, str):
        stripped = value.strip()
        if not stripped.startswith("["):
            return None
        try:
            value = json.loads(stripped)
        except ValueError:
            return None
    if hasattr(value, "tolist") and not isinstance(value, (list, str)):
        value = value.tolist()
    if not isinstance(value, list) or not value:
        return None
    turns = []
    for turn in value:
        if not isinstance(turn, dict) or "role" not in turn or "content" not in turn:
            return None
        content = turn["content"]
        shown = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
        turns.append({"role": str(turn["role"]), "content": shown})
    return turns


def matcher(search: str, regex: bool = False) -> Callable[[str], bool] | None:
    """A test for text containing ``search`` (any case), or matching it as a regular expression;
    None when there is nothing to search for."""
    needle = search.strip() if not regex else search
    if not needle:
        return None
    if regex:
        try:
            pattern = re.compile(needle, re.IGNORECASE | re.MULTILINE)
        except re.error as exc:
            raise ValueError(
                f"Search: {needle!r} is not a valid regular expression ({exc}); fix it or untick "
                f"'regex' to search for the text as it is."
            ) from None
        return lambda hay: pattern.search(hay) is not None
    lowered = needle.lower()
    return lambda hay: lowered in hay


def number(value: Any) -> float | None:
    """A number from whatever pandas holds (None for anything else)."""
    found = plain(value)
    return float(found) if isinstance(found, (int, float)) and not isinstance(found, bool) else None


def cell_meta(tokens: Any, latency: Any, cost: Any) -> str:
    """A cell's numbers on one line; cost only when it is not free."""
    parts = [figures.tokens(tokens), figures.duration(latency)]
    money = figures.money(cost)
    if money != "free":
        parts.append(money)
    return " · ".join(p for p in parts if p != figures.MISSING)


def score_text(value: Any) -> str:
    """A scorer's value: whole numbers as such, others with two decimals."""
    found = number(value)
    if found is None:
        return figures.MISSING
    return f"{found:.0f}" if found.is_integer() else f"{found:.2f}"


def input_value(value: Any, limit: int | None = INPUT_CHARS) -> Any:
    """An input value for the page: a conversation as turns, anything else as (cut) text."""
    chat = as_chat(value)
    if chat is not None:
        return {"chat": [{**t, "content": text(t["content"], limit)} for t in chat]}
    return text(value, limit)


def jsonable(value: Any) -> Any:
    """Plain data that JSON can carry (else its text)."""
    value = plain(value)
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return str(value)
    return value


def messages(value: Any) -> list[dict[str, str]]:
    """The request's messages (JSON text in the table) as turns."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return [{"role": "?", "content": value}]
    return as_chat(value) or []


USAGE_DETAIL = ("reasoning_tokens", "cached_input_tokens", "cache_write_tokens", "ttft_ms")
"""Usage facts a repeat's detail carries as numbers, besides its usage line."""


def usage_line(rec: Mapping[str, Any]) -> str:
    """A repeat's usage as a person reads it: ``1,200 in (1,024 cached) · 80 out (64
    reasoning) · first token 0.3 s · 1.2 s · $0.0012`` (parts not known are left out)."""

    def known(n: Any) -> bool:
        return figures.count(n) not in (figures.MISSING, "0")

    cached = [
        f"{figures.count(rec.get(k))} {what}"
        for k, what in (("cached_input_tokens", "cached"), ("cache_write_tokens", "written"))
        if known(rec.get(k))
    ]
    inputs = f"{figures.count(rec['input_tokens'])} in" + (
        f" ({', '.join(cached)})" if cached else ""
    )
    outputs = f"{figures.count(rec['output_tokens'])} out" + (
        f" ({figures.count(rec.get('reasoning_tokens'))} reasoning)"
        if known(rec.get("reasoning_tokens"))
        else ""
    )
    first = figures.duration(rec.get("ttft_ms"))
    parts = (
        inputs,
        outputs,
        "" if first == figures.MISSING else f"first token {first}",
        figures.duration(rec["latency_ms"]),
        figures.money(rec["cost_usd"]),
    )
    return " · ".join(p for p in parts if p and not p.startswith(figures.MISSING))
