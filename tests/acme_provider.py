"""A provider defined outside the workbench package, as a plugin would be."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from workbench.config import Settings
from workbench.providers import ChatRequest, ModelId, ModelInfo, Provider, Response
from workbench.tokens import TokenCount


class AcmeProvider(Provider):
    """Replies "acme: <last user message>"; counts a token per word; $1 / $2 per 1M tokens."""

    label = "Acme"
    default_concurrency = 3
    default_max_tokens = 50
    accepted_params = frozenset({"temperature", "max_tokens"})

    @classmethod
    def fallback_info(cls, model: ModelId, settings: Settings) -> ModelInfo:
        return ModelInfo(str(model), 1000, 200, 1.0, 2.0)

    @classmethod
    def count_tokens(
        cls,
        model: ModelId,
        messages: Sequence[Mapping[str, Any]],
        *,
        settings: Settings,
        remote: bool,
        with_offsets: bool,
    ) -> TokenCount:
        per = tuple(len(str(m["content"]).split()) for m in messages)
        return TokenCount(str(model), sum(per) + 2, per, 2, True, "acme words")

    async def generate(self, request: ChatRequest, timeout: float) -> Response:
        text = "acme: " + request.messages[-1]["content"]
        return Response(
            text, input_tokens=10, output_tokens=len(text.split()), finish_reason="stop"
        )
