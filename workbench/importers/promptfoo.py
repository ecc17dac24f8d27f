"""Read a promptfoo config (``promptfooconfig.yaml``) as an experiment.

- every prompt × provider is a variant (``providers[].prompts`` filters honoured), named
  ``<prompt>@<provider>`` (just one of them when the other is alone);
- every test case is a dataset row (``defaultTest``, ``scenarios``, list variables expanded;
  see :mod:`.promptfoo_tests`); ``evaluateOptions.repeat`` is the repeats,
  ``evaluateOptions.maxConcurrency`` the concurrency;
- every assertion becomes a scorer (:mod:`.promptfoo_asserts`). The same assertion on every
  test is one scorer with its value written in; one carried by some tests only, or with a value
  that differs between tests, reads that value from a dataset column ``assert_<name>`` and is
  unscored on rows without it (``when``). ``weight`` or a test ``threshold`` adds a
  ``weighted_score`` scorer: the weighted mean of the others, passing as promptfoo's test does.

What cannot be carried over is in the report, and in the experiment's description.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.errors import ConfigError, WorkbenchError
from workbench.importers.files import read_yaml, text_of
from workbench.importers.promptfoo_asserts import (
    DEFAULT_EMBEDDER,
    DEFAULT_GRADER,
    Context,
    Value,
    map_assertion,
)
from workbench.importers.promptfoo_prompts import Prompt, read_prompts
from workbench.importers.promptfoo_providers import Target, read_provider
from workbench.importers.promptfoo_tests import Case, read_cases
from workbench.importers.spec import Imported, Notes, ScorerSpec
from workbench.prompts.render import template_variables

__all__ = ["read_promptfoo"]

_USED = {"description", "prompts", "providers", "targets", "tests", "defaultTest", "scenarios"}
_IGNORED = {"outputPath", "sharing", "tags", "writeLatestResults", "metadata"}
_SLOT = re.compile("\x00(\\d+)\x00")


@dataclass
class _Slot:
    """One scorer being assembled from the same assertion across tests."""

    spec: Mapping[str, Any]
    label: str
    weight: float
    where: str
    values: dict[int, tuple[Value, ...]] = field(default_factory=dict)


class _Columns:
    """Dataset columns the import adds, named clear of the tests' variables."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        self.taken = {k for row in rows for k in row}

    def add(self, base: str, values: Mapping[int, Any]) -> str:
        stem = re.sub(r"\W+", "_", base).strip("_") or "assert"
        name, n = stem, 1
        while name in self.taken:
            n += 1
            name = f"{stem}_{n}"
        self.taken.add(name)
        for r, row in enumerate(self.rows):
            row[name] = values.get(r)
        return name


def _fill(value: Any, subs: Mapping[int, Any]) -> Any:
    """A spec with its placeholders replaced (a list value replaces a whole placeholder)."""
    if isinstance(value, str):
        whole = _SLOT.fullmatch(value)
        if whole and not isinstance(subs[int(whole.group(1))], str):
            return subs[int(whole.group(1))]
        return _SLOT.sub(lambda m: str(subs[int(m.group(1))]), value)
    if isinstance(value, Mapping):
        return {k: _fill(v, subs) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, subs) for v in value]
    return value


def _finish(slot: _Slot, cases: int, columns: _Columns) -> dict[str, Any]:
    """The slot's scorer spec: constant values written in, varying ones read from columns,
    gated by ``when`` unless every test has it."""
    everywhere = len(slot.values) == cases
    count = len(next(iter(slot.values.values())))
    subs: dict[int, Any] = {}
    gate: str | None = None
    for j in range(count):
        raws = {json.dumps(v[j].raw) for v in slot.values.values()}
        if everywhere and len(raws) == 1:
            raw = next(iter(slot.values.values()))[j].raw
            subs[j] = list(raw) if isinstance(raw, tuple) else raw
            continue
        column = columns.add(
            f"assert_{slot.label}", {r: v[j].rendered for r, v in slot.values.items()}
        )
        subs[j] = f"{{{{ {column} }}}}"
        gate = gate or column
    if not everywhere and gate is None:
        gate = columns.add(f"has_{slot.label}", {r: "yes" for r in slot.values})
    spec = _fill(slot.spec, subs)
    if slot.label != spec["name"]:
        spec = {**spec, "args": {**spec["args"], "name": slot.label}}
    return {"name": "when", "args": {"column": gate, "scorer": spec}} if gate else spec


def _refs(config: Mapping[str, Any]) -> Any:
    """Resolve ``{$ref: '#/assertionTemplates/name'}`` entries against the config."""

    def resolve(raw: Any, where: str) -> Any:
        if not (isinstance(raw, Mapping) and isinstance(raw.get("$ref"), str)):
            return raw
        target: Any = config
        for part in raw["$ref"].removeprefix("#/").split("/"):
            target = target.get(part) if isinstance(target, Mapping) else None
        if target is None:
            raise ConfigError(f"{where}: $ref {raw['$ref']} names nothing in the config.")
        return target

    return resolve


def _scorers(
    cases: Sequence[Case],
    rows: list[dict[str, Any]],
    base: Path,
    config: Mapping[str, Any],
    defaults: tuple[str, str],
    notes: Notes,
) -> tuple[list[ScorerSpec], dict[str, Mapping[str, str]]]:
    slots: dict[tuple[str, int], _Slot] = {}
    endpoints: dict[str, Mapping[str, str]] = {}
    refs = _refs(config)
    for r, case in enumerate(cases):
        if case.transform and case.asserts:
            notes.add(
                "skipped",
                f"{case.where}.options.transform",
                "the test's assertions check a transformed output (JavaScript), which "
                "workbench cannot compute; they are left out",
            )
            continue
        seen: dict[str, int] = {}
        ctx = Context(case.vars, base, case.grader, defaults[0], defaults[1], case.metric, refs)
        for raw, where in case.asserts:
            mapped = map_assertion(raw, ctx, where, notes)
            if mapped is None:
                continue
            key = json.dumps(
                [mapped.spec, mapped.label, mapped.weight], sort_keys=True, default=str
            )
            k = seen[key] = seen.get(key, -1) + 1
            slot = slots.setdefault(
                (key, k), _Slot(mapped.spec, mapped.label, mapped.weight, where)
            )
            slot.values[r] = mapped.values
            endpoints.update(dict(mapped.endpoints))
    columns = _Columns(rows)
    specs = [(_finish(s, len(cases), columns), s) for s in slots.values()]
    out = [ScorerSpec(spec, f"{notes.source}: {s.where}") for spec, s in specs]
    thresholds = {c.threshold for c in cases}
    if specs and (any(s.weight != 1.0 for _, s in specs) or thresholds != {None}):
        if len(thresholds) > 1:
            notes.add(
                "skipped",
                "tests[].threshold",
                f"tests differ in threshold ({sorted(thresholds, key=str)}); workbench applies "
                f"one to every row, so there is no weighted_score",
            )
        else:
            args: dict[str, Any] = {
                "scorers": [spec for spec, _ in specs],
                "weights": [s.weight for _, s in specs],
                "name": "weighted_score",
            }
            if None not in thresholds:
                args["threshold"] = thresholds.pop()
            out.append(ScorerSpec({"name": "weighted", "args": args}, f"{notes.source}: tests"))
    return out, endpoints


def _matches(prompt: Prompt, filters: Sequence[str]) -> bool:
    for f in filters:
        if f in prompt.ids or prompt.label.startswith(f"{f}:"):
            return True
        if f.endswith("*") and prompt.label.startswith(f[:-1]):
            return True
    return False


def _variants(
    prompts: Sequence[Prompt], targets: Sequence[Target], notes: Notes
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    taken: set[str] = set()
    for prompt in prompts:
        for target in targets:
            if target.prompts is not None and not _matches(prompt, target.prompts):
                continue
            if len(targets) == 1:
                name = prompt.label
            elif len(prompts) == 1:
                name = target.label
            else:
                name = f"{prompt.label}@{target.label}"
            base, n = name, 1
            while name in taken:
                n += 1
                name = f"{base}-{n}"
            taken.add(name)
            out.append(
                {
                    "name": name,
                    "model": target.model,
                    **prompt.fields(),
                    "params": dict(target.params),
                    "description": f"promptfoo {prompt.where} on {target.model}",
                }
            )
    return out


def _rows(
    cases: Sequence[Case], prompts: Sequence[Prompt], notes: Notes
) -> tuple[list[dict[str, Any]], str]:
    names = {k for c in cases for k in c.vars}
    id_column = "id" if "id" not in names else "test_id"
    rows = [{id_column: str(n), **c.vars} for n, c in enumerate(cases, start=1)]
    if any(c.description for c in cases):
        column = "description" if "description" not in names else "test_description"
        for row, case in zip(rows, cases, strict=True):
            row[column] = case.description or None
    if any(c.metadata for c in cases):
        notes.add("skipped", "tests[].metadata", "test metadata is not imported")
    read = {n for p in prompts for _, t in p.messages for n in template_variables(t)}
    for name in sorted(read - names - {id_column}):
        notes.add(
            "approximated",
            "prompts",
            f"the prompts read {{{{ {name} }}}}, which no test sets: it renders empty",
        )
        for row in rows:
            row[name] = None
    return rows, id_column


def _options(config: Mapping[str, Any], notes: Notes) -> tuple[int, int | None]:
    options = config.get("evaluateOptions") or {}
    if not isinstance(options, Mapping):
        raise ConfigError("evaluateOptions must be a mapping.")
    repeat = options.get("repeat", 1)
    if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
        raise ConfigError("evaluateOptions.repeat must be a whole number >= 1.")
    concurrency = options.get("maxConcurrency")
    if concurrency is not None and (not isinstance(concurrency, int) or concurrency < 1):
        notes.add(
            "skipped", "evaluateOptions.maxConcurrency", f"not a whole number: {concurrency!r}"
        )
        concurrency = None
    for key in sorted(set(options) - {"repeat", "maxConcurrency", "cache", "showProgressBar"}):
        notes.add(
            "skipped", f"evaluateOptions.{key}", "an evaluation option workbench does not use"
        )
    return repeat, concurrency


def _name(path: Path) -> str:
    stem = path.stem
    return path.resolve().parent.name if stem in ("promptfooconfig", "promptfoo") else stem


def read_promptfoo(
    path: str | Path, *, grader: str | None = None, embedder: str | None = None
) -> Imported:
    """The experiment a promptfoo config describes, as plain data with its import report.

    ``grader``: the model of model-graded assertions that name none (default: promptfoo's,
    ``openai/gpt-4.1``); ``embedder``: the embedder of ``similar`` assertions that name none
    (default: the local ``minilm``).
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"promptfoo config not found: {path}")
    config = read_yaml(text_of(path, str(path)), path)
    if not isinstance(config, Mapping):
        raise ConfigError(
            f"{path}: expected a promptfoo config (a mapping with prompts, providers, tests)."
        )
    try:
        return _read(path, config, grader, embedder)
    except WorkbenchError as exc:  # name the config in every problem
        if not str(exc).startswith(str(path)):
            exc.args = (f"{path}: {exc}",)
        raise


def _read(
    path: Path, config: Mapping[str, Any], grader: str | None, embedder: str | None
) -> Imported:
    notes = Notes(path.name)
    base = path.parent
    for key in sorted(set(config) - _USED - _IGNORED - {"evaluateOptions", "assertionTemplates"}):
        notes.add("skipped", key, "a config key workbench does not use")
    prompts = read_prompts(config.get("prompts"), base, notes)
    raw_targets = config.get("providers", config.get("targets"))
    if raw_targets is None:
        raise ConfigError(
            f"{path}: no providers: name at least one, e.g. providers: [openai:gpt-4.1-mini]."
        )
    listed = raw_targets if isinstance(raw_targets, list) else [raw_targets]
    found = [read_provider(t, f"providers[{i}]", notes) for i, t in enumerate(listed)]
    targets = [t for t in found if t is not None]
    cases = read_cases(config, base, notes)
    rows, id_column = _rows(cases, prompts, notes)
    scorers, endpoints = _scorers(
        cases, rows, base, config, (grader or DEFAULT_GRADER, embedder or DEFAULT_EMBEDDER), notes
    )
    endpoints.update({t.endpoint[0]: t.endpoint[1] for t in targets if t.endpoint is not None})
    repeat, concurrency = _options(config, notes)
    summary = config.get("description")
    return Imported(
        name=_name(path),
        rows=rows,
        variants=_variants(prompts, targets, notes),
        scorers=scorers,
        report=notes.report(),
        repeats=repeat,
        concurrency=concurrency,
        endpoints=endpoints,
        id_column=id_column,
        summary=str(summary) if isinstance(summary, str) else "",
    )
