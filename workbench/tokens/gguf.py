"""Exact token counts for local GGUF models: the model's own vocabulary and merges (byte-level
BPE run by the ``tokenizers`` library) over the prompt formatted by the model's own chat template —
equal to the ``usage.prompt_tokens`` llama.cpp reports, including a system prompt the template
inserts by itself."""

from __future__ import annotations

import bisect
import mmap
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from workbench.tokens.count import INSTALL_HINT, TokenCount, TokenizerUnavailable

__all__ = ["count_local", "load_local_tokenizer", "read_gguf_metadata"]

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

    def render(self, messages: Sequence[Mapping[str, Any]]) -> str:
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
        raise TokenizerUnavailable(
            f"the tokenizers package is not installed ({INSTALL_HINT})"
        ) from exc
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


def _inserted_span(
    tk: _LocalTokenizer, messages: Sequence[Mapping[str, Any]], rendered: str
) -> slice:
    """Where the template put a system prompt of its own (empty slice when it did not)."""
    if any(m["role"] == "system" for m in messages):
        return slice(0, 0)
    probe = "\ue000"
    head, _, tail = tk.render(
        [{"role": "system", "content": probe}, *map(dict, messages)]
    ).partition(probe)
    if rendered.startswith(head) and rendered.endswith(tail) and len(rendered) > len(head + tail):
        return slice(len(head), len(rendered) - len(tail))
    return slice(0, 0)


def count_local(
    path: str, model: str, messages: Sequence[Mapping[str, Any]], with_offsets: bool
) -> TokenCount:
    """Exact input tokens of ``messages`` for the GGUF model at ``path``."""
    tk = load_local_tokenizer(path)
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
