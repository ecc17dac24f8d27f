"""The run table: one run's tidy results and its record, as data (no statistics, no display)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from workbench.data.formats import require_format
from workbench.engine.store import Store
from workbench.errors import WorkbenchError
from workbench.plain import plain
from workbench.results.record import RunRecord

__all__ = ["RunTable"]


@dataclass(eq=False)
class RunTable:
    """``df``: one row per (row, variant, repeat) (see :mod:`workbench.results.columns`);
    ``record``: how the run was made. ``memo`` holds statistics derived from ``df`` (the analysis
    layer fills it; replacing ``df`` makes them stale, and they are recomputed)."""

    df: pd.DataFrame
    record: RunRecord
    memo: dict[tuple[Any, ...], Any] = field(default_factory=dict, repr=False)

    @property
    def scorers(self) -> list[str]:
        """Scorer column names, in order."""
        return list(self.record.scorer_columns)

    @property
    def variants(self) -> list[str]:
        """Variant names, in order."""
        return self.record.variant_names

    @property
    def store_path(self) -> Path:
        """The store holding the run's calls and labels."""
        return Path(self.record.store)

    def save(self, path: str | Path) -> Path:
        """Write ``df`` as .csv, .jsonl or .parquet (by the file's suffix)."""
        p = Path(path)
        suffix = p.suffix.lower()
        if suffix not in (".csv", ".jsonl", ".ndjson", ".parquet", ".pq"):
            raise WorkbenchError(
                f"Cannot save results as '{suffix}': use .csv, .jsonl or .parquet."
            )
        p.parent.mkdir(parents=True, exist_ok=True)
        if suffix == ".csv":
            self.df.to_csv(p, index=False)
        elif suffix in (".jsonl", ".ndjson"):
            # Missing values (NaN, NA) become null: NaN is not JSON.
            with p.open("w", encoding="utf-8") as fh:
                for record in self.df.to_dict(orient="records"):
                    fh.write(json.dumps(plain(record), ensure_ascii=False, default=str) + "\n")
        else:
            require_format(suffix)
            try:
                self.df.to_parquet(p, index=False)
            except (ValueError, TypeError, OverflowError, NotImplementedError) as exc:  # pyarrow's
                p.unlink(missing_ok=True)
                raise WorkbenchError(
                    f"Cannot write {p} as Parquet: a column mixes value types or holds numbers "
                    f"too large for it ({str(exc)[:200]}). Save as .jsonl, or convert that "
                    f"column to text first (df[col].astype(str))."
                ) from exc
        return p

    # -- human labels ---------------------------------------------------------------------
    def set_label(
        self,
        row_id: Any,
        variant: str,
        label: str,
        comment: str = "",
        repeat: int | None = None,
    ) -> None:
        """Grade a cell by hand (every repeat, or one): saved in the store, shown in ``df``."""
        if variant not in self.variants:
            raise WorkbenchError(
                f"No variant '{variant}' in these results; variants: {self.variants}."
            )
        where = (self.df["row_id"].astype(str) == str(row_id)) & (self.df["variant"] == variant)
        if repeat is not None:
            where &= self.df["repeat"] == repeat
        if not where.any():
            raise WorkbenchError(f"No cell for row {row_id!r}, variant {variant!r}.")
        with Store(self.store_path) as store:
            for n, key in zip(
                self.df.loc[where, "repeat"], self.df.loc[where, "request_key"], strict=True
            ):
                store.put_label(
                    self.record.experiment, row_id, variant, int(n), label, comment, str(key)
                )
        for column, value in (("human_label", label), ("human_comment", comment)):
            if column not in self.df.columns:
                self.df[column] = None
            self.df[column] = self.df[column].astype(object)
            self.df.loc[where, column] = value if (label or comment) else None

    def labels(self) -> dict[tuple[str, str, int], tuple[str, str]]:
        """Human labels saved for this experiment: (row_id, variant, repeat) -> (label, comment)."""
        with Store(self.store_path) as store:
            return store.labels(self.record.experiment)

    def refresh_labels(self) -> None:
        """Re-read human labels from the store into ``df`` (e.g. graded in another kernel)."""
        self.apply_labels(self.labels())

    def apply_labels(self, found: dict[tuple[str, str, int], tuple[str, str]]) -> None:
        """Set ``human_label`` / ``human_comment`` from labels by (row_id, variant, repeat)."""
        keys = zip(
            self.df["row_id"].astype(str), self.df["variant"], self.df["repeat"], strict=True
        )
        pairs = [found.get((r, v, int(n))) for r, v, n in keys]
        for column, at in (("human_label", 0), ("human_comment", 1)):
            values = [p[at] if p else None for p in pairs]
            self.df[column] = pd.Series(values, index=self.df.index, dtype=object)
