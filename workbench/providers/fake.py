"""``fake/<name>``: a deterministic provider that ships in the package, for demos and tests.

Built-in names: ``fake/echo`` replies with the last user message, ``fake/upper`` with it in
capitals. Any other name echoes too, unless scripted on an instance you hand to the run::

    from workbench.providers.fake import FakeProvider
    fake = FakeProvider()
    fake.script("judge", {"What is 2+2?": "4"})            # reply by last user message
    fake.script("flaky", lambda req: "ok" if req.repeat else "no")   # any function of the request
    wb.Experiment(..., providers=[fake])                    # or wb.configure(providers=[fake])
    fake.calls["judge"]                                     # how many calls it answered

A reply may call tools (when the request offers some): ``tool_call(name, arguments)``, or several
at once with ``tool_calls((name, arguments), ...)``; arguments given as text are sent as they are,
so malformed JSON can be acted out::

    from workbench.providers.fake import tool_call
    fake.script("router", lambda req: "Done." if req.messages[-1]["role"] == "tool"
                else tool_call("lookup_order", {"order_id": "42"}))

Scripts and call counts belong to the instance: nothing is shared between instances.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from workbench.config import Settings
from workbench.errors import ProviderError
from workbench.providers.base import ChatRequest, ModelId, ModelInfo, Provider, Response
from workbench.providers.tools import tool_call as normalized_call
from workbench.providers.tools import wire_call
from workbench.tokens.estimate import estimate_text_tokens, estimate_tokens

__all__ = ["FakeProvider", "ToolReply", "last_user_text", "tool_call", "tool_calls"]


@dataclass(frozen=True)
class ToolReply:
    """A scripted reply that calls tools (build it with :func:`tool_call` / :func:`tool_calls`)."""

    calls: tuple[tuple[str, Any], ...]
    """(tool name, arguments: a mapping, or JSON text sent as it is) of each call, in order."""
    text: str = ""
    """Text said besides the calls."""


def tool_call(
    name: str, arguments: Mapping[str, Any] | str | None = None, *, text: str = ""
) -> ToolReply:
    """A reply calling one tool; ``arguments`` as JSON text may be malformed on purpose."""
    return ToolReply(((name, {} if arguments is None else arguments),), text)


def tool_calls(*calls: tuple[str, Mapping[str, Any] | str], text: str = "") -> ToolReply:
    """A reply calling several tools at once (parallel calls)."""
    return ToolReply(tuple(calls), text)


Reply = str | Response | ToolReply
Responder = str | Mapping[str, Reply] | Sequence[Reply] | Callable[[ChatRequest], Reply]


@dataclass
class _Script:
    responder: Responder
    latency: float


def last_user_text(request: ChatRequest) -> str:
    """Content of the last user message of a request ('' if none)."""
    for message in request.messages[::-1]:
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
    supports_tools = True

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

        ``responder``: a fixed reply; a mapping from the last user message to a reply (others
        echo); a list of replies picked by repeat index; or a function of the
        :class:`ChatRequest`. A reply is text, a :class:`ToolReply` (:func:`tool_call`) or a
        Response; a function may raise ``ProviderError`` to act out a failure. ``latency``
        seconds are spent before each reply.
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
        if isinstance(reply, ToolReply):
            return _tool_response(name, request, reply, (self.clock() - start) * 1000)
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
        if isinstance(responder, (str, ToolReply, Response)):
            return responder
        if isinstance(responder, Mapping):
            found: Reply = responder.get(text, text)
            return found
        if callable(responder):
            return responder(request)
        return responder[request.repeat % len(responder)]


def _tool_response(name: str, request: ChatRequest, reply: ToolReply, latency: float) -> Response:
    """A scripted tool-calling reply, as a provider would return it (ids ``call_1``, ``call_2``,
    ... counted over the conversation, so a tool loop's ids never repeat)."""
    if request.tools is None:
        raise ProviderError(
            f"fake/{name}: the script calls a tool, but the request offers none "
            f"(give the variant tools=[...])."
        )
    made = sum(len(m.get("tool_calls", ())) for m in request.messages)
    calls = [
        normalized_call(
            f"call_{made + i}",
            tool,
            arguments if isinstance(arguments, str) else dict(arguments),
        )
        for i, (tool, arguments) in enumerate(reply.calls, start=1)
    ]
    wire = [wire_call(c) for c in calls]
    return Response(
        text=reply.text,
        input_tokens=estimate_tokens(request.messages),
        output_tokens=estimate_text_tokens(reply.text + json.dumps(wire)),
        finish_reason="tool_calls",
        latency_ms=latency,
        raw={"fake": name, "text": reply.text, "tool_calls": wire},
        tool_calls=calls,
    )
