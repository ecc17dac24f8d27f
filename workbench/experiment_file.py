"""Experiments described in YAML, for ``workbench run``::

name: capitals
dataset: questions.csv            # relative to this file; .csv .tsv .jsonl .json .parquet
# or: dataset: {path: questions.csv, sep: ";", encoding: latin-1, id_column: key}
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
models:                           # optional: price and limits of models the catalog lacks
  "openai/my-fine-tune": {input_per_1m: 3.0, output_per_1m: 12.0, context_window: 128000}
endpoints:                        # optional: OpenAI-compatible servers the variants name
  vllm: {base_url: "http://localhost:8000/v1", api_key_env: VLLM_KEY}
description: What it is for.      # optional
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from workbench.data.dataset import Dataset
from workbench.data.readers import read_text
from workbench.errors import ConfigError, DatasetEncodingError, DatasetError, WorkbenchError
from workbench.experiment import Experiment
from workbench.models.catalog import check_fact_names, register
from workbench.plain import yaml_text
from workbench.prompts.variant import Variant

__all__ = ["load_experiment", "save_experiment"]

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
    "models",
    "endpoints",
    "description",
}
_DATASET_KEYS = ("path", "sep", "encoding", "id_column")


def load_experiment(path: str | Path) -> Experiment:
    """Read an experiment YAML; every problem names the file (and line, for syntax)."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"Experiment file not found: {p}")
    try:
        text, _ = read_text(p)
    except DatasetEncodingError as exc:
        raise ConfigError(f"{exc.problem} Save the experiment file as UTF-8.") from None
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


def _register_models(raw: Any) -> None:
    """Apply the ``models:`` key: each entry registered as ``wb.models.register`` would."""
    example = '{"openai/x": {input_per_1m: 3.0, output_per_1m: 12.0, context_window: 128000}}'
    if not isinstance(raw, dict):
        raise ConfigError(f"'models' must map model ids to their facts, e.g. models: {example}.")
    entries: dict[str, dict[str, Any]] = {}
    for model, facts in raw.items():
        if not isinstance(facts, dict):
            raise ConfigError(f"models: '{model}' must map facts to numbers, e.g. {example}.")
        entries[str(model)] = {str(k): v for k, v in facts.items()}
    for registering in (False, True):  # every name is checked before any entry is registered
        for model, facts in entries.items():
            try:
                if registering:
                    register(model, **facts)
                else:
                    check_fact_names(facts)
            except ConfigError as exc:
                raise ConfigError(f"models: '{model}': {exc}") from None


def _dataset(path: Path, data: dict[str, Any]) -> Dataset:
    """``dataset: file.csv`` or ``dataset: {path, sep, encoding, id_column}``."""
    spec = data["dataset"]
    if not isinstance(spec, dict):
        spec = {"path": spec}
    unknown = sorted(set(spec) - set(_DATASET_KEYS))
    if unknown:
        raise ConfigError(f"dataset: unknown key(s) {unknown}; allowed: {list(_DATASET_KEYS)}.")
    if not spec.get("path"):
        raise ConfigError("dataset: missing 'path', e.g. dataset: {path: questions.csv}.")
    for key in ("sep", "encoding", "id_column"):
        if spec.get(key) is not None and not isinstance(spec[key], str):
            raise ConfigError(
                f"dataset: '{key}' must be text, got {spec[key]!r}: quote it, "
                f'{key}: "{spec[key]}".'
            )
    id_column = spec.get("id_column")
    if id_column and data.get("id_column") not in (None, id_column):
        raise ConfigError("id_column is given twice, differently: keep the one under dataset:.")
    written = str(spec["path"])
    file = Path(written) if Path(written).is_absolute() else path.parent / written
    try:
        return Dataset.from_file(
            file,
            id_column=id_column or data.get("id_column"),
            sep=spec.get("sep"),
            encoding=spec.get("encoding"),
        )
    except DatasetEncodingError as exc:
        fixed = {**spec, "path": written, "encoding": exc.suggestion}
        shown = ", ".join(f"{k}: {_yaml_scalar(v)}" for k, v in fixed.items() if v is not None)
        raise DatasetError(
            f"{exc.problem} Re-save the file as UTF-8, or set dataset: {{{shown}}} in {path.name}."
        ) from exc


def _yaml_scalar(value: object) -> str:
    """A value as one would type it in a YAML flow mapping: quoted unless a plain word or path."""
    text = str(value)
    return text if re.fullmatch(r"[\w./-]+", text) else json.dumps(text)


def _build(path: Path, data: dict[str, Any]) -> Experiment:
    if "models" in data:
        _register_models(data["models"])
    dataset = _dataset(path, data)
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
        endpoints=_endpoints(data.get("endpoints")),
        description=str(data.get("description") or ""),
    )


def _endpoints(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(
            "'endpoints' must map names to servers, e.g. endpoints: {vllm: {base_url: "
            '"http://localhost:8000/v1"}}.'
        )
    return {str(k): v for k, v in raw.items()}


def _variants(raw: Any, defaults: dict[str, Any]) -> list[Variant]:
    if not isinstance(raw, list) or not raw:
        raise ConfigError("'variants' must be a non-empty list of variants.")
    if not isinstance(defaults, dict):
        raise ConfigError("'defaults' must be a mapping (model, params, system, ...).")
    allowed = Variant.spec_fields() - {"name"}
    unknown = set(defaults) - allowed
    if unknown:
        raise ConfigError(
            f"defaults: unknown field(s) {sorted(unknown)}; allowed: {sorted(allowed)}."
        )
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


def save_experiment(exp: Experiment, path: str | Path, *, overwrite: bool = False) -> list[Path]:
    """Write ``exp`` as an experiment YAML that :func:`load_experiment` reads back to the same
    experiment: its dataset as JSON Lines beside it (``<name>.rows.jsonl``) unless it was read
    from a file, which is then named relative to the YAML. Refuses to replace a file unless
    ``overwrite``. Returns the files written."""
    target = Path(path)
    if target.suffix.lower() not in (".yaml", ".yml"):
        raise ConfigError(f"{target}: an experiment file ends in .yaml or .yml.")
    written: list[Path] = []
    dataset: dict[str, Any]
    source = exp.dataset.path
    if source is not None:
        dataset = {"path": _relative(source, target.parent)}
    else:
        rows = target.with_name(f"{target.stem}.rows.jsonl")
        _check_free(rows, overwrite)
        lines = [json.dumps(r, ensure_ascii=False, default=str) for r in exp.dataset.rows]
        written.append(rows)
        dataset = {"path": rows.name}
    if exp.dataset.id_column:
        dataset["id_column"] = exp.dataset.id_column
    _check_free(target, overwrite)
    data: dict[str, Any] = {"name": exp.name}
    if exp.description:
        data["description"] = exp.description
    data["dataset"] = dataset
    data["repeats"] = exp.repeats
    for key in ("concurrency", "budget_usd"):
        if getattr(exp, key) is not None:
            data[key] = getattr(exp, key)
    data["variants"] = [_plain(v.spec()) for v in exp.variants]
    data["scorers"] = [_plain(dict(s.spec)) for s in exp.scorers]
    if exp.endpoints:
        data["endpoints"] = {
            name: {
                "base_url": e.base_url,
                **({"api_key_env": e.api_key_env} if e.api_key_env else {}),
            }
            for name, e in exp.endpoints.items()
        }
    text = yaml_text(data)
    if source is None:
        rows.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    target.write_text(text, encoding="utf-8")
    return [*written, target]


def _check_free(path: Path, overwrite: bool) -> None:
    if path.exists() and not overwrite:
        raise ConfigError(f"{path} exists: choose another file, or overwrite it (--force).")


def _relative(path: Path, folder: Path) -> str:
    try:
        return str(path.resolve().relative_to(folder.resolve()))
    except ValueError:
        return str(path.resolve())


def _plain(value: Any) -> Any:
    """Specs as plain YAML data (tuples as lists, mappings as dicts)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
