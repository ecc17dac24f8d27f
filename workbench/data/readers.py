"""Readers for dataset files; every failure names the file and, where it can, the line."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pandas as pd

from workbench.errors import DatasetError

__all__ = ["read_table"]


def read_text(path: Path, encoding: str = "utf-8") -> str:
    """A file's text; a decoding error names the line and suggests the fix."""
    data = path.read_bytes()
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DatasetError(
            f"{path}: not valid {encoding} text (byte 0x{data[exc.start]:02x} on line {line}). "
            f"Re-save the file as UTF-8, or pass encoding='latin-1' (or the file's real encoding)."
        ) from exc


def read_table(path: Path, encoding: str = "utf-8") -> pd.DataFrame:
    """Read CSV, TSV, JSONL/NDJSON, JSON (a list of objects) or Parquet into a DataFrame."""
    if not path.exists():
        raise DatasetError(f"Dataset file not found: {path} (working folder: {Path.cwd()}).")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        return _read_csv(path, encoding, "\t" if suffix == ".tsv" else ",")
    if suffix in (".jsonl", ".ndjson"):
        return _read_jsonl(path, encoding)
    if suffix == ".json":
        return _read_json(path, encoding)
    if suffix in (".parquet", ".pq"):
        return _read_parquet(path)
    raise DatasetError(
        f"{path}: unknown dataset format '{suffix}'. Use .csv, .tsv, .jsonl, .json or .parquet."
    )


def _read_csv(path: Path, encoding: str, sep: str) -> pd.DataFrame:
    text = read_text(path, encoding)
    if not text.strip():
        raise DatasetError(f"{path} is empty: add a header line and at least one row.")
    # Check row widths ourselves: pandas' messages do not always give the line.
    reader = csv.reader(io.StringIO(text), delimiter=sep)
    try:
        header = next(reader)
        blank = [i + 1 for i, name in enumerate(header) if not name.strip()]
        if blank:
            raise DatasetError(
                f"{path}, line 1: header field(s) {blank} are empty; name every column."
            )
        for row in reader:
            if row and len(row) != len(header):
                raise DatasetError(
                    f"{path}, line {reader.line_num}: expected {len(header)} fields "
                    f"({', '.join(header)}), found {len(row)}. Quote values that contain '{sep}'."
                )
    except csv.Error as exc:
        raise DatasetError(f"{path}, line {reader.line_num}: malformed CSV ({exc}).") from exc
    # Values are kept as text, exactly as in the file: prompts see "007", not 7.
    return pd.read_csv(
        io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, na_filter=False
    )


def _read_jsonl(path: Path, encoding: str) -> pd.DataFrame:
    records: list[dict[str, Any]] = []
    for number, line in enumerate(read_text(path, encoding).splitlines(), start=1):
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


def _read_json(path: Path, encoding: str) -> pd.DataFrame:
    try:
        value = json.loads(read_text(path, encoding))
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{path}, line {exc.lineno}: not valid JSON ({exc.msg}).") from exc
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise DatasetError(f"{path}: a .json dataset must be a list of objects (one per row).")
    return pd.DataFrame.from_records(value)


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        import pyarrow  # type: ignore[import-untyped,unused-ignore]  # noqa: F401
    except ImportError as exc:
        raise DatasetError(
            "Reading Parquet needs pyarrow: pip install 'prompt-workbench[parquet]'."
        ) from exc
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises many types for a bad file
        raise DatasetError(f"{path}: not a readable Parquet file ({exc}).") from exc
