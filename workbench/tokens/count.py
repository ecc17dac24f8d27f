"""A token count of a chat request, and the labelled estimate used where no tokenizer exists."""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from workbench.tokens.estimate import MESSAGE_OVERHEAD, REPLY_PRIMING, estimate_text_tokens

__all__ = ["INSTALL_HINT", "TokenCount", "TokenizerUnavailable", "estimated"]

INSTALL_HINT = "pip install 'prompt-workbench[tokens]'"


class TokenizerUnavailable(Exception):
    """No exact tokenizer here (package or file missing); the reason says how to get one."""


@dataclass(frozen=True)
class TokenCount:
    """Input tokens of one chat request: ``total == sum(per_message) + overhead + inserted``."""

    model: str
    total: int
    per_message: tuple[int, ...]
    """Tokens of each message's content."""
    overhead: int
    """Chat-format tokens: role markers, separators, reply priming."""
    exact: bool
    """True when counted by the model's own tokenizer (or API), False for an estimate."""
    method: str
    """How it was counted, e.g. ``tiktoken o200k_base``, ``smollm2 vocabulary``, ``estimate (...)``."""
    inserted: int = 0
    """Tokens of text the chat template inserts itself (e.g. a default system prompt)."""
    inserted_text: str = ""
    offsets: tuple[tuple[int, ...], ...] | None = field(default=None, repr=False, compare=False)
    """Start character of each token within each message's content (exact counts only)."""
    contents: tuple[str, ...] = field(default=(), repr=False, compare=False)

    def span_tokens(self, message: int, start: int, end: int) -> int:
        """Tokens starting in ``content[start:end]`` of one message (estimated when inexact)."""
        if self.offsets is None:
            return estimate_text_tokens(self.contents[message][start:end])
        starts = self.offsets[message]
        return bisect.bisect_left(starts, end) - bisect.bisect_left(starts, start)


def estimated(model: str, messages: Sequence[Mapping[str, Any]], why: str) -> TokenCount:
    """A labelled estimate: about four characters a token plus per-message overhead."""
    per = tuple(estimate_text_tokens(m["content"]) for m in messages)
    overhead = REPLY_PRIMING + MESSAGE_OVERHEAD * len(messages)
    return TokenCount(
        model=model,
        total=sum(per) + overhead,
        per_message=per,
        overhead=overhead,
        exact=False,
        method=f"estimate ({why})",
        contents=tuple(m["content"] for m in messages),
    )
