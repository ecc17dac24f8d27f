"""Readers for dataset files; every failure names the file and, where it can, the line."""

from __future__ import annotations

import codecs
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from workbench.data.delimited import checked_sep, read_delimited, sep_label, sniff_sep
from workbench.data.formats import require_format
from workbench.errors import DatasetEncodingError, DatasetError

__all__ = ["ReadAs", "read_table", "read_text"]

_DELIMITED = (".csv", ".tsv")


@dataclass(frozen=True)
class ReadAs:
    """How a file was read, for the dataset's summary: ``CSV ';' utf-8``."""

    format: str
    sep: str | None = None
    encoding: str | None = None

    def __str__(self) -> str:
        sep = sep_label(self.sep) if self.sep is not None else None
        return " ".join(part for part in (self.format, sep, self.encoding) if part)


def read_text(path: Path, encoding: str | None = None) -> tuple[str, str]:
    """A file's text and the encoding it was read with.

    ``encoding=None`` reads UTF-8 (a byte-order mark is accepted and dropped; a UTF-16 one is
    read as UTF-16). Bytes that are not valid text raise :class:`DatasetEncodingError`.
    """
    data = path.read_bytes()
    if encoding is None:
        utf16 = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
        encoding = "utf-16" if utf16 else "utf-8"
    try:
        codec = codecs.lookup(encoding).name
    except LookupError:
        raise DatasetError(
            f"{path}: unknown encoding {encoding!r}; use e.g. 'utf-8', 'latin-1' or 'cp1252'."
        ) from None
    try:
        return data.decode("utf-8-sig" if codec == "utf-8" else encoding), encoding
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DatasetEncodingError(
            str(path), encoding, line, data[exc.start], _suggest_encoding(data, codec)
        ) from exc


def _suggest_encoding(data: bytes, failed: str) -> str:
    """cp1252 (Windows, Excel) when its typographic bytes appear and it reads the file, else
    latin-1, which reads any bytes."""
    if failed != "cp1252" and any(0x80 <= b <= 0x9F for b in data):
        try:
            data.decode("cp1252")
            return "cp1252"
        except UnicodeDecodeError:
            pass
    return "latin-1"


def read_table(
    path: Path, *, sep: str | None = None, encoding: str | None = None
) -> tuple[pd.DataFrame, ReadAs]:
    """Read CSV, TSV, JSONL/NDJSON, JSON (a list of objects) or Parquet into a DataFrame.

    ``sep=None`` sniffs a .csv file's separator (.tsv: tab); ``encoding=None`` reads UTF-8.
    """
    if not path.exists():
        raise DatasetError(f"Dataset file not found: {path} (working folder: {Path.cwd()}).")
    suffix = path.suffix.lower()
    if sep is not None:
        if suffix not in _DELIMITED:
            raise DatasetError(f"{path}: sep= applies to .csv and .tsv files, not '{suffix}'.")
        sep = checked_sep(sep)
    if suffix in _DELIMITED:
        text, used = read_text(path, encoding)
        sep = sep or ("\t" if suffix == ".tsv" else sniff_sep(text))
        return read_delimited(path, text, sep), ReadAs("CSV", sep, used)
    if suffix in (".jsonl", ".ndjson"):
        text, used = read_text(path, encoding)
        return _read_jsonl(path, text), ReadAs("JSONL", encoding=used)
    if suffix == ".json":
        text, used = read_text(path, encoding)
        return _read_json(path, text), ReadAs("JSON", encoding=used)
    if suffix in (".parquet", ".pq"):
        return _read_parquet(path), ReadAs("Parquet")
    raise DatasetError(
        f"{path}: unknown dataset format '{suffix}'. Use .csv, .tsv, .jsonl, .json or .parquet."
    )


def _read_jsonl(path: Path, text: str) -> pd.DataFrame:
    records: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(
                f"{path}, line {number}: not valid JSON ({exc.msg} at column {exc.colno})."
            ) from exc
        if not isinstance(value, dict):
            raise DatasetError(
                f"{path}, line {number}: each line must be a JSON object, got {type(value).__name__}."
            )
        records.append(value)
    return pd.DataFrame.from_records(records)


def _read_json(path: Path, text: str) -> pd.DataFrame:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{path}, line {exc.lineno}: not valid JSON ({exc.msg}).") from exc
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise DatasetError(f"{path}: a .json dataset must be a list of objects (one per row).")
    return pd.DataFrame.from_records(value)


def _read_parquet(path: Path) -> pd.DataFrame:
    require_format("parquet", "Reading")
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises many types for a bad file
        raise DatasetError(f"{path}: not a readable Parquet file ({exc}).") from exc
