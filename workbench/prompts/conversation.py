"""The conversation so far, read from a dataset column (``Variant(history="conversation")``).

A row's value is a list of turns ``[{"role": "user" | "assistant", "content": str}, ...]``, or the
JSON text of one (CSV and JSONL datasets); a missing value (None, NaN, empty text) is an empty
conversation. Turns are data: their content is passed on verbatim, never rendered as a template.

One function checks it for every reader — :class:`~workbench.prompts.variant.Variant` over a
dataset row and the production loader over its named input — so both accept and refuse the same
values. Imports nothing heavy (the loader uses it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from workbench.errors import DatasetError
from workbench.prompts.render import Message

__all__ = ["HISTORY_ROLES", "parse_conversation"]

HISTORY_ROLES = ("user", "assistant")
"""Roles a turn of the conversation may have (the system prompt belongs to the variant)."""

_FIX_KEYS = (
    "keep only those, e.g. df[col] = df[col].map(lambda turns: "
    "[{'role': t['role'], 'content': t['content']} for t in turns])"
)


def _missing(value: Any) -> bool:
    if value is None or (isinstance(value, float) and value != value):
        return True
    if isinstance(value, str) and not value.strip():
        return True
    return type(value).__name__ == "NAType"  # pandas.NA, without importing pandas


def parse_conversation(value: Any, where: str, *, ends_with_user: bool = False) -> list[Message]:
    """The turns of a conversation value, checked; raises :class:`DatasetError` naming ``where``.

    ``value`` is a list (or tuple, or array) of ``{"role", "content"}`` mappings, or JSON text of
    one; None, NaN and empty text are an empty conversation. Roles must be ``user`` or
    ``assistant``; content must be text (empty text is allowed). With ``ends_with_user`` the
    conversation must be non-empty and end with a user turn: it is what the model replies to.
    """
    if _missing(value):
        raw: Any = []
    elif isinstance(value, str):
        try:
            raw = json.loads(value)
        except json.JSONDecodeError as exc:
            raise DatasetError(
                f"{where}: the conversation is not valid JSON ({exc.msg} at line {exc.lineno} "
                f"column {exc.colno}, character {exc.pos}): {value[:80]!r}. Write it as a JSON "
                f'list of turns, e.g. [{{"role": "user", "content": "Hi"}}].'
            ) from None
    elif hasattr(value, "tolist") and not isinstance(value, Mapping):
        raw = value.tolist()  # a numpy array, as Parquet list columns are read
    else:
        raw = value
    if isinstance(raw, (str, bytes, Mapping)) or not isinstance(raw, Sequence):
        raise DatasetError(
            f"{where}: the conversation must be a list of turns "
            f'[{{"role": "user" | "assistant", "content": "..."}}, ...], got '
            f"{type(raw).__name__} {_short(raw)}."
        )
    turns: list[Message] = []
    for i, turn in enumerate(raw):
        n = i + 1
        if not isinstance(turn, Mapping):
            raise DatasetError(
                f"{where}: turn {n} of the conversation must be a mapping with role and "
                f"content, got {type(turn).__name__} {_short(turn)}."
            )
        missing = [k for k in ("role", "content") if k not in turn]
        if missing:
            raise DatasetError(
                f"{where}: turn {n} of the conversation has no {' or '.join(missing)}: "
                f"{_short(turn)}. Each turn is {{'role': 'user' | 'assistant', 'content': str}}."
            )
        extra = sorted(str(k) for k in turn if k not in ("role", "content"))
        if extra:
            raise DatasetError(
                f"{where}: turn {n} of the conversation has key(s) {extra} besides role and "
                f"content, which workbench would not send; {_FIX_KEYS}."
            )
        role, content = turn["role"], turn["content"]
        if role not in HISTORY_ROLES:
            hint = " Put the system prompt in Variant(system=...)." if role == "system" else ""
            raise DatasetError(
                f"{where}: turn {n} of the conversation has role {role!r}; a turn's role must "
                f"be 'user' or 'assistant'.{hint}"
            )
        if not isinstance(content, str):
            raise DatasetError(
                f"{where}: turn {n} of the conversation ({role}) has content of type "
                f"{type(content).__name__}; content must be text."
            )
        turns.append(Message(role=role, content=content))
    if ends_with_user and not turns:
        raise DatasetError(
            f"{where}: the conversation is empty and no user message follows it, so there is "
            f"nothing to reply to. Give a conversation ending with a user turn (or give the "
            f"variant a user template: Variant(user=...))."
        )
    if ends_with_user and turns[-1]["role"] != "user":
        raise DatasetError(
            f"{where}: the conversation ends with an assistant turn and no user message "
            f"follows it, so there is nothing to reply to. End it with a user turn (or give "
            f"the variant a user template: Variant(user=...))."
        )
    return turns


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
