"""Exact OpenAI token counts offline: tiktoken with the ``o200k_base`` / ``cl100k_base`` files
shipped in the ``bpe-openai`` wheel (same SHA-256 as tiktoken's downloads). Chat overhead follows
OpenAI's documented approximation: 3 tokens per message plus its role, 3 to prime the reply."""

from __future__ import annotations

import base64
import gzip
import importlib.util
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from workbench.tokens.count import INSTALL_HINT, TokenCount, TokenizerUnavailable

__all__ = [
    "OPENAI_REPLY_PRIMING",
    "OPENAI_TOKENS_PER_MESSAGE",
    "count_openai",
    "count_openai_tools",
    "load_tiktoken",
    "openai_encoding_name",
]

OPENAI_TOKENS_PER_MESSAGE = 3
"""Per message in OpenAI's documented chat-format approximation (plus the role's own tokens)."""
OPENAI_REPLY_PRIMING = 3
"""Every OpenAI reply is primed with ``<|start|>assistant<|message|>``."""

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
    raise TokenizerUnavailable(f"bpe-openai with {name} is not installed ({INSTALL_HINT})")


@lru_cache(maxsize=4)
def load_tiktoken(name: str) -> Any:
    """A ``tiktoken.Encoding`` built offline from the BPE ranks shipped in ``bpe-openai``."""
    try:
        import tiktoken
    except ImportError as exc:
        raise TokenizerUnavailable(f"tiktoken is not installed ({INSTALL_HINT})") from exc
    raw = _bpe_openai_file(name).read_bytes()
    ranks: dict[bytes, int] = {}
    for line in gzip.decompress(raw).splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    pat_str, special = _ENCODINGS[name]
    return tiktoken.Encoding(name, pat_str=pat_str, mergeable_ranks=ranks, special_tokens=special)


def count_openai(
    model: str, messages: Sequence[Mapping[str, Any]], with_offsets: bool
) -> TokenCount:
    """Input tokens of ``messages`` for the OpenAI model ``model`` (``provider/name``)."""
    name, known = openai_encoding_name(model)
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
        model=model,
        total=sum(per) + overhead,
        per_message=tuple(per),
        overhead=overhead,
        exact=known,
        method=f"tiktoken {name}" + ("" if known else " (encoding assumed for an unknown model)"),
        offsets=tuple(offsets) if with_offsets else None,
        contents=tuple(m["content"] for m in messages),
    )


_TOOL_COSTS = {
    # (per function, properties start, per property, enum start, per enum item, end):
    # OpenAI cookbook, "How to count tokens with tiktoken", num_tokens_for_tools.
    "o200k_base": (7, 3, 3, -3, 3, 12),
    "cl100k_base": (10, 3, 3, -3, 3, 12),
}


def count_openai_tools(model: str, definitions: Sequence[Mapping[str, Any]]) -> TokenCount:
    """Tokens the function-tool definitions add to an OpenAI request, by the approximation in
    OpenAI's cookbook (names, descriptions, parameter names, types and enums through tiktoken,
    plus fixed costs): an estimate, as OpenAI does not document the exact format."""
    name, _ = openai_encoding_name(model)
    enc = load_tiktoken(name)
    func_init, prop_init, prop_key, enum_init, enum_item, func_end = _TOOL_COSTS[name]

    def n(text: str) -> int:
        return len(enc.encode(text, disallowed_special=()))

    total = 0
    for definition in definitions:
        function = definition["function"]
        total += func_init + n(
            f"{function['name']}:{str(function.get('description') or '').removesuffix('.')}"
        )
        properties = (function.get("parameters") or {}).get("properties") or {}
        if properties:
            total += prop_init
        for key, prop in properties.items():
            prop = prop if isinstance(prop, Mapping) else {}
            total += prop_key
            for item in prop.get("enum") or ():
                total += enum_item + n(str(item))
            if prop.get("enum"):
                total += enum_init
            desc = str(prop.get("description") or "").removesuffix(".")
            total += n(f"{key}:{prop.get('type', '')}:{desc}")
    total += func_end if definitions else 0
    return TokenCount(
        model=model,
        total=total,
        per_message=(),
        overhead=total,
        exact=False,
        method=f"tiktoken {name}, tool definitions by OpenAI's cookbook approximation (estimate)",
    )
