"""``fake/<name>``: a deterministic provider that ships in the package, for demos and tests.

Built-in names: ``fake/echo`` replies with the last user message, ``fake/upper`` with it in
capitals. Any other name echoes too, unless scripted on an instance you hand to the run::

    from workbench.providers.fake import FakeProvider
    fake = FakeProvider()
    fake.script("judge", {"What is 2+2?": "4"})            # reply by last user message
    fake.script("flaky", lambda req: "ok" if req.repeat else "no")   # any function of the request
    wb.Experiment(..., providers=[fake])                    # or wb.configure(providers=[fake])
    fake.calls["judge"]                                     # how many calls it answered

Scripts and call counts belong to the instance: nothing is shared between instances.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from workbench.config import Settings
from workbench.providers.base import ChatRequest, ModelId, ModelInfo, Provider, Response
from workbench.tokens.estimate import estimate_text_tokens, estimate_tokens

__all__ = ["FakeProvider", "last_user_text"]

Reply = str | Response
Responder = str | Mapping[str, str] | Sequence[str] | Callable[[ChatRequest], Reply]


@dataclass
class _Script:
    responder: Responder
    latency: float


def last_user_text(request: ChatRequest) -> str:
    """Content of the last user message of a request ('' if none)."""
    for message in reversed(request.messages):
        if message["role"] == "user":
            return message["content"]
    return ""


class FakeProvider(Provider):
    """Deterministic replies with word-count usage; never touches the network."""

    label = "the fake provider"
    accepted_params = frozenset(
        {
            "temperature",
            "top_p",
            "top_k",
            "max_tokens",
            "stop",
            "seed",
            "presence_penalty",
            "frequency_penalty",
            "min_p",
            "repeat_penalty",
            "response_format",
            "reasoning_effort",
        }
    )
    default_concurrency = 16
    free = True

    def __init__(self, name: str = "fake") -> None:
        super().__init__(name)
        self._scripts: dict[str, _Script] = {}
        self.calls: Counter[str] = Counter()
        """Calls answered, by fake model name."""

    @classmethod
    def fallback_info(cls, model: ModelId, settings: Settings) -> ModelInfo:
        return ModelInfo(str(model), 1_000_000, 100_000, 0.0, 0.0)

    def script(self, name: str, responder: Responder, *, latency: float = 0.0) -> FakeProvider:
        """Decide what ``fake/<name>`` answers (returns the provider, to chain).

        ``responder``: a fixed string; a mapping from the last user message to a reply (others
        echo); a list of replies picked by repeat index; or a function of the
        :class:`ChatRequest` returning text or a Response (it may raise ``ProviderError`` to act
        out a failure). ``latency`` seconds are spent before each reply.
        """
        self._scripts[name] = _Script(responder, latency)
        return self

    async def generate(self, request: ChatRequest, timeout: float) -> Response:
        start = self.clock()
        name = request.model.name
        entry = self._scripts.get(name)
        if entry and entry.latency:
            await asyncio.sleep(entry.latency)
        reply = self._reply(name, entry, request)
        self.calls[name] += 1
        if isinstance(reply, Response):
            if not reply.latency_ms:
                reply.latency_ms = (self.clock() - start) * 1000
            return reply
        words = reply.split(" ")
        limit = request.params.get("max_tokens")
        finish = "stop"
        if isinstance(limit, int) and len(words) > limit:
            reply, finish = " ".join(words[:limit]), "length"
        return Response(
            text=reply,
            input_tokens=estimate_tokens(request.messages),
            output_tokens=estimate_text_tokens(reply),
            finish_reason=finish,
            latency_ms=(self.clock() - start) * 1000,
            raw={"fake": name, "text": reply},
        )

    @staticmethod
    def _reply(name: str, entry: _Script | None, request: ChatRequest) -> Reply:
        text = last_user_text(request)
        if entry is None:
            return text.upper() if name == "upper" else text
        responder = entry.responder
        if isinstance(responder, str):
            return responder
        if isinstance(responder, Mapping):
            return responder.get(text, text)
        if callable(responder):
            return responder(request)
        return responder[request.repeat % len(responder)]
