"""Delimited text (CSV, TSV): the separator sniffed, every row checked, merged rows refused.

A quote opened by mistake makes a CSV parser read the following lines as one value: rows vanish
and values shift into other rows, silently. Multi-line values are legitimate (prompts have blank
lines and code blocks), so only the tell-tale shapes are refused, each naming the line where the
quoted value starts:

- a quoted value that is never closed before the end of the file;
- text right after a closing quote (``"abc"def``): a stray quote paired with a later one;
- a multi-line value whose every line reads as a row of the file on its own (the header's field
  count, no blank line, separators not followed by a space unless the file writes them so, a
  number where every other row has one), spanning three lines or more, or opening before the
  last column.

Anything subtler shows in the dataset's summary, which counts multi-line values.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from workbench.errors import DatasetError

__all__ = ["SEPARATORS", "checked_sep", "read_delimited", "sep_label", "sniff_sep"]

SEPARATORS = (",", "\t", ";", "|")
"""What ``sep=None`` chooses from; comma wins ties."""

_SNIFF_LINES = 50
_QUOTED = re.compile(r'"[^"]*(?:""[^"]*)*"')
_NUMBER = re.compile(r"[-+]?\d+(?:[.,]\d+)?")
_FIX = (
    "Fix the quotes: close each quoted value where it ends, write a quote inside a quoted value "
    'as two (""), and quote the whole value when it starts with a quote ("""Hi"" she said").'
)


def sep_label(sep: str) -> str:
    """A separator as a reader sees it in a message: ``','`` or ``tab``."""
    return "tab" if sep == "\t" else repr(sep)


def checked_sep(sep: str) -> str:
    """A separator given by the user: one character; ``tab`` and a typed ``\\t`` mean tab."""
    sep = "\t" if sep in ("tab", "\\t") else sep
    if len(sep) != 1 or sep in '"\r\n':
        raise DatasetError(
            f"sep must be one character other than a quote or line break, e.g. ',', ';', '|' or "
            f"'tab'; got {sep!r}."
        )
    return sep


def sniff_sep(text: str) -> str:
    """The separator of a delimited file, decided by its header and first lines.

    A candidate must split the header; the one that gives the header's field count on most of the
    first lines wins (then the one splitting the header into more fields); comma on a tie.
    """
    head = text.split("\n", _SNIFF_LINES)
    truncated = len(head) > _SNIFF_LINES
    sample = "\n".join(head[:_SNIFF_LINES])
    best, best_score = ",", (-1.0, 0)
    for sep in SEPARATORS:
        records = [r for r in csv.reader(io.StringIO(sample), delimiter=sep) if r]
        if truncated:
            records = records[:-1]  # may be cut in the middle of a multi-line value
        if not records or len(records[0]) < 2:
            continue
        width = len(records[0])
        body = records[1:] or records
        score = (sum(len(r) == width for r in body) / len(body), width)
        if score > best_score:
            best, best_score = sep, score
    return best


def read_delimited(path: Path, text: str, sep: str) -> pd.DataFrame:
    """Rows of a delimited file, values as text exactly as written; malformed files are refused
    naming the file and line."""
    if not text.strip():
        raise DatasetError(f"{path} is empty: add a header line and at least one row.")
    lines = text.split("\n")  # the physical lines, as csv counts them
    reader = csv.reader(io.StringIO(text), delimiter=sep, strict=True)
    rows: list[list[str]] = []
    spans: list[_Span] = []
    end = 0
    try:
        header: list[str] = []
        for row in reader:  # the first line that is not blank
            start, end = end + 1, reader.line_num
            if row and not _blank_line(row, lines, start, end):
                header = _checked_header(path, row, start)
                break
        width = len(header)
        for row in reader:
            start, end = end + 1, reader.line_num
            if len(row) == width and start == end and (width > 1 or row[0].strip()):
                rows.append(row)  # the common case, kept fast
            elif row and not _blank_line(row, lines, start, end):
                span = _Span(start, end, row)
                if len(row) != width:
                    raise DatasetError(_width_message(path, sep, header, span, lines))
                if end > start:
                    spans.append(span)
                rows.append(row)
    except csv.Error as exc:
        raise DatasetError(_malformed_message(path, sep, lines, end + 1, exc)) from exc
    _refuse_swallowed_rows(path, sep, header, rows, spans, lines)
    return pd.DataFrame(rows, columns=header, dtype=str)


@dataclass(frozen=True)
class _Span:
    """A record and the physical lines it was read from."""

    start: int
    end: int
    row: list[str]

    def opening_line(self) -> int:
        """The line where the record's first multi-line value starts."""
        line = self.start
        for value in self.row:
            if "\n" in value or "\r" in value:
                return line
            line += value.count("\n")
        return line


def _blank_line(row: list[str], lines: list[str], start: int, end: int) -> bool:
    """A line of spaces is not a row (pandas skipped it too); a quoted blank value is one."""
    return start == end and len(row) == 1 and not row[0].strip() and '"' not in lines[start - 1]


def _checked_header(path: Path, header: list[str], line: int) -> list[str]:
    blank = [i + 1 for i, name in enumerate(header) if not name.strip()]
    if blank:
        raise DatasetError(
            f"{path}, line {line}: header field(s) {blank} are empty; name every column."
        )
    return header


def _width_message(path: Path, sep: str, header: list[str], span: _Span, lines: list[str]) -> str:
    where = f"line {span.end}"
    if span.end > span.start:
        where = (
            f"the row on lines {span.start}-{span.end} (a quoted value opens on line "
            f"{span.opening_line()}: check that its quotes close where the value ends)"
        )
    hint = f"Quote values that contain the separator ({sep_label(sep)})."
    if any('"' in line for line in lines[span.start - 1 : span.end]):
        hint += " " + _FIX
    return (
        f"{path}, {where}: expected {len(header)} fields ({', '.join(header)}), "
        f"found {len(span.row)}. {hint}"
    )


def _malformed_message(path: Path, sep: str, lines: list[str], start: int, exc: csv.Error) -> str:
    """Why the record starting on line ``start`` could not be read."""
    rest = "\n".join(lines[start - 1 :])
    bad = _first_bad_quote(rest, sep)
    if bad is None:
        return f"{path}, line {start}: malformed CSV ({exc})."
    opened = start + bad.opened
    if bad.closed is None:
        last = len(lines) - (1 if lines[-1] == "" else 0)
        return (
            f"{path}, line {opened}: the quote that opens a value here is never closed: the "
            f"value runs to the end of the file (line {last}). {_FIX}"
        )
    return (
        f"{path}, line {opened}: the quoted value that starts here ends at a quote on line "
        f"{start + bad.closed} followed by {bad.after!r} instead of {sep_label(sep)} or the "
        f"end of the line. {_FIX}"
    )


@dataclass(frozen=True)
class _BadQuote:
    opened: int
    """Lines between the start of the scanned text and the opening quote."""
    closed: int | None
    """Lines to the closing quote; None when it never closes."""
    after: str = ""
    """The text right after the closing quote."""


def _first_bad_quote(text: str, sep: str) -> _BadQuote | None:
    """The first quoted value in ``text`` that never closes or has text after its closing quote
    (the two cases csv's strict mode refuses)."""
    unquoted = re.compile(f"[^{re.escape(sep)}\r\n]*")
    pos = 0
    while pos < len(text):
        if text[pos] == '"':
            quoted = _QUOTED.match(text, pos)
            if quoted is None:
                return _BadQuote(text.count("\n", 0, pos), None)
            pos = quoted.end()
            if pos < len(text) and text[pos] not in (sep, "\r", "\n"):
                after = text[pos : pos + 20].splitlines()[0]
                return _BadQuote(
                    text.count("\n", 0, quoted.start()), text.count("\n", 0, pos), after
                )
        else:
            field = unquoted.match(text, pos)
            pos = field.end() if field else pos
        pos += 1  # the separator or line break after the field
    return None


def _refuse_swallowed_rows(
    path: Path,
    sep: str,
    header: list[str],
    rows: list[list[str]],
    spans: list[_Span],
    lines: list[str],
) -> None:
    """Refuse a multi-line value whose every line reads as a row of the file on its own; two
    lines ending in the last column are too little to tell prose from rows."""
    width = len(header)
    suspects = [
        span
        for span in spans
        if width >= 2
        and (span.end - span.start >= 2 or _first_multiline(span.row) < width - 1)
        and all(_has_fields(line, sep, width) for line in lines[span.start - 1 : span.end])
    ]
    if not suspects:
        return
    shape = _RowShape.of([row for row in rows if not any("\n" in v for v in row)], width)
    for span in suspects:
        physical = lines[span.start - 1 : span.end]
        if all(shape.fits(line.rstrip("\r").split(sep)) for line in physical):
            count = span.end - span.start + 1
            raise DatasetError(
                f"{path}, line {span.opening_line()}: the quoted value that starts here runs to "
                f"line {span.end}, and each of lines {span.start}-{span.end} reads as a row of "
                f"its own ({width} fields): {count} rows would be read as one. {_FIX} If the "
                f"value really holds these lines, save the data as .jsonl instead."
            )


@dataclass(frozen=True)
class _RowShape:
    """What the file's single-line rows look like, to tell a swallowed row from a line of prose."""

    spaced: bool
    """Some value starts with a space: the file writes ``a, b`` (as prose does)."""
    numeric: tuple[int, ...]
    """Columns holding a number in every row (ids, counts)."""

    @classmethod
    def of(cls, rows: list[list[str]], width: int) -> _RowShape:
        spaced = any(value[:1].isspace() for row in rows for value in row[1:])
        numeric = tuple(
            i for i in range(width) if rows and all(_NUMBER.fullmatch(r[i]) for r in rows)
        )
        return cls(spaced, numeric)

    def fits(self, parts: list[str]) -> bool:
        """Whether the parts of a physical line look like one of those rows."""
        if not self.spaced and any(p[:1].isspace() for p in parts[1:]):
            return False  # ", " is prose
        return all(_NUMBER.fullmatch(parts[i].strip().strip('"')) for i in self.numeric)


def _first_multiline(row: list[str]) -> int:
    return next(i for i, v in enumerate(row) if "\n" in v or "\r" in v)


def _has_fields(line: str, sep: str, width: int) -> bool:
    """Whether a physical line, split at every separator, has ``width`` fields (and is not blank)."""
    return bool(line.strip()) and line.count(sep) == width - 1
