"""Turn the exceptions of the official SDKs into ProviderError, one rule set for both."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from workbench.errors import ProviderError
from workbench.providers.base import parse_retry_after, status_error
from workbench.redact import redact

__all__ = ["from_sdk_exception", "safe_int", "split_credentials"]


def from_sdk_exception(exc: Exception, provider: str) -> ProviderError:
    """Classify an openai/anthropic SDK exception (they share a design) without leaking headers
    or keys: error bodies that echo the key, and URLs with ``user:pass@``, are redacted."""
    err = _classify(exc, provider)
    clean = redact(str(err))
    if clean == str(err):
        return err
    return ProviderError(
        clean,
        kind=err.kind,
        retryable=err.retryable,
        retry_after=err.retry_after,
        status=err.status,
    )


def split_credentials(base_url: str | None) -> tuple[str | None, tuple[str, str] | None]:
    """``http://user:pass@host/v1`` -> (``http://host/v1``, (user, pass)): the SDKs would
    otherwise log the password with every request URL."""
    if not base_url or "@" not in base_url:
        return base_url, None
    parts = urlsplit(base_url)
    if parts.username is None and parts.password is None:
        return base_url, None
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    clean = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return clean, (unquote(parts.username or ""), unquote(parts.password or ""))


def _classify(exc: Exception, provider: str) -> ProviderError:
    name = type(exc).__name__
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        response = getattr(exc, "response", None)
        headers = dict(getattr(response, "headers", {}) or {})
        message = f"{provider} HTTP {status}: {_api_message(exc)}"
        if status == 401:
            message += " (check that the API key in the environment is valid)"
        return status_error(status, message, parse_retry_after(headers))
    if "Timeout" in name:
        return ProviderError(f"{provider}: request timed out", kind="timeout", retryable=True)
    if "Connection" in name:
        return ProviderError(
            f"{provider}: connection failed ({_cause(exc)})", kind="connection", retryable=True
        )
    if isinstance(exc, (ValueError, TypeError)) and not isinstance(exc, json.JSONDecodeError):
        # Raised by the SDK before sending: retrying cannot help.
        return ProviderError(f"{provider}: request refused by the SDK: {exc}", kind="bad_request")
    return ProviderError(
        f"{provider}: unusable response ({name}: {str(exc)[:200]})",
        kind="bad_response",
        retryable=True,
    )


def _api_message(exc: Exception) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])[:500]
    return str(getattr(exc, "message", exc))[:500]


def _cause(exc: BaseException) -> str:
    cause = exc.__cause__ or exc.__context__
    return type(cause).__name__ if cause else type(exc).__name__


def safe_int(value: Any) -> int | None:
    """A usage count if it is a sane whole number, else None (servers do send garbage)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if value < 0 or value != int(value):
        return None
    return int(value)
