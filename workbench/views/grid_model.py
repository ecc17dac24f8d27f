"""The comparison grid's logic, in plain Python: group repeats, filter, sort, page, diff.

No widget imports: :class:`GridModel` turns a run's table into one page of JSON-ready rows (a
dataset row × every variant side by side, numbers already formatted), picking rows by the options
of :mod:`grid_filters`, and a cell's full detail (built by :mod:`grid_detail`);
:func:`header_rows` formats the per-variant statistics. The widget only forwards; a static
report can reuse all of it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from workbench import figures
from workbench.analysis.report import answers
from workbench.plain import plain
from workbench.providers.tools import compact
from workbench.results.columns import RESERVED, SCORER_SUFFIXES
from workbench.results.frame import NOT_RUN_PREFIX
from workbench.views.grid_detail import SHOWN_IN_DETAIL, CellDetail
from workbench.views.grid_filters import Filters, Sort
from workbench.views.grid_text import (
    TRUNCATE,
    DiffOptions,
    cell_meta,
    input_value,
    matcher,
    pretty_json,
    score_text,
    text,
    word_diff,
)
from workbench.views.grid_tools import ToolModes, calls_of, said

__all__ = ["GridModel", "header_rows"]


@dataclass
class GridModel:
    """Grouped view of ``df``: one entry per (row, variant) cell, computed once."""

    df: pd.DataFrame
    variants: Sequence[str]
    scorers: Sequence[str]
    labels: dict[tuple[str, str, int], tuple[str, str]] = field(default_factory=dict)
    """Human labels by (row_id, variant, repeat): (label, comment)."""
    extra: Sequence[str] | None = None
    """Result columns the detail lists under "more fields" per repeat (default: the declared
    result columns not shown elsewhere, e.g. tool calls or reasoning once the table has them)."""

    def __post_init__(self) -> None:
        df = self.df
        self.variants = list(self.variants)
        self.scorers = list(self.scorers)
        scorer_cols = {s + x for s in self.scorers for x in SCORER_SUFFIXES}
        if self.extra is None:
            self.extra = [c for c in df.columns if c in RESERVED and c not in SHOWN_IN_DETAIL]
        self.extra = [c for c in self.extra if c in df.columns]
        hidden = RESERVED | scorer_cols | set(self.extra)
        ids = df["row_id"].astype(str)
        self.inputs = [
            c
            for c in df.columns
            if c not in hidden and not (df[c].astype(str) == ids).all()  # the id column
        ]
        self.row_ids: list[Any] = list(dict.fromkeys(df["row_id"]))
        self._row_pos = {str(r): i for i, r in enumerate(self.row_ids)}
        self._var_pos = {v: j for j, v in enumerate(self.variants)}
        errors = df["error"].astype("string")
        not_run = errors.str.startswith(NOT_RUN_PREFIX, na=False)
        frame = df.assign(
            _r=df["row_id"].astype(str).map(self._row_pos),
            _v=df["variant"].map(self._var_pos),
            _tok=pd.to_numeric(df["input_tokens"], errors="coerce").astype(float)
            + pd.to_numeric(df["output_tokens"], errors="coerce").astype(float),
            _lat=pd.to_numeric(df["latency_ms"], errors="coerce").astype(float),
            _cost=pd.to_numeric(df["cost_usd"], errors="coerce").astype(float),
            _err=(errors.notna() & ~not_run).astype(float),
            _notrun=not_run.astype(float),
        ).sort_values(["_r", "_v", "repeat"], kind="stable")
        self._frame = frame = frame.reset_index(drop=True)
        shape = self.shape = (len(self.row_ids), len(self.variants))
        r, v = frame["_r"].to_numpy(dtype=np.int64), frame["_v"].to_numpy(dtype=np.int64)
        at = (r, v)
        cell_key = r * len(self.variants) + v
        _, first, counts = np.unique(cell_key, return_index=True, return_counts=True)
        self._cells: dict[tuple[int, int], range] = {
            (int(r[i]), int(v[i])): range(int(i), int(i + c))
            for i, c in zip(first, counts, strict=True)
        }
        """Positions in ``_frame`` of each cell's repeats (rows are sorted by cell)."""
        self._outputs: list[Any] = frame["output"].tolist()
        self._errors: list[Any] = frame["error"].tolist()
        self._repeat: list[int] = [int(x) for x in frame["repeat"]]
        self._calls = calls_of(
            frame["tool_calls"].tolist() if "tool_calls" in frame else [None] * len(frame)
        )
        self._tools = ToolModes(self._cells, self._calls) if any(self._calls) else None
        """Per cell, the calls most repeats made (None: no repeat called a tool)."""
        self.called_tools = self._tools is not None
        """Some reply called a tool (the grid then offers the filter on tool calls)."""
        starved = frame["starved"].fillna(False) if "starved" in frame else None
        self.m = {
            "n": _grid_sum(shape, at, np.ones(len(frame))),
            "errors": _grid_sum(shape, at, frame["_err"].to_numpy(dtype=float)),
            "not_run": _grid_sum(shape, at, frame["_notrun"].to_numpy(dtype=float)),
            "starved": _grid_sum(
                shape, at, np.zeros(len(frame)) if starved is None else starved.to_numpy(float)
            ),
            "tokens": _grid_mean(shape, at, frame["_tok"].to_numpy(dtype=float)),
            "latency": _grid_mean(shape, at, frame["_lat"].to_numpy(dtype=float)),
            "cost": _grid_sum(shape, at, np.nan_to_num(frame["_cost"].to_numpy(dtype=float))),
        }
        ran = (frame["_err"] + frame["_notrun"]).to_numpy(dtype=float) == 0
        unpriced = np.isnan(frame["_cost"].to_numpy(dtype=float)) & ran
        self._unpriced = _grid_sum(shape, at, unpriced.astype(float)) > 0
        """Cells with a call whose price is unknown: their cost is unknown, not 0."""
        self.m["n"][self.m["n"] == 0] = np.nan  # a cell absent from the table
        self._group_outputs(frame, cell_key)
        self.passed: dict[str, np.ndarray] = {}
        self.scored: dict[str, np.ndarray] = {}
        self.score: dict[str, np.ndarray] = {}
        self._failed: dict[str, np.ndarray] = {}
        """Per scorer, per table row: the check failed (not merely unscored)."""
        self._reason_of: dict[str, list[Any]] = {}
        self._graded: dict[str, bool] = {}
        """Scorers whose values say more than pass/fail (e.g. a similarity, a 1-5 grade)."""
        for s in self.scorers:
            ok = frame[f"{s}_pass"].astype("float64").to_numpy(dtype=float)
            self.passed[s] = _grid_sum(shape, at, np.nan_to_num(ok))
            self.scored[s] = _grid_sum(shape, at, (~np.isnan(ok)).astype(float))
            value = pd.to_numeric(frame[s], errors="coerce").to_numpy(dtype=float)
            self.score[s] = _grid_mean(shape, at, value)
            known = value[~np.isnan(value)]
            self._graded[s] = bool(known.size) and not np.isin(known, (0.0, 1.0)).all()
            self._failed[s] = ok == 0
            self._reason_of[s] = frame[f"{s}_reason"].tolist()
        first_rows = frame.drop_duplicates("_r").set_index("_r")
        self._input_rows: dict[int, dict[str, Any]] = {
            int(i): {str(k): x for k, x in rec.items()}
            for i, rec in zip(
                first_rows.index, first_rows[self.inputs].to_dict(orient="records"), strict=True
            )
        }
        hay: list[list[str]] = [[] for _ in self.row_ids]
        for i, rec in self._input_rows.items():
            hay[i].extend(text(x, None) for x in rec.values())
        for i, out, err, made in zip(
            r.tolist(), self._outputs, self._errors, self._calls, strict=True
        ):
            found = out if isinstance(out, str) else err if isinstance(err, str) else None
            hay[i].append(found if found is not None else text(out, None))
            hay[i].extend(compact(c) for c in made)
        self._haystack = [("\n".join(h)).lower() for h in hay]
        self._by_cell = {(r_, v_): lab for (r_, v_, _), lab in sorted(self.labels.items())}
        self._differs: dict[tuple[str, DiffOptions], np.ndarray] = {}

    def _group_outputs(self, frame: pd.DataFrame, cell_key: np.ndarray) -> None:
        """Per cell: its distinct answers (output and tool calls) and the one most repeats gave
        (ties: the earliest)."""
        self._answers: list[Any] = answers(frame).tolist()
        codes, _ = pd.factorize(pd.Series(self._answers, dtype=object))
        pos = np.flatnonzero(codes >= 0)
        width = int(codes.max()) + 2 if len(codes) else 2
        pairs = cell_key[pos] * width + codes[pos]
        unique, first, counts = np.unique(pairs, return_index=True, return_counts=True)
        cell_of, first_pos = unique // width, pos[first]
        order = np.lexsort((first_pos, -counts, cell_of))
        head = np.r_[True, cell_of[order][1:] != cell_of[order][:-1]] if len(order) else order
        n_var = len(self.variants)
        self.m["distinct"] = np.zeros(self.shape)
        np.add.at(self.m["distinct"], (cell_of // n_var, cell_of % n_var), 1.0)
        self._shown = np.full(self.shape, None, dtype=object)
        """The output each cell shows (None: no repeat gave one)."""
        self._shown_at = np.full(self.shape, -1, dtype=np.int64)
        """The table row of the answer each cell shows (-1: none)."""
        for i in order[head.astype(bool)]:
            cell, at = int(cell_of[i]), int(first_pos[i])
            self._shown[cell // n_var, cell % n_var] = self._outputs[at]
            self._shown_at[cell // n_var, cell % n_var] = at

    def _said(self, r: int, j: int) -> str | None:
        """The answer a cell shows as text, its tool calls included (None: no answer)."""
        at = int(self._shown_at[r, j])
        return None if at < 0 else said(text(self._outputs[at], None), self._calls[at])

    # -- selection ------------------------------------------------------------------------
    def _checks(self, scorer: str | None) -> list[str]:
        if scorer is None:
            return list(self.scorers)
        if scorer not in self.scorers:
            raise ValueError(f"No scorer {scorer!r}; scorers: {list(self.scorers)}.")
        return [scorer]

    def _variant(self, name: str | None, what: str) -> int | None:
        if name is None:
            return None
        if name not in self._var_pos:
            raise ValueError(f"No variant {name!r} to {what}; variants: {list(self.variants)}.")
        return self._var_pos[name]

    def differs(self, baseline: str, options: DiffOptions | None = None) -> np.ndarray:
        """(rows × variants): the shown output differs from the baseline's (False where either
        has no output, and in the baseline's column)."""
        options = options or DiffOptions()
        key = (baseline, options)
        if key not in self._differs:
            b = self._variant(baseline, "diff against")
            assert b is not None
            keys = np.array(
                [
                    [None if x is None else options.key(x) for x in (self._said(r, j) for j in js)]
                    for r in range(self.shape[0])
                    for js in [range(self.shape[1])]
                ],
                dtype=object,
            ).reshape(self.shape)
            base = keys[:, [b]]
            found = (keys != base) & (keys != None) & (base != None)  # noqa: E711
            found[:, b] = False
            self._differs[key] = found.astype(bool)
        return self._differs[key]

    def select(
        self,
        filters: Filters,
        sort: Sort,
        baseline: str | None = None,
        diff: DiffOptions | None = None,
    ) -> np.ndarray:
        """Row positions that pass ``filters``, in ``sort`` order."""
        keep = np.ones(len(self.row_ids), dtype=bool)
        checks = self._checks(filters.scorer)
        j = self._variant(filters.variant, "filter on")
        cols: slice | list[int] = slice(None) if j is None else [j]

        def anywhere(cells: np.ndarray) -> np.ndarray:
            return np.asarray(cells[:, cols].any(axis=1))

        ran = ~np.isnan(self.m["n"])
        if filters.failures:
            bad = np.zeros(self.shape, dtype=bool)
            for s in checks:
                bad |= self.passed[s] < self.scored[s]
            keep &= anywhere(bad)
        if filters.passes:
            good = ran & (self.m["errors"] == 0) & (self.m["not_run"] == 0)
            for s in checks:
                good &= (self.scored[s] > 0) & (self.passed[s] == self.scored[s])
            keep &= anywhere(good)
        if filters.errors:
            keep &= anywhere(self.m["errors"] > 0)
        if filters.not_run:
            keep &= anywhere(self.m["not_run"] > 0)
        if filters.repeats_disagree:
            split = self.m["distinct"] > 1 if not checks else np.zeros(self.shape, bool)
            for s in checks:
                split |= (self.passed[s] > 0) & (self.passed[s] < self.scored[s])
            keep &= anywhere(split)
        if filters.disagree:
            split_rows = np.zeros(len(self.row_ids), dtype=bool)
            for s in checks:
                verdict = self._verdict(s)
                lo, hi = np.nanmin(_nan_ok(verdict), axis=1), np.nanmax(_nan_ok(verdict), axis=1)
                split_rows |= lo != hi
            keep &= split_rows
        if filters.other_tool:
            base = self._var_pos.get(baseline or self.variants[0], 0)
            tools, n_var = self._tools, len(self.variants)
            keep &= np.fromiter(
                (tools is not None and tools.differs(i, base, n_var) for i in range(len(keep))),
                bool,
                len(keep),
            )
        if filters.differs or filters.regressed:
            if not baseline:
                raise ValueError(
                    "Choose a baseline variant ('diff vs') to find rows that differ from it or "
                    "regressed against it."
                )
            if filters.differs:
                keep &= anywhere(self.differs(baseline, diff))
            if filters.regressed:
                keep &= anywhere(self.regressed(baseline, checks))
        found = matcher(filters.search, filters.regex)
        if found is not None:
            keep &= np.fromiter((found(h) for h in self._haystack), bool, len(self._haystack))
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

    def _verdict(self, scorer: str) -> np.ndarray:
        """(rows × variants): 1 where most scored repeats passed, 0 where not, NaN unscored."""
        with np.errstate(invalid="ignore"):
            verdict: np.ndarray = np.where(
                self.scored[scorer] > 0,
                (2 * self.passed[scorer] > self.scored[scorer]).astype(float),
                np.nan,
            )
        return verdict

    def regressed(self, baseline: str, checks: Sequence[str] | None = None) -> np.ndarray:
        """(rows × variants): the baseline passes a check (most repeats) and the cell fails it."""
        b = self._variant(baseline, "compare with")
        assert b is not None
        found = np.zeros(self.shape, dtype=bool)
        for s in self.scorers if checks is None else checks:
            verdict = self._verdict(s)
            found |= (verdict[:, [b]] == 1) & (verdict == 0)
        found[:, b] = False
        return found

    def metric(self, by: str, scorer: str | None = None) -> np.ndarray:
        """(rows × variants) values of a sort metric."""
        s = self._checks(scorer)[0] if scorer else (self.scorers[0] if self.scorers else None)
        if by in ("pass", "score"):
            if s is None:
                return np.full(self.shape, np.nan)
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
        diff: DiffOptions | None = None,
    ) -> dict[str, Any]:
        """One page: ``rows`` (JSON-ready), ``total`` matching rows, ``pages``, ``page``."""
        rows = self.select(filters or Filters(), sort or Sort(), baseline, diff)
        size = max(1, int(page_size))
        pages = max(1, -(-len(rows) // size))
        page = min(max(0, int(page)), pages - 1)
        chosen = rows[page * size : (page + 1) * size]
        return {
            "rows": [self.row(int(r), baseline, diff) for r in chosen],
            "total": len(rows),
            "pages": pages,
            "page": page,
        }

    def row(
        self, r: int, baseline: str | None = None, diff: DiffOptions | None = None
    ) -> dict[str, Any]:
        """One grid row: inputs and a cell per variant."""
        base_j = self._var_pos.get(baseline) if baseline else None
        base_out = self._said(r, base_j) if base_j is not None else None
        row_id = self.row_ids[r]
        cells = []
        for j, variant in enumerate(self.variants):
            if np.isnan(self.m["n"][r, j]):
                cells.append({"variant": variant, "status": "missing", "missing": True})
                continue
            cell = self._cell(r, j)
            out = self._said(r, j)
            cell["diff"] = (
                word_diff(base_out, out, diff)
                if base_out is not None and out is not None and j != base_j
                else None
            )
            cells.append(cell)
        inputs = self._input_rows.get(r, {})
        return {
            "row_id": plain(row_id),
            "inputs": {c: input_value(inputs.get(c)) for c in self.inputs},
            "cells": cells,
        }

    def _cell(self, r: int, j: int) -> dict[str, Any]:
        variant = self.variants[j]
        at = self._cells[(r, j)]
        n, errors, not_run = (int(self.m[k][r, j]) for k in ("n", "errors", "not_run"))
        out = self._shown[r, j]
        status = "notrun" if not_run == n else "error" if errors + not_run == n else "ok"
        first_error = next((self._errors[i] for i in at if self._errors[i] is not None), None)
        checks = {}
        for s in self.scorers:
            k, m = int(self.passed[s][r, j]), int(self.scored[s][r, j])
            state = "none" if m == 0 else "pass" if k == m else "fail" if k == 0 else "mixed"
            check: dict[str, Any] = {"k": k, "n": m, "state": state}
            if self._graded[s]:
                check["score"] = score_text(self.score[s][r, j])
            if state in ("fail", "mixed"):
                reason = next((self._reason_of[s][i] for i in at if self._failed[s][i]), None)
                check["reason"] = text(reason, 160)
            checks[s] = check
        shown = text(out)
        cell: dict[str, Any] = {
            "variant": variant,
            "status": status,
            "output": shown,
            "checks": checks,
            "meta": cell_meta(
                self.m["tokens"][r, j],
                self.m["latency"][r, j],
                None if self._unpriced[r, j] else self.m["cost"][r, j],
            ),
            "n": n,
            "errors": errors,
            "not_run": not_run,
            "distinct": int(self.m["distinct"][r, j]),
            "label": self._by_cell.get((str(self.row_ids[r]), variant), ("", ""))[0],
            "comment": self._by_cell.get((str(self.row_ids[r]), variant), ("", ""))[1],
        }
        if first_error is not None:
            cell["error"] = text(first_error, 200)
        pretty = pretty_json(str(out)) if out is not None else None
        if pretty is not None:
            cell["kind"], cell["pretty"] = "json", text(pretty)
        if cell["distinct"] > 1:
            cell["outputs"] = self._distinct(at)
        starved = int(self.m["starved"][r, j])
        if starved:
            cell["starved"] = starved
        if self._tools is not None:
            made = self._calls[int(self._shown_at[r, j])] if self._shown_at[r, j] >= 0 else []
            cell["tool_calls"] = [compact(c) for c in made]
            cell["tools_invalid"] = any(c.get("invalid") for c in made)
            cell["tools_mode"] = self._tools.mode(r, j)
        return cell

    def _distinct(self, at: range, limit: int | None = TRUNCATE) -> list[dict[str, Any]]:
        """The distinct outputs of a cell's repeats, most frequent first (ties: earliest)."""
        seen: dict[str, list[int]] = {}
        for i in at:
            if self._outputs[i] is not None:
                answer = said(text(self._outputs[i], None), self._calls[i])
                seen.setdefault(answer, []).append(self._repeat[i])
        ranked = sorted(seen.items(), key=lambda kv: (-len(kv[1]), kv[1][0]))
        return [{"text": text(t, limit), "count": len(reps), "repeats": reps} for t, reps in ranked]

    def set_label(self, row_id: Any, variant: str, repeat: int, label: str, comment: str) -> None:
        """Record a human label (the caller saves it in the store)."""
        self.labels[(str(row_id), variant, int(repeat))] = (label, comment)
        self._by_cell[(str(row_id), variant)] = (label, comment)

    def detail(
        self, row_id: Any, variant: str, raw: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Everything about one cell. Repeats that gave the same answer (output and tool calls)
        or error are one group ("3 ×"): its output and calls, each scorer's verdict and distinct
        reasons, and per repeat the raw response (from ``raw`` by request key), usage (cached,
        reasoning tokens, time to first token), reasoning, trajectory, grade and further
        fields."""
        r, j = self._row_pos.get(str(row_id)), self._var_pos.get(variant)
        if r is None or j is None or (r, j) not in self._cells:
            raise ValueError(f"No cell for row {row_id!r} and variant {variant!r}.")
        at = self._cells[(r, j)]
        return CellDetail(self.scorers, self._graded, self.extra or (), self.labels).build(
            row_id,
            variant,
            self._frame.iloc[list(at)],
            [self._calls[i] for i in at],
            self._input_rows.get(r, {}),
            raw or {},
        )

    def repeats_of(self, row_id: Any, variant: str) -> list[tuple[int, str]]:
        """(repeat, request_key) of every repeat in a cell."""
        r, j = self._row_pos.get(str(row_id)), self._var_pos.get(variant)
        if r is None or j is None:
            return []
        part = self._frame.iloc[list(self._cells.get((r, j), range(0)))]
        return [(int(a), str(b)) for a, b in zip(part["repeat"], part["request_key"], strict=True)]


def header_rows(summary: pd.DataFrame, scorers: Sequence[str]) -> list[dict[str, Any]]:
    """The statistics header, per variant, formatted: each scorer's pass rate and 95% interval,
    cost, latency, errors and cells not run (from ``analyze(table).summary()``)."""
    rows = []
    for rec in summary.to_dict(orient="records"):
        checks = {}
        for s in scorers:
            rate, low, high = (plain(rec.get(f"{s}_pass_{k}")) for k in ("rate", "low", "high"))
            ci = f"{figures.share(low)} – {figures.share(high)}" if low is not None else ""
            checks[s] = {"rate": figures.share(rate), "ci": ci, "value": rate}
        rows.append(
            {
                "variant": str(rec["variant"]),
                "model": text(rec.get("model"), None),
                "checks": checks,
                "cost": figures.money(rec.get("cost_usd")),
                "latency": figures.duration(rec.get("latency_p50_ms")),
                "latency_p95": figures.duration(rec.get("latency_p95_ms")),
                "errors": int(plain(rec.get("errors")) or 0),
                "not_run": int(plain(rec.get("not_run")) or 0),
            }
        )
    return rows


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
    """Rows that are all NaN become zeros, so nanmin/nanmax do not warn."""
    empty = np.isnan(values).all(axis=1)
    if empty.any():
        values = values.copy()
        values[empty] = 0.0
    return values
