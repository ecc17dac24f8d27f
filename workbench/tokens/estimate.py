"""Token counts before a call, for estimates and budgets.

Counts here are estimates (about four characters a token plus per-message overhead) and say so;
exact counts come back in each response's usage and are what results and costs use.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["MESSAGE_OVERHEAD", "REPLY_PRIMING", "estimate_text_tokens", "estimate_tokens"]

MESSAGE_OVERHEAD = 4
"""Tokens a chat format spends per message on role markers (typical of ChatML-style templates)."""
REPLY_PRIMING = 3
"""Tokens every chat reply is primed with (estimate)."""


def estimate_text_tokens(text: str) -> int:
    """Estimated tokens in plain text: ~4 characters per token, never less than the word count."""
    if not text:
        return 0
    return max(math.ceil(len(text) / 4), len(text.split()))


def estimate_tokens(messages: Iterable[Mapping[str, Any]]) -> int:
    """Estimated input tokens of a chat request, including chat-format overhead."""
    total = REPLY_PRIMING
    for message in messages:
        total += MESSAGE_OVERHEAD + estimate_text_tokens(str(message.get("content", "")))
    return total
