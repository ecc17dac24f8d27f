"""Experiments described in YAML, for ``workbench run``::

name: capitals
dataset: questions.csv            # relative to this file; .csv .jsonl .json .parquet
repeats: 3
concurrency: 4                    # optional: calls in flight per provider
budget_usd: 0.50                  # optional
defaults:                         # optional: shared by every variant
  model: local/smollm2
  params: {temperature: 0, max_tokens: 32}
variants:
  - name: terse
    system: Answer in one word.
    user: "{{ question }}"
  - name: friendly
    extends: terse                # start from another variant
    system: Answer briefly and kindly.
scorers:
  - contains: "{{ expected }}"
  - regex: {pattern: "^[A-Z]", name: capitalised}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from workbench.data.dataset import Dataset
from workbench.data.readers import read_text
from workbench.errors import ConfigError, DatasetError, WorkbenchError
from workbench.experiment import Experiment
from workbench.prompts.variant import Variant

__all__ = ["load_experiment"]

_KEYS = {
    "name",
    "dataset",
    "id_column",
    "repeats",
    "concurrency",
    "budget_usd",
    "defaults",
    "variants",
    "scorers",
    "store",
}


def load_experiment(path: str | Path) -> Experiment:
    """Read an experiment YAML; every problem names the file (and line, for syntax)."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"Experiment file not found: {p}")
    try:
        text = read_text(p)
    except DatasetError as exc:
        raise ConfigError(str(exc)) from None
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f", line {mark.line + 1} column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{p}{where}: invalid YAML ({exc.problem}).") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: invalid YAML ({exc}).") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: expected a mapping with name, dataset, variants, scorers.")
    unknown = set(data) - _KEYS
    if unknown:
        raise ConfigError(f"{p}: unknown key(s) {sorted(unknown)}; allowed: {sorted(_KEYS)}.")
    for key in ("dataset", "variants"):
        if key not in data:
            raise ConfigError(f"{p}: missing '{key}'.")
    try:
        return _build(p, data)
    except WorkbenchError as exc:
        exc.args = (f"{p}: {exc}",)
        raise


def _build(path: Path, data: dict[str, Any]) -> Experiment:
    dataset_path = Path(str(data["dataset"]))
    if not dataset_path.is_absolute():
        dataset_path = path.parent / dataset_path
    dataset = Dataset.from_file(dataset_path, id_column=data.get("id_column"))
    variants = _variants(data["variants"], data.get("defaults") or {})
    scorers = data.get("scorers") or []
    if not isinstance(scorers, list):
        raise ConfigError("'scorers' must be a list, e.g. [{contains: '{{ expected }}'}].")
    store = data.get("store")
    return Experiment(
        str(data.get("name") or path.stem),
        dataset,
        variants,
        scorers,
        repeats=data.get("repeats", 1),
        budget_usd=data.get("budget_usd"),
        concurrency=data.get("concurrency"),
        store=(path.parent / store) if store else None,
        project=path.parent,  # the store follows the file's project, not the shell's folder
    )


def _variants(raw: Any, defaults: dict[str, Any]) -> list[Variant]:
    if not isinstance(raw, list) or not raw:
        raise ConfigError("'variants' must be a non-empty list of variants.")
    if not isinstance(defaults, dict):
        raise ConfigError("'defaults' must be a mapping (model, params, system, ...).")
    specs: dict[str, dict[str, Any]] = {}
    out: list[Variant] = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or "name" not in item:
            raise ConfigError(f"variants[{i}] must be a mapping with a name.")
        item = dict(item)
        parent = item.pop("extends", None)
        if parent is not None and not isinstance(parent, str):
            raise ConfigError(f"variants[{i}]: 'extends' must name a variant above it.")
        if parent is not None and parent not in specs:
            raise ConfigError(
                f"variant '{item['name']}' extends '{parent}', which is not defined above it."
            )
        base = dict(specs[parent]) if parent else dict(defaults)
        params = {**(base.get("params") or {}), **(item.get("params") or {})}
        spec = {**base, **item, "params": params}
        specs[str(item["name"])] = spec
        out.append(Variant.from_spec(spec))
    return out
