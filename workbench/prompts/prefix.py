"""The prompt prefix every row of a variant shares — what a provider's prompt cache can reuse."""

from __future__ import annotations

from collections.abc import Sequence

from workbench.prompts.render import Message

__all__ = ["shared_prefix"]


def shared_prefix(prompts: Sequence[Sequence[Message]]) -> list[Message]:
    """The leading messages all ``prompts`` share, and the common start of the first message
    that differs (same role). Empty when there are no prompts."""
    if not prompts:
        return []
    out: list[Message] = []
    for at, first in enumerate(prompts[0]):
        same = [p[at] for p in prompts if at < len(p) and p[at]["role"] == first["role"]]
        if len(same) < len(prompts):
            break
        if all(m["content"] == first["content"] for m in same):
            out.append(Message(role=first["role"], content=first["content"]))
            continue
        start = _common_start([m["content"] for m in same])
        if start:
            out.append(Message(role=first["role"], content=start))
        break
    return out


def _common_start(texts: Sequence[str]) -> str:
    """The longest text every one of ``texts`` starts with."""
    low, high = min(texts), max(texts)  # the extremes differ first
    n = 0
    while n < min(len(low), len(high)) and low[n] == high[n]:
        n += 1
    return low[:n]
