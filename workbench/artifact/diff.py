"""Versions over time: list exported prompts, and diff two versions (text, params, metrics)."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from workbench.artifact.loader import LoadedPrompt, load_prompt
from workbench.artifact.store import PROMPT_FILE, labels, versions
from workbench.errors import ArtifactError

__all__ = ["diff_versions", "headline", "list_prompts"]


def _pct(value: Any) -> str:
    return "–" if value is None else f"{float(value):.0%}"


def _scores(prompt: LoadedPrompt) -> Mapping[str, Any]:
    record = prompt.eval
    mine = (record.get("variants") or {}).get(record.get("variant")) or {}
    scores = mine.get("scores") or {}
    return scores if isinstance(scores, Mapping) else {}


def headline(prompt: LoadedPrompt) -> str:
    """The primary scorer's pass rate with its interval, e.g. ``contains 90% (60–98%)``."""
    scorer = prompt.eval.get("primary_scorer")
    if not scorer:
        return "no scorer"
    s = _scores(prompt).get(scorer) or {}
    return f"{scorer} {_pct(s.get('pass_rate'))} ({_pct(s.get('pass_low'))}–{_pct(s.get('pass_high'))})"


def _prompt_dirs(root: Path) -> list[Path]:
    if versions(root):
        return [root]
    if not root.is_dir():
        raise ArtifactError(f"No folder {root}: nothing to list.")
    return [p for p in sorted(root.iterdir()) if p.is_dir() and versions(p)]


def list_prompts(root: str | Path) -> str:
    """Every exported prompt under ``root`` (or one prompt folder): versions, labels, headline."""
    out: list[str] = []
    for folder in _prompt_dirs(Path(root)):
        by_version: dict[int, list[str]] = {}
        for label, number in labels(folder).items():
            by_version.setdefault(number, []).append(label)
        numbers = versions(folder)
        by_version.setdefault(numbers[-1], []).append("latest")
        out.append(f"{folder}")
        for number in numbers:
            tags = ", ".join(sorted(by_version.get(number, [])))
            try:
                p = load_prompt(f"{folder}@{number}")
                facts = f"{p.model:24} {headline(p):28} {p.eval.get('evaluated_at') or ''}"
            except ArtifactError as exc:
                facts = f"DAMAGED: {exc}"
            out.append(f"  v{number:<4} {facts}" + (f"  [{tags}]" if tags else ""))
        for number, names in sorted(by_version.items()):
            if number not in numbers:
                out.append(
                    f"  [{', '.join(sorted(names))}] -> v{number}, which does not exist: "
                    f"`workbench label {folder}@{numbers[-1]} {sorted(names)[0]}`"
                )
    if not out:
        return f"No exported prompts under {root}."
    return "\n".join(out)


def _flat(params: Mapping[str, Any]) -> dict[str, str]:
    return {k: repr(v) for k, v in params.items()}


def diff_versions(a: str | Path, b: str | Path) -> str:
    """What changed from version ``a`` to ``b``: prompt text, model and params, metrics."""
    old, new = load_prompt(a), load_prompt(b)
    name_a, name_b = f"{old.name}@{old.version}", f"{new.name}@{new.version}"
    out = [f"--- {name_a}", f"+++ {name_b}", "", "Prompt:"]
    text = list(
        difflib.unified_diff(
            old.files()[PROMPT_FILE].decode().splitlines(),
            new.files()[PROMPT_FILE].decode().splitlines(),
            fromfile=f"{name_a}/{PROMPT_FILE}",
            tofile=f"{name_b}/{PROMPT_FILE}",
            lineterm="",
        )
    )
    out += [f"  {line}" for line in text] if text else ["  (same text)"]
    out.append("Model and parameters:")
    params_a = {"model": repr(old.model), **_flat(old.params)}
    params_b = {"model": repr(new.model), **_flat(new.params)}
    changed = [
        f"  {k}: {params_a.get(k, '(unset)')} -> {params_b.get(k, '(unset)')}"
        for k in sorted(set(params_a) | set(params_b))
        if params_a.get(k) != params_b.get(k)
    ]
    out += changed or ["  (same)"]
    out.append("Metrics (pass rate, 95% CI):")
    sa, sb = _scores(old), _scores(new)
    for scorer in sorted(set(sa) | set(sb)):
        x, y = sa.get(scorer) or {}, sb.get(scorer) or {}
        delta = ""
        if x.get("pass_rate") is not None and y.get("pass_rate") is not None:
            delta = f"  ({(y['pass_rate'] - x['pass_rate']) * 100:+.0f} points)"
        out.append(
            f"  {scorer}: {_pct(x.get('pass_rate'))} ({_pct(x.get('pass_low'))}–"
            f"{_pct(x.get('pass_high'))}) -> {_pct(y.get('pass_rate'))} "
            f"({_pct(y.get('pass_low'))}–{_pct(y.get('pass_high'))}){delta}"
        )
    for key, label in (("cost_usd", "cost"), ("latency_ms", "latency p50")):
        va = ((old.eval.get("variants") or {}).get(old.eval.get("variant")) or {}).get(key)
        vb = ((new.eval.get("variants") or {}).get(new.eval.get("variant")) or {}).get(key)
        if key == "latency_ms":
            va = va.get("p50") if isinstance(va, Mapping) else None
            vb = vb.get("p50") if isinstance(vb, Mapping) else None
            out.append(f"  {label}: {_num(va, ' ms')} -> {_num(vb, ' ms')}")
        else:
            out.append(f"  {label}: ${_num(va)} -> ${_num(vb)}")
    da, db = old.eval.get("dataset") or {}, new.eval.get("dataset") or {}
    if da.get("fingerprint") != db.get("fingerprint"):
        out.append(
            f"Note: evaluated on different data ({da.get('rows')} rows vs {db.get('rows')}); "
            f"metrics may not be comparable."
        )
    return "\n".join(out)


def _num(value: Any, unit: str = "") -> str:
    return "–" if value is None else f"{float(value):.4g}{unit}"
