"""The comparison grid's logic, in plain Python: group repeats, filter, sort, page, diff.

No widget imports: :class:`GridModel` turns ``Results.df`` into one page of JSON-ready rows (a
dataset row × every variant side by side) and a cell's full detail. The widget only forwards.
"""

from __future__ import annotations

import difflib
import html
import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from workbench.analysis.report import answers
from workbench.providers.tools import compact, signatures
from workbench.results.columns import RESERVED, SCORER_SUFFIXES

__all__ = ["SORT_KEYS", "Filters", "GridModel", "Sort", "word_diff"]

SORT_KEYS = ("row", "pass", "score", "tokens", "latency", "cost", "distinct", "errors")
"""Metrics the grid sorts by (``row`` keeps dataset order)."""

_TRUNCATE = 400
_USAGE_DETAIL = ("reasoning_tokens", "cached_input_tokens", "cache_write_tokens")
_TOKEN = re.compile(r"\s*\S+\s*|\s+")  # a word with the spaces around it


@dataclass(frozen=True)
class Filters:
    """Which rows to show. ``scorer`` narrows failures / disagreements to one scorer."""

    failures: bool = False
    """Only rows where some variant failed a check (or a call failed)."""
    disagree: bool = False
    """Only rows where the variants' verdicts differ."""
    search: str = ""
    """Case-insensitive text in the inputs, any output or tool call."""
    scorer: str | None = None
    other_tool: bool = False
    """Only rows where a variant called a different tool (or tools, in another order) than the
    baseline variant (the first one when no baseline is chosen), in most of its repeats."""

    @classmethod
    def of(cls, data: Mapping[str, Any] | None) -> Filters:
        """From the widget's ``filters`` dict (unknown keys ignored)."""
        data = data or {}
        return cls(
            failures=bool(data.get("failures")),
            disagree=bool(data.get("disagree")),
            search=str(data.get("search") or ""),
            scorer=data.get("scorer") or None,
            other_tool=bool(data.get("other_tool")),
        )


@dataclass(frozen=True)
class Sort:
    """Order of rows: a metric of one variant (``variant=None``: the mean over variants)."""

    by: str = "row"
    variant: str | None = None
    desc: bool = False
    scorer: str | None = None
    """Scorer for ``pass`` / ``score`` (default: the first)."""

    @classmethod
    def of(cls, data: Mapping[str, Any] | None) -> Sort:
        """From the widget's ``sort`` dict."""
        data = data or {}
        by = str(data.get("by") or "row")
        if by not in SORT_KEYS:
            raise ValueError(f"Cannot sort by {by!r}; choose one of {', '.join(SORT_KEYS)}.")
        return cls(by, data.get("variant") or None, bool(data.get("desc")), data.get("scorer"))


def word_diff(base: str, other: str) -> str:
    """HTML of ``other`` with words not in ``base`` in ``<ins>`` and removed ones in ``<del>``."""
    a, b = _TOKEN.findall(base), _TOKEN.findall(other)
    out: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(html.escape("".join(b[j1:j2])))
            continue
        if op in ("delete", "replace"):
            out.append(f'<del class="wb-del">{html.escape("".join(a[i1:i2]))}</del>')
        if op in ("insert", "replace"):
            out.append(f'<ins class="wb-ins">{html.escape("".join(b[j1:j2]))}</ins>')
    return "".join(out)


def _text(value: Any, limit: int | None = _TRUNCATE) -> str:
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):  # a list: not missing
        return ""
    text = str(value)
    return text if limit is None or len(text) <= limit else text[:limit] + "…"


def _num(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(number) else number


@dataclass
class GridModel:
    """Grouped view of ``df``: one entry per (row, variant) cell, computed once."""

    df: pd.DataFrame
    variants: Sequence[str]
    scorers: Sequence[str]
    labels: dict[tuple[str, str, int], tuple[str, str]] = field(default_factory=dict)
    """Human labels by (row_id, variant, repeat): (label, comment)."""

    def __post_init__(self) -> None:
        df = self.df
        self.variants = list(self.variants)
        self.scorers = list(self.scorers)
        scorer_cols = {s + x for s in self.scorers for x in SCORER_SUFFIXES}
        self.inputs = [c for c in df.columns if c not in RESERVED and c not in scorer_cols]
        self.row_ids: list[Any] = list(dict.fromkeys(df["row_id"]))
        self._row_pos = {str(r): i for i, r in enumerate(self.row_ids)}
        self._var_pos = {v: j for j, v in enumerate(self.variants)}
        frame = df.assign(
            _r=df["row_id"].astype(str).map(self._row_pos),
            _v=df["variant"].map(self._var_pos),
            _tok=pd.to_numeric(df["input_tokens"], errors="coerce").astype(float)
            + pd.to_numeric(df["output_tokens"], errors="coerce").astype(float),
            _lat=pd.to_numeric(df["latency_ms"], errors="coerce").astype(float),
            _cost=pd.to_numeric(df["cost_usd"], errors="coerce").astype(float),
            _err=df["error"].notna().astype(float),
            _starved=(
                df["starved"].fillna(False).astype(float)
                if "starved" in df
                else pd.Series(0.0, index=df.index)
            ),
        ).sort_values(["_r", "_v", "repeat"], kind="stable")
        self._frame = frame.reset_index(drop=True)
        shape = (len(self.row_ids), len(self.variants))
        r, v = frame["_r"].to_numpy(dtype=np.int64), frame["_v"].to_numpy(dtype=np.int64)
        at = (r, v)
        cell_key = r * len(self.variants) + v
        _, first, counts = np.unique(cell_key, return_index=True, return_counts=True)
        self._cells: dict[tuple[int, int], range] = {
            (int(r[i]), int(v[i])): range(int(i), int(i + c))
            for i, c in zip(first, counts, strict=True)
        }
        """Positions in ``_frame`` of each cell's repeats (rows are sorted by cell)."""
        codes, _ = pd.factorize(answers(frame))  # repeats differ by output or tool calls
        shown = codes >= 0
        pairs = np.unique(cell_key[shown] * (codes.max() + 2) + codes[shown])
        self.m = {
            "n": _grid_sum(shape, at, np.ones(len(frame))),
            "errors": _grid_sum(shape, at, frame["_err"].to_numpy(dtype=float)),
            "starved": _grid_sum(shape, at, frame["_starved"].to_numpy(dtype=float)),
            "tokens": _grid_mean(shape, at, frame["_tok"].to_numpy(dtype=float)),
            "latency": _grid_mean(shape, at, frame["_lat"].to_numpy(dtype=float)),
            "cost": _grid_sum(shape, at, np.nan_to_num(frame["_cost"].to_numpy(dtype=float))),
            "distinct": _grid_sum(
                shape,
                (
                    pairs // (codes.max() + 2) // len(self.variants),
                    pairs // (codes.max() + 2) % len(self.variants),
                ),
                np.ones(len(pairs)),
                empty=0.0,
            ),
        }
        self.m["n"][self.m["n"] == 0] = np.nan  # a cell absent from the table
        self.passed: dict[str, np.ndarray] = {}
        self.scored: dict[str, np.ndarray] = {}
        self.score: dict[str, np.ndarray] = {}
        for s in self.scorers:
            ok = frame[f"{s}_pass"].astype("float64").to_numpy(dtype=float)
            self.passed[s] = _grid_sum(shape, at, np.nan_to_num(ok))
            self.scored[s] = _grid_sum(shape, at, (~np.isnan(ok)).astype(float))
            value = pd.to_numeric(frame[s], errors="coerce").to_numpy(dtype=float)
            self.score[s] = _grid_mean(shape, at, value)
        outputs = frame["output"].tolist()
        self._first = {(int(r[i]), int(v[i])): outputs[i] for i in first}
        calls = frame["tool_calls"].tolist() if "tool_calls" in frame else [None] * len(frame)
        self._calls: list[list[dict[str, Any]]] = [c if isinstance(c, list) else [] for c in calls]
        self._tools = _ToolModes(self._cells, self._calls) if any(self._calls) else None
        first_rows = frame.drop_duplicates("_r").set_index("_r")
        self._input_rows: dict[int, dict[str, Any]] = {
            int(i): {str(k): x for k, x in rec.items()}
            for i, rec in zip(
                first_rows.index, first_rows[self.inputs].to_dict(orient="records"), strict=True
            )
        }
        hay: list[list[str]] = [[] for _ in self.row_ids]
        for i, rec in self._input_rows.items():
            hay[i].extend(_text(x, None) for x in rec.values())
        for i, out, made in zip(r, outputs, self._calls, strict=True):
            hay[i].append(_text(out, None))
            hay[i].extend(compact(c) for c in made)
        self._haystack = np.array([" ".join(h).lower() for h in hay], dtype=object)
        self._by_cell = {(r, v): lab for (r, v, _), lab in sorted(self.labels.items())}

    # -- selection ------------------------------------------------------------------------
    def _checks(self, scorer: str | None) -> list[str]:
        if scorer is None:
            return list(self.scorers)
        if scorer not in self.scorers:
            raise ValueError(f"No scorer {scorer!r}; scorers: {list(self.scorers)}.")
        return [scorer]

    def select(self, filters: Filters, sort: Sort, baseline: str | None = None) -> np.ndarray:
        """Row positions that pass ``filters``, in ``sort`` order (``baseline``: the variant
        the ``other_tool`` filter compares with; default the first)."""
        keep = np.ones(len(self.row_ids), dtype=bool)
        checks = self._checks(filters.scorer)
        if filters.other_tool:
            base = self._var_pos.get(baseline or self.variants[0], 0)
            tools = self._tools
            keep &= np.fromiter(
                (
                    tools is not None and tools.differs(i, base, len(self.variants))
                    for i in range(len(self.row_ids))
                ),
                bool,
                len(self.row_ids),
            )
        if filters.failures:
            bad = (self.m["errors"] > 0).any(axis=1)
            for s in checks:
                bad |= (self.passed[s] < self.scored[s]).any(axis=1)
            keep &= bad
        if filters.disagree:
            split = np.zeros(len(self.row_ids), dtype=bool)
            for s in checks:
                verdict = np.where(
                    self.scored[s] > 0, (2 * self.passed[s] > self.scored[s]).astype(float), np.nan
                )
                lo, hi = np.nanmin(_nan_ok(verdict), axis=1), np.nanmax(_nan_ok(verdict), axis=1)
                split |= lo != hi
            keep &= split
        if filters.search.strip():
            needle = filters.search.strip().lower()
            keep &= np.fromiter((needle in h for h in self._haystack), bool, len(self._haystack))
        rows = np.flatnonzero(keep)
        if sort.by == "row":
            return rows[::-1] if sort.desc else rows
        key = self.metric(sort.by, sort.scorer)
        if sort.variant is not None:
            values = key[:, self._var_pos[sort.variant]]
        else:
            values = np.nanmean(_nan_ok(key), axis=1)
        values = values[rows]
        order = np.argsort(-values if sort.desc else values, kind="stable")
        nan_last = np.isnan(values[order])
        return np.concatenate([rows[order][~nan_last], rows[order][nan_last]])

    def metric(self, by: str, scorer: str | None = None) -> np.ndarray:
        """(rows × variants) values of a sort metric."""
        s = self._checks(scorer)[0] if scorer else (self.scorers[0] if self.scorers else None)
        if by in ("pass", "score"):
            if s is None:
                return np.full((len(self.row_ids), len(self.variants)), np.nan)
            if by == "pass":
                with np.errstate(invalid="ignore", divide="ignore"):
                    rate: np.ndarray = self.passed[s] / self.scored[s]
                    return rate
            return self.score[s]
        return self.m[by]

    # -- output ---------------------------------------------------------------------------
    def page(
        self,
        filters: Filters | None = None,
        sort: Sort | None = None,
        page: int = 0,
        page_size: int = 25,
        baseline: str | None = None,
    ) -> dict[str, Any]:
        """One page: ``rows`` (JSON-ready), ``total`` matching rows, ``pages``, ``page``."""
        rows = self.select(filters or Filters(), sort or Sort(), baseline)
        size = max(1, int(page_size))
        pages = max(1, -(-len(rows) // size))
        page = min(max(0, int(page)), pages - 1)
        chosen = rows[page * size : (page + 1) * size]
        return {
            "rows": [self.row(int(r), baseline) for r in chosen],
            "total": len(rows),
            "pages": pages,
            "page": page,
        }

    def row(self, r: int, baseline: str | None = None) -> dict[str, Any]:
        """One grid row: inputs and a cell per variant."""
        base_j = self._var_pos.get(baseline) if baseline else None
        base_out = self._said(r, base_j) if base_j is not None else ""
        row_id = self.row_ids[r]
        inputs = self._input_rows.get(r)
        cells = []
        for j, variant in enumerate(self.variants):
            if np.isnan(self.m["n"][r, j]):
                cells.append({"variant": variant, "missing": True})
                continue
            out = _text(self._first.get((r, j)), None)
            made = self._calls[self._cells[(r, j)][0]]
            checks = {}
            for s in self.scorers:
                k, m = self.passed[s][r, j], self.scored[s][r, j]
                state = "none" if m == 0 else "pass" if k == m else "fail" if k == 0 else "mixed"
                checks[s] = {"k": int(k), "n": int(m), "state": state}
            first_score = self.score[self.scorers[0]][r, j] if self.scorers else np.nan
            label, comment = self._cell_label(row_id, variant)
            cells.append(
                {
                    "variant": variant,
                    "output": _text(out),
                    "diff": (
                        word_diff(base_out, self._said(r, j))[: _TRUNCATE * 3]
                        if base_j is not None and j != base_j
                        else None
                    ),
                    "tool_calls": [compact(c) for c in made],
                    "tools_invalid": any(c.get("invalid") for c in made),
                    "tools_mode": self._tools.mode(r, j) if self._tools is not None else None,
                    "checks": checks,
                    "score": _num(first_score),
                    "tokens": _num(self.m["tokens"][r, j]),
                    "latency_ms": _num(self.m["latency"][r, j]),
                    "cost_usd": _num(self.m["cost"][r, j]),
                    "n": int(self.m["n"][r, j]),
                    "errors": int(self.m["errors"][r, j]),
                    "starved": int(self.m["starved"][r, j]),
                    "distinct": int(self.m["distinct"][r, j]),
                    "label": label,
                    "comment": comment,
                }
            )
        values = {} if inputs is None else {c: _text(inputs[c], 200) for c in self.inputs}
        return {"row_id": _plain(row_id), "inputs": values, "cells": cells}

    def _said(self, r: int, j: int) -> str:
        """The first repeat's output and tool calls as text (what the diff compares)."""
        at = self._cells.get((r, j))
        text = _text(self._first.get((r, j)), None)
        if at is None or not self._calls[at[0]]:
            return text
        shown = "\n".join(f"→ {compact(c)}" for c in self._calls[at[0]])
        return f"{text}\n{shown}" if text else shown

    def _cell_label(self, row_id: Any, variant: str) -> tuple[str, str]:
        return self._by_cell.get((str(row_id), variant), ("", ""))

    def set_label(self, row_id: Any, variant: str, repeat: int, label: str, comment: str) -> None:
        """Record a human label (the caller saves it in the store)."""
        self.labels[(str(row_id), variant, int(repeat))] = (label, comment)
        self._by_cell[(str(row_id), variant)] = (label, comment)

    def detail(
        self, row_id: Any, variant: str, raw: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Everything about one cell: per repeat the messages, output, raw response (from
        ``raw`` by request key), usage, and each scorer's value, verdict and reason."""
        r, j = self._row_pos.get(str(row_id)), self._var_pos.get(variant)
        if r is None or j is None:
            raise ValueError(f"No cell for row {row_id!r} and variant {variant!r}.")
        at = list(self._cells.get((r, j), range(0)))
        part = self._frame.iloc[at]
        repeats = []
        for i, (_, rec) in zip(at, part.iterrows(), strict=True):
            scores = [
                {
                    "scorer": s,
                    "value": _plain(rec[s]),
                    "passed": None if pd.isna(rec[f"{s}_pass"]) else bool(rec[f"{s}_pass"]),
                    "reason": _text(rec[f"{s}_reason"], None),
                }
                for s in self.scorers
            ]
            label = self.labels.get((str(row_id), variant, int(rec["repeat"])), ("", ""))
            trajectory = rec.get("trajectory")
            repeats.append(
                {
                    "repeat": int(rec["repeat"]),
                    "messages": _messages(rec["messages"]),
                    "output": _text(rec["output"], None),
                    "tool_calls": self._calls[i],
                    "trajectory": trajectory if isinstance(trajectory, list) else None,
                    "error": _text(rec["error"], None),
                    "finish_reason": _text(rec["finish_reason"], None),
                    "raw": (raw or {}).get(str(rec["request_key"])),
                    "input_tokens": _plain(rec["input_tokens"]),
                    "output_tokens": _plain(rec["output_tokens"]),
                    **{k: _plain(rec.get(k)) for k in _USAGE_DETAIL},
                    "reasoning": _text(rec.get("reasoning"), None) or None,
                    "parsed": _json_value(rec.get("parsed")),
                    "starved": bool(rec.get("starved", False)),
                    "ttft_ms": _num(rec.get("ttft_ms")),
                    "latency_ms": _num(rec["latency_ms"]),
                    "cost_usd": _num(rec["cost_usd"]),
                    "cached": bool(rec["cached"]),
                    "request_key": str(rec["request_key"]),
                    "scores": scores,
                    "label": label[0],
                    "comment": label[1],
                }
            )
        inputs = {c: _text(x, None) for c, x in self._input_rows.get(r, {}).items()}
        return {"row_id": _plain(row_id), "variant": variant, "inputs": inputs, "repeats": repeats}

    def repeats_of(self, row_id: Any, variant: str) -> list[tuple[int, str]]:
        """(repeat, request_key) of every repeat in a cell."""
        r, j = self._row_pos.get(str(row_id)), self._var_pos.get(variant)
        if r is None or j is None:
            return []
        part = self._frame.iloc[list(self._cells.get((r, j), range(0)))]
        return [(int(a), str(b)) for a, b in zip(part["repeat"], part["request_key"], strict=True)]


class _ToolModes:
    """Per cell, the tool calls most of its repeats made: to say "4 of 5 repeats call
    lookup_order(order_id="42")" and to find cells that call other tools than the baseline."""

    def __init__(
        self, cells: Mapping[tuple[int, int], range], calls: Sequence[list[dict[str, Any]]]
    ) -> None:
        self.modes: dict[tuple[int, int], tuple[tuple[str, ...], str, int, int]] = {}
        for cell, at in cells.items():
            seen = Counter(signatures(calls[i]) for i in at)
            top, count = seen.most_common(1)[0]
            example = next(calls[i] for i in at if signatures(calls[i]) == top)
            names = tuple(c["name"] for c in example)
            shown = ", ".join(compact(c, 80) for c in example) or "no tool"
            self.modes[cell] = (names, shown, count, len(at))

    def mode(self, r: int, j: int) -> str | None:
        """``4 of 5 repeats call lookup_order(order_id="42")`` (None: one repeat)."""
        found = self.modes.get((r, j))
        if found is None or found[3] < 2:
            return None
        _, shown, count, n = found
        return f"{count} of {n} repeats call {shown}"

    def differs(self, r: int, base: int, variants: int) -> bool:
        """A variant's usual tools differ from the baseline's on row ``r``."""
        mine = self.modes.get((r, base))
        if mine is None:
            return False
        return any(
            (r, j) in self.modes and self.modes[(r, j)][0] != mine[0]
            for j in range(variants)
            if j != base
        )


def _grid_sum(
    shape: tuple[int, int],
    at: tuple[np.ndarray, np.ndarray],
    values: np.ndarray,
    empty: float = 0.0,
) -> np.ndarray:
    grid = np.full(shape, empty)
    np.add.at(grid, at, values)
    return grid


def _grid_mean(
    shape: tuple[int, int], at: tuple[np.ndarray, np.ndarray], values: np.ndarray
) -> np.ndarray:
    """Mean per cell ignoring NaN; NaN where a cell has no value."""
    seen = ~np.isnan(values)
    total = _grid_sum(shape, at, np.where(seen, values, 0.0))
    count = _grid_sum(shape, at, seen.astype(float))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean: np.ndarray = np.where(count > 0, total / count, np.nan)
    return mean


def _nan_ok(values: np.ndarray) -> np.ndarray:
    """Rows that are all NaN become +inf/-inf-free zeros, so nanmin/nanmax do not warn."""
    empty = np.isnan(values).all(axis=1)
    if empty.any():
        values = values.copy()
        values[empty] = 0.0
    return values


def _messages(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return [{"role": "?", "content": value}]
        return list(parsed) if isinstance(parsed, list) else []
    return list(value) if isinstance(value, list) else []


def _json_value(value: Any) -> Any:
    """A parsed reply as JSON data (a missing one, NaN included, is None)."""
    return None if value is None or (isinstance(value, float) and value != value) else value


def _plain(value: Any) -> Any:
    if value is None or (not isinstance(value, (list, dict, str)) and pd.isna(value)):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value if isinstance(value, (str, int, float, bool)) else str(value)
