"""Dataset: the rows every variant runs on."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from workbench.data.readers import ReadAs, read_table
from workbench.errors import DatasetError
from workbench.plain import plain

__all__ = ["Dataset"]


class Dataset:
    """Rows to run prompts on, over a pandas DataFrame.

    ``Dataset(df)`` or ``Dataset.from_file("questions.csv")`` (.csv, .tsv, .jsonl, .json, .parquet).
    Each row gets a ``row_id``: the ``id_column`` (default: a column named ``id`` if there is one),
    otherwise its position. ``repr`` (and ``workbench run``) show how many rows and multi-line
    values were read, and how: ``<Dataset 'q': 3 rows (1 multi-line value), columns [...], read
    as CSV ',' utf-8>``.
    """

    read_as: ReadAs | None
    """How the file was read (format, separator, encoding); None for a DataFrame."""

    def __init__(
        self,
        df: pd.DataFrame,
        *,
        name: str | None = None,
        id_column: str | None = None,
        path: Path | None = None,
    ) -> None:
        if not isinstance(df, pd.DataFrame):
            raise DatasetError(
                f"Dataset wants a pandas DataFrame, got {type(df).__name__}; "
                f"for a file use Dataset.from_file(path)."
            )
        where = str(path) if path else (name or "the dataset")
        if df.empty or len(df.columns) == 0:
            raise DatasetError(f"{where} has no rows: add at least one row to run on.")
        bad = [c for c in df.columns if not isinstance(c, str) or not c.strip()]
        if bad:
            raise DatasetError(f"{where}: column names must be non-empty text, got {bad!r}.")
        if df.columns.duplicated().any():
            dupes = sorted(set(df.columns[df.columns.duplicated()]))
            raise DatasetError(f"{where}: duplicate column name(s) {dupes}.")
        if id_column is None and "id" in df.columns:
            id_column = "id"
        if id_column is not None:
            if id_column not in df.columns:
                raise DatasetError(
                    f"{where}: id_column '{id_column}' is not a column; columns: {list(df.columns)}."
                )
            ids = df[id_column].map(str)
            dupes = sorted(set(ids[ids.duplicated()]))[:5]
            if dupes:
                raise DatasetError(
                    f"{where}: id column '{id_column}' has duplicate values {dupes}; ids must be unique."
                )
        self.df = df.reset_index(drop=True)
        self.name = name or (path.stem if path else "dataset")
        self.id_column = id_column
        self.path = path
        self.read_as = None

    @classmethod
    def from_file(
        cls,
        path: str | Path,
        *,
        id_column: str | None = None,
        sep: str | None = None,
        encoding: str | None = None,
    ) -> Dataset:
        """Read a dataset file; malformed files fail with the file name and line.

        ``sep``: a CSV's separator; None sniffs ``,`` ``;`` tab ``|`` from the header and first
        lines (.tsv: tab). ``encoding``: None reads UTF-8 (with or without a byte-order mark);
        e.g. ``"latin-1"`` or ``"cp1252"`` for files saved by older Windows tools.
        """
        p = Path(path)
        df, read_as = read_table(p, sep=sep, encoding=encoding)
        dataset = cls(df, name=p.stem, id_column=id_column, path=p)
        dataset.read_as = read_as
        return dataset

    @property
    def columns(self) -> list[str]:
        """Column names, in order."""
        return [str(c) for c in self.df.columns]

    def __len__(self) -> int:
        return len(self.df)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.rows)

    def __repr__(self) -> str:
        return f"<Dataset {self.name!r}: {self.summary()}>"

    def summary(self) -> str:
        """One line: rows and multi-line values read, columns, and how the file was read."""
        rows = _count(len(self), "row")
        if self.multiline_values:
            rows += f" ({_count(self.multiline_values, 'multi-line value')})"
        columns = self.columns
        shown = repr(columns[:_SHOWN_COLUMNS])
        if len(columns) > _SHOWN_COLUMNS:
            shown = f"{shown[:-1]}, ... +{len(columns) - _SHOWN_COLUMNS} more]"
        read = f", read as {self.read_as}" if self.read_as else ""
        return f"{rows}, columns {shown}{read}"

    @cached_property
    def multiline_values(self) -> int:
        """How many text values span more than one line (a merged CSV row shows up here)."""
        count = 0
        for _, column in self.df.items():
            if isinstance(column.dtype, pd.StringDtype):
                count += int(column.str.contains("[\r\n]", regex=True, na=False).sum())
            elif column.dtype == object:
                count += int(column.map(_is_multiline).sum())
        return count

    @cached_property
    def rows(self) -> list[dict[str, Any]]:
        """Rows as plain dicts (numpy scalars made Python, missing values None)."""
        records = self.df.to_dict(orient="records")
        return [{str(k): plain(v) for k, v in r.items()} for r in records]

    @cached_property
    def row_ids(self) -> list[str]:
        """The id of each row, as text."""
        if self.id_column is None:
            return [str(i) for i in range(len(self))]
        return [str(r[self.id_column]) for r in self.rows]

    @cached_property
    def fingerprint(self) -> str:
        """sha256 of the columns and values: changes when any value changes."""
        body = json.dumps(
            {"columns": self.columns, "rows": self.rows},
            sort_keys=True,
            ensure_ascii=False,
            separators=(",", ":"),
            default=str,
        )
        return hashlib.sha256(body.encode()).hexdigest()

    def describe_source(self) -> str:
        """Where the rows came from, for messages."""
        return str(self.path) if self.path else f"dataset '{self.name}'"


_SHOWN_COLUMNS = 8


def _is_multiline(value: Any) -> bool:
    return isinstance(value, str) and ("\n" in value or "\r" in value)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
