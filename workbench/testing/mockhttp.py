"""HTTP/1.1 framing of the mock LLM server, without sockets: read one request (Content-Length or
chunked), write a response head. ``workbench.testing.mockserver`` serves with it."""

from __future__ import annotations

import asyncio
import email.utils
from collections.abc import Sequence
from dataclasses import dataclass
from http import HTTPStatus

__all__ = ["MAX_BODY", "MAX_HEAD", "HttpError", "HttpRequest", "read_request", "response_head"]

MAX_HEAD = 64 * 1024
MAX_BODY = 16 * 1024 * 1024


class HttpError(Exception):
    """A request that cannot be framed; answered with ``status`` and the connection closed."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class HttpRequest:
    """One parsed request; header names are lower-case."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    keep_alive: bool


def response_head(
    status: int,
    length: int,
    keep_alive: bool,
    extra: Sequence[tuple[str, str]] = (),
    content_type: str = "application/json",
) -> bytes:
    """Status line and headers of a response with a ``Content-Length`` body."""
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Overloaded" if status == 529 else "Unknown"
    lines = [
        f"HTTP/1.1 {status} {reason}",
        f"Date: {email.utils.formatdate(usegmt=True)}",
        "Server: workbench-mock",
        f"Content-Type: {content_type}",
        f"Content-Length: {length}",
        f"Connection: {'keep-alive' if keep_alive else 'close'}",
        *(f"{k}: {v}" for k, v in extra),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    for _ in range(MAX_BODY):  # every chunk but the last has >= 1 byte: bounded
        size_line = await reader.readuntil(b"\r\n")
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise HttpError(400, "bad chunk size") from None
        if size < 0 or len(body) + size > MAX_BODY:
            raise HttpError(413, "request body too large")
        if size == 0:
            for _ in range(100):  # trailers
                if await reader.readuntil(b"\r\n") == b"\r\n":
                    return bytes(body)
            raise HttpError(400, "too many trailers")
        body += await reader.readexactly(size)
        if await reader.readexactly(2) != b"\r\n":
            raise HttpError(400, "bad chunk terminator")
    raise HttpError(413, "request body too large")


def _parse_head(head: bytes) -> tuple[str, str, str, dict[str, str]]:
    lines = head.decode("latin-1").lstrip("\r\n").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/") or not parts[1].startswith("/"):
        raise HttpError(400, "malformed request line")
    method, target, version = parts
    if version not in ("HTTP/1.0", "HTTP/1.1"):
        raise HttpError(505, "HTTP version not supported")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip() or " " in name:
            raise HttpError(400, "malformed header line")
        key, value = name.lower(), value.strip()
        if key == "content-length" and headers.get(key, value) != value:
            raise HttpError(400, "conflicting Content-Length headers")
        merge = key in headers and key != "content-length"
        headers[key] = f"{headers[key]}, {value}" if merge else value
    return method, target.split("?", 1)[0], version, headers


async def read_request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, idle_timeout: float
) -> HttpRequest | None:
    """Read one request: ``None`` on a clean close or idle timeout, ``HttpError`` if malformed."""
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), idle_timeout)
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise HttpError(400, "incomplete request head") from None
        return None
    except asyncio.LimitOverrunError:
        raise HttpError(431, "request head too large") from None
    except TimeoutError:
        return None
    method, path, version, headers = _parse_head(head)
    tokens = {t.strip().lower() for t in headers.get("connection", "").split(",")}
    keep_alive = "close" not in tokens if version == "HTTP/1.1" else "keep-alive" in tokens
    length = headers.get("content-length")
    chunked = "transfer-encoding" in headers
    if chunked and (length is not None or headers["transfer-encoding"].lower() != "chunked"):
        raise HttpError(400, "unsupported Transfer-Encoding")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
        raise HttpError(413 if length.isdigit() else 400, "bad or too large Content-Length")
    if headers.get("expect", "").lower() == "100-continue":
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    if chunked:
        body = await asyncio.wait_for(_read_chunked(reader), idle_timeout)
    else:
        body = await asyncio.wait_for(reader.readexactly(int(length or 0)), idle_timeout)
    return HttpRequest(method, path, headers, body, keep_alive)
