"""Results: the tidy table of a run, with summaries and saving."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from workbench.errors import WorkbenchError

__all__ = ["Results"]


class Results:
    """The outcome of one run. ``df`` has one row per (row, variant, repeat); see
    :mod:`workbench.results.columns` for what each column holds."""

    def __init__(
        self,
        df: pd.DataFrame,
        *,
        experiment: str,
        run_id: str,
        scorers: Sequence[str],
        variants: Sequence[str],
        status: str = "complete",
        message: str = "",
        meta: dict[str, Any] | None = None,
    ) -> None:
        self.df = df
        self.experiment = experiment
        self.run_id = run_id
        self.scorers = list(scorers)
        """Scorer column names, in order."""
        self.variants = list(variants)
        self.status = status
        """complete, interrupted or budget."""
        self.message = message
        self.meta = dict(meta or {})
        """Run facts: dataset fingerprint, models, repeats, store path, timings."""

    @property
    def complete(self) -> bool:
        """True when every cell ran."""
        return self.status == "complete"

    def summary(self) -> pd.DataFrame:
        """Per variant: cells, errors, cached, pass rate and mean value per scorer, tokens,
        cost and latency."""
        rows = []
        for variant in self.variants:
            part = self.df[self.df["variant"] == variant]
            ok = part[part["error"].isna()]
            row: dict[str, Any] = {
                "variant": variant,
                "model": part["model"].iloc[0] if len(part) else None,
                "n": len(part),
                "errors": int(part["error"].notna().sum()),
                "cached": int(part["cached"].sum()),
            }
            for name in self.scorers:
                passes = part[f"{name}_pass"].dropna()
                row[f"{name}_pass_rate"] = (
                    float(passes.astype(float).mean()) if len(passes) else None
                )
                values = pd.to_numeric(part[name], errors="coerce").dropna()
                row[f"{name}_mean"] = float(values.mean()) if len(values) else None
            row["input_tokens"] = _mean(ok["input_tokens"])
            row["output_tokens"] = _mean(ok["output_tokens"])
            row["cost_usd"] = float(pd.to_numeric(part["cost_usd"], errors="coerce").sum())
            latency = pd.to_numeric(ok["latency_ms"], errors="coerce").dropna()
            row["latency_p50_ms"] = float(latency.quantile(0.5)) if len(latency) else None
            row["latency_p95_ms"] = float(latency.quantile(0.95)) if len(latency) else None
            rows.append(row)
        return pd.DataFrame(rows)

    def leaderboard(self) -> pd.DataFrame:
        """Variants ranked by the first scorer's pass rate (then fewer errors, then cost)."""
        summary = self.summary()
        keys, ascending = ["errors", "cost_usd"], [True, True]
        if self.scorers:
            keys.insert(0, f"{self.scorers[0]}_pass_rate")
            ascending.insert(0, False)
        ranked = summary.sort_values(keys, ascending=ascending, na_position="last", kind="stable")
        ranked.insert(0, "rank", range(1, len(ranked) + 1))
        return ranked.reset_index(drop=True)

    def save(self, path: str | Path) -> Path:
        """Write ``df`` as .csv, .jsonl or .parquet (by the file's suffix)."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        suffix = p.suffix.lower()
        if suffix == ".csv":
            self.df.to_csv(p, index=False)
        elif suffix in (".jsonl", ".ndjson"):
            # Missing values (NaN, NA) become null: NaN is not JSON.
            plain = self.df.astype(object).where(self.df.notna(), None)
            with p.open("w", encoding="utf-8") as fh:
                for record in plain.to_dict(orient="records"):
                    fh.write(json.dumps(record, ensure_ascii=False, default=_json_default) + "\n")
        elif suffix in (".parquet", ".pq"):
            try:
                self.df.to_parquet(p, index=False)
            except ImportError as exc:
                raise WorkbenchError(
                    "Writing Parquet needs pyarrow: pip install 'prompt-workbench[parquet]'"
                ) from exc
        else:
            raise WorkbenchError(
                f"Cannot save results as '{suffix}': use .csv, .jsonl or .parquet."
            )
        return p

    def __repr__(self) -> str:
        head = (
            f"<Results {self.experiment!r} run {self.run_id}: {len(self.df)} cells, {self.status}>"
        )
        return head + ("\n" + self.message if self.message else "")

    def _repr_html_(self) -> str:
        note = f"<p>{self.message}</p>" if self.message else ""
        return (
            f"<p><b>{self.experiment}</b> · run {self.run_id} · {len(self.df)} cells · "
            f"{self.status}</p>{note}" + self.leaderboard().to_html(index=False, na_rep="–")
        )


def _mean(series: pd.Series) -> float | None:
    values = pd.to_numeric(series, errors="coerce").dropna()
    return float(values.mean()) if len(values) else None


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if pd.isna(value):
        return None
    return str(value)
