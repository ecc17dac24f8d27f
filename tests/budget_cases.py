"""A prompt with every kind of token-budget segment, shared by the budget and widget tests."""

from __future__ import annotations

import workbench as wb


def chat_variant(model: str = "fake/echo", **params: object) -> wb.Variant:
    """System, a few-shot example, a templated turn, and a user message with a document field."""
    return wb.Variant(
        "chat",
        model=model,
        system="You answer questions about a document.",
        messages=[
            {"role": "user", "content": "Capital of Spain?"},
            {"role": "assistant", "content": "Madrid."},
            {"role": "user", "content": "{{ earlier }}"},
            {"role": "assistant", "content": "{{ earlier_reply }}"},
        ],
        user="Document:\n{{ doc }}\n\nQuestion: {{ question }}",
        params=params,
    )
