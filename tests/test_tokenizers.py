"""Exact token counts offline: tiktoken from bpe-openai's files, the local model's own vocabulary."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import workbench.models.resolved
import workbench.providers.anthropic_messages
from workbench.models import ModelId, count_text, count_tokens
from workbench.providers.local import local_models
from workbench.tokens import gguf
from workbench.tokens import tiktoken_offline as tokenizers
from workbench.tokens.count import TokenCount, TokenizerUnavailable
from workbench.tokens.tiktoken_offline import openai_encoding_name

TEXTS = [
    "hello world",
    "The quick brown fox jumps over the lazy dog.",
    "Ünïcödé — 日本語 text, émojis 🎉🎉 and code: def f(x):\n    return x**2\n",
    "Numbers 1234567 and 3.14159; URLs https://example.com/a/b?c=d\n\n\n  indented\ttabs",
    "I'm sure they'll say it's fine, WE'RE DONE. <|endoftext|> is plain text here.",
]
needs_tiktoken = pytest.mark.skipif(
    not __import__("importlib").util.find_spec("tiktoken")
    or not __import__("importlib").util.find_spec("bpe_openai"),
    reason="needs prompt-workbench[tokens]",
)
GGUF = local_models().get("smollm2")
needs_local_vocab = pytest.mark.skipif(
    GGUF is None or not __import__("importlib").util.find_spec("tokenizers"),
    reason="needs the local weights and the tokenizers package",
)


@pytest.fixture(autouse=True)
def _fresh_counts() -> Iterator[None]:
    workbench.models.resolved._COUNTS.clear()
    yield
    workbench.models.resolved._COUNTS.clear()


@needs_tiktoken
@pytest.mark.parametrize(
    ("model", "ids"),
    [("openai/gpt-4o-mini", [24912, 2375]), ("openai/gpt-4", [15339, 1917])],
)
def test_hello_world_is_two_known_tokens(model: str, ids: list[int]) -> None:
    name, known = openai_encoding_name(model)
    assert known
    assert tokenizers.load_tiktoken(name).encode("hello world") == ids
    assert count_text(model, "hello world") == 2
    assert count_text(model, "The quick brown fox jumps over the lazy dog.") == 10


@needs_tiktoken
@pytest.mark.parametrize("name", ["o200k_base", "cl100k_base"])
def test_same_tokens_as_tiktoken_itself(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """tiktoken's own loader, its cache filled from bpe-openai's files (named by sha1 of the URL)."""
    import tiktoken
    import tiktoken.registry

    url = f"https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"
    raw = tokenizers._bpe_openai_file(name).read_bytes()
    (tmp_path / hashlib.sha1(url.encode()).hexdigest()).write_bytes(gzip.decompress(raw))
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(tiktoken.registry, "ENCODINGS", {})
    reference = tiktoken.get_encoding(name)  # verifies the file's SHA-256 against tiktoken's
    ours = tokenizers.load_tiktoken(name)
    for text in TEXTS:
        assert ours.encode(text, disallowed_special=()) == reference.encode(
            text, disallowed_special=()
        )
    assert ours.n_vocab == reference.n_vocab


@pytest.mark.parametrize(
    ("model", "encoding", "known"),
    [
        ("gpt-4o", "o200k_base", True),
        ("gpt-4.1-mini", "o200k_base", True),
        ("gpt-5", "o200k_base", True),
        ("gpt-6.2-sol", "o200k_base", True),
        ("o3-mini", "o200k_base", True),
        ("gpt-4-turbo", "cl100k_base", True),
        ("gpt-3.5-turbo", "cl100k_base", True),
        ("mystery-model", "o200k_base", False),
    ],
)
def test_encoding_per_model(model: str, encoding: str, known: bool) -> None:
    assert openai_encoding_name(model) == (encoding, known)


@needs_tiktoken
def test_openai_chat_overhead_follows_documented_formula() -> None:
    messages = [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "hi there"}]
    count = count_tokens("openai/gpt-6.2-sol", messages)
    assert count.exact and count.method == "tiktoken o200k_base"
    assert count.per_message == (3, 2)
    # 3 per message + the role's token, 3 to prime the reply
    assert count.overhead == 2 * (3 + 1) + 3
    assert count.total == 16
    assert count.span_tokens(0, 0, 2) == 1  # "Be"


def test_falls_back_to_labelled_estimate_without_tiktoken(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> Any:
        raise TokenizerUnavailable("tiktoken is not installed (pip install ...)")

    monkeypatch.setattr(tokenizers, "load_tiktoken", missing)
    count = count_tokens("openai/gpt-4o-mini", [{"role": "user", "content": "hello world"}])
    assert not count.exact
    assert count.method.startswith("estimate (") and "tiktoken" in count.method
    assert count.total == sum(count.per_message) + count.overhead


def test_anthropic_is_a_labelled_estimate_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    count = count_tokens("anthropic/claude-haiku-4-5", [{"role": "user", "content": "hello"}])
    assert not count.exact
    assert count.method == "estimate (Anthropic has no offline tokenizer)"


def test_anthropic_uses_count_tokens_api_when_keyed(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[ModelId] = []

    def fake_api(model: ModelId, messages: list[dict[str, str]], base_url: object) -> TokenCount:
        seen.append(model)
        return TokenCount(str(model), 12, (5,), 7, True, "anthropic count_tokens API")

    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test")
    monkeypatch.setattr(workbench.providers.anthropic_messages, "_count_remote", fake_api)
    count = count_tokens("anthropic/claude-haiku-4-5", [{"role": "user", "content": "hello"}])
    assert count.exact and count.total == 12 and seen == [ModelId("anthropic", "claude-haiku-4-5")]
    offline = count_tokens(
        "anthropic/claude-haiku-4-5", [{"role": "user", "content": "hello"}], remote=False
    )
    assert not offline.exact


def test_fake_and_endpoint_models_are_labelled_estimates() -> None:
    count = count_tokens("fake/echo", [{"role": "user", "content": "hello there"}])
    assert not count.exact and "fake" in count.method
    assert count.total == 3 + 4 + count.per_message[0]  # same as models.tokens.estimate_tokens


@needs_local_vocab
def test_local_default_system_prompt_is_counted_as_inserted() -> None:
    count = count_tokens("local/smollm2", [{"role": "user", "content": "What is 2+2?"}])
    assert count.exact and count.method == "smollm2 vocabulary + chat template"
    assert count.inserted_text.startswith("You are a helpful AI assistant named SmolLM")
    assert count.inserted > 10
    assert count.total == sum(count.per_message) + count.overhead + count.inserted
    with_system = count_tokens(
        "local/smollm2",
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 2+2?"}],
    )
    assert with_system.inserted == 0 and with_system.inserted_text == ""


@needs_local_vocab
def test_gguf_metadata_reader() -> None:
    assert GGUF is not None
    meta = gguf.read_gguf_metadata(GGUF)
    assert meta["tokenizer.ggml.pre"] == "smollm"
    assert len(meta["tokenizer.ggml.tokens"]) == 49152
    assert "<|im_start|>" in meta["tokenizer.chat_template"]


LOCAL_PROMPTS: list[list[dict[str, str]]] = [
    [{"role": "user", "content": "What is the capital of France?"}],
    [
        {"role": "system", "content": "Answer in one word."},
        {"role": "user", "content": "12345+678?"},
    ],
    [
        {"role": "system", "content": "Be terse."},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "Hello there."},
        {"role": "user", "content": TEXTS[2] + TEXTS[3]},
    ],
    [{"role": "user", "content": "  leading and trailing spaces   \n\n"}],
]


@pytest.mark.local_model
@needs_local_vocab
@pytest.mark.parametrize("messages", LOCAL_PROMPTS)
def test_local_count_equals_usage_prompt_tokens(messages: list[dict[str, str]]) -> None:
    from workbench.providers.base import ChatRequest
    from workbench.providers.local import LocalProvider

    request = ChatRequest(ModelId("local", "smollm2"), tuple(messages), {"max_tokens": 1})  # type: ignore[arg-type]
    response = asyncio.run(LocalProvider().generate(request, timeout=60))
    assert count_tokens("local/smollm2", messages).total == response.input_tokens


def test_anthropic_count_tokens_through_the_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real SDK call, answered by a loopback server (no internet)."""
    pytest.importorskip("anthropic")
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    bodies: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            out = json.dumps({"input_tokens": 42}).encode()
            self.send_response(200 if self.path.startswith("/v1/messages/count_tokens") else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", f"http://127.0.0.1:{server.server_port}")
        messages = [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "hello there, how are you today?"},
        ]
        count = count_tokens("anthropic/claude-haiku-4-5", messages)
    finally:
        server.shutdown()
        thread.join(timeout=5)
    assert count.exact and count.total == 42 and "count_tokens" in count.method
    assert count.total == sum(count.per_message) + count.overhead
    assert bodies == [
        {
            "model": "claude-haiku-4-5",
            "messages": [{"role": "user", "content": "hello there, how are you today?"}],
            "system": "Be brief.",
        }
    ]
