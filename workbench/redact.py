"""Strip credentials from text that may be shown, logged or saved (provider error messages).

Removes: the values of API-key environment variables, key-looking tokens (``sk-...``,
``sk-ant-...``), ``Bearer``/``x-api-key``/``api_key`` values, and ``user:pass@`` in URLs.
"""

from __future__ import annotations

import os
import re

__all__ = ["redact"]

MASK = "[redacted]"
_MIN_SECRET = 8
_SECRET_ENV = re.compile(r"(API_?KEY|TOKEN|SECRET|PASSWORD)$", re.IGNORECASE)
_PATTERNS = (
    # user:pass@ (or a lone token@) in any URL
    (re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/\s@]+@"), r"\g<scheme>" + MASK + "@"),
    # Authorization: Bearer <token>, Basic <token>
    (re.compile(r"(?i)\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=*-]{6,}"), r"\1 " + MASK),
    # x-api-key: <v>, api_key=<v>, "apiKey": "<v>", authorization: <v>
    (
        re.compile(
            r"(?i)\b(x-api-key|api[_-]?key|authorization|access[_-]?token)"
            r"(['\"]?\s*[:=]\s*['\"]?)(?!Bearer\b|Basic\b)[^\s'\",;)}]{6,}"
        ),
        r"\1\2" + MASK,
    ),
    # key-looking tokens: sk-..., sk-proj-..., sk-ant-api03-..., also partly masked (sk-abc***xyz)
    (re.compile(r"\b(?:sk|rk|pk)-[A-Za-z0-9_*-]{10,}"), MASK),
)


def _env_secrets() -> list[str]:
    return sorted(
        (
            value
            for name, value in os.environ.items()
            if _SECRET_ENV.search(name) and len(value) >= _MIN_SECRET
        ),
        key=len,
        reverse=True,
    )


def redact(text: str) -> str:
    """``text`` with every credential replaced by ``[redacted]``."""
    for secret in _env_secrets():
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
