"""Token counting libraries, with no knowledge of providers: a :class:`TokenCount` of a chat
request, labelled estimates, offline tiktoken for OpenAI encodings, and GGUF vocabularies for
local models. Each provider picks the counter that fits it (``Provider.count_tokens``)."""

from workbench.tokens.count import TokenCount, TokenizerUnavailable, estimated
from workbench.tokens.estimate import estimate_text_tokens, estimate_tokens

__all__ = [
    "TokenCount",
    "TokenizerUnavailable",
    "estimate_text_tokens",
    "estimate_tokens",
    "estimated",
]
