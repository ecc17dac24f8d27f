"""promptfoo assertions as workbench scorer specs.

=============================================  ===============================================
promptfoo                                      workbench scorer
=============================================  ===============================================
``equals`` (text)                              ``exact`` (case- and whitespace-sensitive)
``equals`` (an object or list)                 ``json_schema`` with ``const``
``contains`` / ``icontains``                   ``contains`` (case-sensitive / not)
``contains-any`` / ``icontains-any``           ``any_of``
``contains-all`` / ``icontains-all``           ``all_of``
``starts-with``                                ``starts_with``
``regex``                                      ``regex`` (``(?<name>`` read as ``(?P<name>``)
``is-json`` / ``contains-json`` (schema)       ``json_valid`` / ``json_schema`` / ``contains_json``
``similar`` (``threshold``, default 0.75)      ``similarity(method="embedding")``
``levenshtein`` (``threshold``, default 5)     ``levenshtein(max_distance=...)``
``llm-rubric`` (``threshold``)                 ``judge`` (pass/fail; a 0-10 scale with a threshold)
``model-graded-closedqa``, ``factuality``      ``judge`` with a rubric asking the same question
``not-<type>``                                 the same scorer with ``negate=True``
``assert-set`` (``threshold``, ``weight``)     ``weighted``
=============================================  ===============================================

``metric`` names the result column; ``weight`` and the test ``threshold`` make a ``weighted``
scorer (see :mod:`workbench.importers.promptfoo`). JavaScript, Python and other code, webhooks,
``transform`` and the other types are reported as skipped.

A value that differs from test to test is a placeholder in the spec (:func:`slot`), filled in
when the specs of all tests are put together.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.errors import TemplateError
from workbench.importers.files import expand, file_ref, load_file
from workbench.importers.nunjucks import to_jinja
from workbench.importers.promptfoo_providers import Target, embedder_of, grader_of
from workbench.importers.spec import Notes
from workbench.prompts.render import render_template, template_variables

__all__ = ["DEFAULT_GRADER", "Context", "Mapped", "map_assertion", "parse_expected", "slot"]

DEFAULT_GRADER = "openai/gpt-4.1"
"""promptfoo's default grading model (``gpt-4.1`` when an OpenAI key is set)."""
DEFAULT_EMBEDDER = "minilm"
_CODE = ("javascript", "python", "ruby", "webhook")
_KNOWN = {
    "equals",
    "contains",
    "icontains",
    "contains-any",
    "icontains-any",
    "contains-all",
    "icontains-all",
    "starts-with",
    "regex",
    "is-json",
    "contains-json",
    "similar",
    "similar:cosine",
    "levenshtein",
    "llm-rubric",
    "model-graded-closedqa",
    "factuality",
    "model-graded-factuality",
    "assert-set",
}
_STRING_ALIASES = {"grade": "llm-rubric", "fn": "javascript", "eval": "javascript"}
_STRING_TYPE = re.compile(r"^(not-)?([a-z][a-z0-9-]*(?::[a-z]+)?)(?:\(([0-9.]+)\))?:\s?(.*)$", re.S)
_FACTUALITY = (
    "The RESPONSE must be factually consistent with this expert answer: {value}\n"
    "PASS when it states the same facts, a subset or a superset of them, or differs only in "
    "wording; FAIL when it contradicts the expert answer."
)
_CLOSEDQA = "Does the RESPONSE meet this criterion? {value}"


def slot(index: int) -> str:
    """The placeholder of a value that may differ from test to test."""
    return f"\x00{index}\x00"


@dataclass(frozen=True)
class Value:
    """One per-test value of an assertion: its template(s) as written, and as rendered for the
    test (a list as JSON text, which ``any_of``/``all_of`` read back as a list)."""

    raw: str | tuple[str, ...]
    rendered: str


@dataclass(frozen=True)
class Mapped:
    """A scorer spec for one assertion, with :func:`slot` placeholders for its values."""

    spec: Mapping[str, Any]
    values: tuple[Value, ...]
    label: str
    weight: float = 1.0
    endpoints: tuple[tuple[str, Mapping[str, str]], ...] = ()


@dataclass
class Context:
    """What an assertion of one test may read."""

    vars: Mapping[str, Any]
    base: Path
    grader: Any = None
    """The test's ``options.provider`` (grading and embedding model), if any."""
    default_grader: str = DEFAULT_GRADER
    default_embedder: str = DEFAULT_EMBEDDER
    metric: str | None = None
    """The test's metric (CSV ``__metric``) for assertions that name none."""
    refs: Callable[[Any, str], Any] = field(default=lambda raw, where: raw)
    """Resolves ``$ref`` entries (assertion templates) of the config."""


class _Builder:
    """Collects the per-test values of one assertion while its spec is built."""

    def __init__(self, ctx: Context, where: str, notes: Notes) -> None:
        self.ctx, self.where, self.notes = ctx, where, notes
        self.values: list[Value] = []
        self.endpoints: list[tuple[str, Mapping[str, str]]] = []

    def _jinja(self, value: Any) -> tuple[str, str] | None:
        """(template, rendered for this test) of one text value; None when unreadable."""
        if isinstance(value, bool) or value is None:
            value = "" if value is None else str(value).lower()
        jinja = to_jinja(value if isinstance(value, str) else str(value), self.where, self.notes)
        if jinja is None:
            return None
        row = {name: self.ctx.vars.get(name) for name in template_variables(jinja)}
        try:
            return jinja, render_template(jinja, row, self.where)
        except TemplateError as exc:
            self.notes.add("skipped", self.where, f"the value does not render: {exc}")
            return None

    def _slot(self, value: Value) -> str:
        self.values.append(value)
        return slot(len(self.values) - 1)

    def text(self, value: Any) -> str | None:
        """A text value as a placeholder (None when its template cannot be read)."""
        found = self._jinja(value)
        return None if found is None else self._slot(Value(*found))

    def texts(self, value: Any) -> str | None:
        """A list of texts (a list, or promptfoo's comma-separated text) as one placeholder."""
        items = value if isinstance(value, list) else _comma_list(str(value))
        found = [self._jinja(item) for item in items]
        if any(f is None for f in found):
            return None
        pairs = [f for f in found if f is not None]
        rendered = json.dumps([r for _, r in pairs], ensure_ascii=False)
        return self._slot(Value(tuple(t for t, _ in pairs), rendered))

    def grader(self, raw: Mapping[str, Any]) -> str:
        chosen = raw.get("provider") or self.ctx.grader
        if chosen is None:
            return self.ctx.default_grader
        target = grader_of(chosen, f"{self.where}.provider", self.notes)
        return self._use(target) or self.ctx.default_grader

    def embedder(self, raw: Mapping[str, Any]) -> str:
        chosen = raw.get("provider") or self.ctx.grader
        found = embedder_of(chosen) if chosen is not None else None
        if found is None:
            self.notes.add(
                "approximated",
                self.where,
                f"embeddings by workbench's '{self.ctx.default_embedder}' (promptfoo "
                f"defaults to OpenAI's text-embedding-3-large): cosine values differ between "
                f"models, so check the threshold, or import with embedder="
                f"'openai/text-embedding-3-large'",
            )
        return found or self.ctx.default_embedder

    def _use(self, target: Target | None) -> str | None:
        if target is None:
            return None
        if target.endpoint is not None:
            self.endpoints.append(target.endpoint)
        return target.model


def _comma_list(text: str) -> list[str]:
    """promptfoo's comma-separated list (quotes keep commas inside an item)."""
    return [item.strip() for item in next(csv.reader(io.StringIO(text), skipinitialspace=True), [])]


def parse_expected(text: str) -> dict[str, Any]:
    """An assertion from promptfoo's compact syntax (CSV ``__expected`` columns):
    ``contains: Paris``, ``similar(0.8): ...``, ``not-regex: ...``, ``grade: ...``; anything
    else is ``equals``."""
    if text.startswith("file://"):
        return {"type": "javascript" if text.endswith(".js") else "python", "value": text}
    match = _STRING_TYPE.match(text)
    if match:
        negate, kind, threshold, value = match.groups()
        kind = _STRING_ALIASES.get(kind, kind)
        if kind in _KNOWN or kind in _CODE or kind in _OTHER:
            out: dict[str, Any] = {"type": f"{negate or ''}{kind}", "value": value}
            if threshold:
                out["threshold"] = float(threshold)
            return out
    bare = text.strip()
    if bare.removeprefix("not-") in ("is-json", "contains-json"):
        return {"type": bare}
    return {"type": "equals", "value": text}


_OTHER = {
    "latency",
    "cost",
    "perplexity",
    "perplexity-score",
    "rouge-n",
    "bleu",
    "gleu",
    "meteor",
    "answer-relevance",
    "context-faithfulness",
    "context-recall",
    "context-relevance",
    "g-eval",
    "moderation",
    "classifier",
    "is-xml",
    "contains-xml",
    "is-sql",
    "contains-sql",
    "is-html",
    "contains-html",
    "is-refusal",
    "word-count",
    "select-best",
    "max-score",
    "pi",
    "finish-reason",
    "is-valid-openai-tools-call",
    "is-valid-openai-function-call",
    "is-valid-function-call",
}


def _schema(value: Any, ctx: Context, where: str, notes: Notes) -> Mapping[str, Any] | None:
    ref = file_ref(value)
    if ref is not None:
        value = load_file(expand(ref, ctx.base, where)[0], where)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            notes.add("skipped", where, "the JSON schema is not valid JSON")
            return None
    if not isinstance(value, Mapping):
        notes.add("skipped", where, f"the JSON schema must be an object, not {value!r}")
        return None
    return value


def _js_regex(pattern: str) -> str:
    """A JavaScript regular expression's named groups in Python's spelling."""
    return re.sub(r"\(\?<(?![=!])", "(?P<", pattern)


def _text_value(value: Any, ctx: Context, where: str) -> Any:
    """An assertion value, with ``file://`` text files read (scripts stay references)."""
    ref = file_ref(value)
    if ref is None or ref.endswith((".js", ".py", ".ts", ".mjs", ".cjs")):
        return value
    return load_file(expand(ref, ctx.base, where)[0], where)


def _label(kind: str, negate: bool, metric: Any) -> str:
    if isinstance(metric, str) and metric.strip():
        return metric.strip()
    return ("not_" if negate else "") + kind.replace("-", "_").replace(":", "_")


def map_assertion(raw: Any, ctx: Context, where: str, notes: Notes) -> Mapped | None:
    """The scorer spec of one assertion; None (reported) when it has no workbench form."""
    raw = ctx.refs(raw, where)
    if isinstance(raw, str):
        raw = parse_expected(raw)
    if not isinstance(raw, Mapping) or not isinstance(raw.get("type"), str):
        notes.add("skipped", where, f"not an assertion (expected {{type, value}}): {raw!r}")
        return None
    full = str(raw["type"])
    negate = full.startswith("not-")
    kind = full.removeprefix("not-")
    if raw.get("transform") or raw.get("contextTransform"):
        notes.add(
            "skipped",
            where,
            f"'{full}' checks a transformed output (transform: JavaScript), which workbench "
            f"cannot run; write the check as a Python scorer (@wb.scorers.scorer)",
        )
        return None
    weight = raw.get("weight", 1.0)
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight < 0:
        notes.add("skipped", where, f"weight must be a number >= 0, not {weight!r}")
        return None
    build = _Builder(ctx, where, notes)
    spec = _spec(kind, raw, build, ctx, where, notes)
    if spec is None:
        return None
    if raw.get("rubricPrompt") is not None:
        notes.add(
            "approximated",
            f"{where}.rubricPrompt",
            "workbench's judge prompt is used (the rubric itself is kept)",
        )
    if negate:
        spec = {**spec, "args": {**spec["args"], "negate": True}}
    return Mapped(
        spec,
        tuple(build.values),
        _label(kind, negate, raw.get("metric") or ctx.metric),
        float(weight),
        tuple(build.endpoints),
    )


def _spec(
    kind: str, raw: Mapping[str, Any], build: _Builder, ctx: Context, where: str, notes: Notes
) -> dict[str, Any] | None:
    value = _text_value(raw.get("value"), ctx, where)
    threshold = raw.get("threshold")
    if kind in _CODE or kind not in _KNOWN:
        shown = " ".join(str(value).split())[:80] if value is not None else ""
        why = (
            f"{kind} code cannot run in workbench; write it as a Python scorer "
            f"(@wb.scorers.scorer) and add it to the experiment"
            if kind in _CODE
            else f"the assertion type '{kind}' has no workbench scorer"
        )
        notes.add("skipped", where, why + (f" (value: {shown!r})" if shown else ""))
        return None
    if kind == "assert-set":
        return _assert_set(raw, build, ctx, where, notes)
    if kind in ("is-json", "contains-json"):
        name = "json_valid" if kind == "is-json" else "contains_json"
        if value is None:
            return {"name": name, "args": {}}
        schema = _schema(value, ctx, where, notes)
        if schema is None:
            return None
        return {"name": "json_schema" if kind == "is-json" else name, "args": {"schema": schema}}
    if kind == "equals" and isinstance(value, (Mapping, list)):
        return {"name": "json_schema", "args": {"schema": {"const": value}}}
    if value is None:
        notes.add("skipped", where, f"'{kind}' needs a value")
        return None
    if kind in ("contains-any", "icontains-any", "contains-all", "icontains-all"):
        items = build.texts(value)
        if items is None:
            return None
        name = "any_of" if kind.endswith("any") else "all_of"
        return {"name": name, "args": {"expected": items, "case_sensitive": kind[0] != "i"}}
    if kind in ("similar", "similar:cosine") and isinstance(value, list):
        notes.add("skipped", where, "'similar' to any of several values has no workbench scorer")
        return None
    text = build.text(_js_regex(value) if kind == "regex" and isinstance(value, str) else value)
    if text is None:
        return None
    return _scored(kind, text, threshold, raw, build, where, notes)


def _scored(
    kind: str,
    text: str,
    threshold: Any,
    raw: Mapping[str, Any],
    build: _Builder,
    where: str,
    notes: Notes,
) -> dict[str, Any] | None:
    args: dict[str, Any]
    if kind == "equals":
        args = {"expected": text, "case_sensitive": True, "whitespace_sensitive": True}
        return {"name": "exact", "args": args}
    if kind in ("contains", "icontains"):
        return {
            "name": "contains",
            "args": {"expected": text, "case_sensitive": kind == "contains"},
        }
    if kind == "starts-with":
        return {"name": "starts_with", "args": {"expected": text, "case_sensitive": True}}
    if kind == "regex":
        return {"name": "regex", "args": {"pattern": text}}
    if kind in ("similar", "similar:cosine"):
        cut = 0.75 if threshold is None else threshold
        args = {"reference": text, "method": "embedding", "threshold": cut}
        return {"name": "similarity", "args": {**args, "embedder": build.embedder(raw)}}
    if kind == "levenshtein":
        limit = 5 if threshold is None else threshold
        if isinstance(limit, float) and limit.is_integer():
            limit = int(limit)
        return {"name": "levenshtein", "args": {"expected": text, "max_distance": limit}}
    model = build.grader(raw)
    if kind == "llm-rubric":
        args = {"rubric": text, "model": model}
        if threshold is not None:  # promptfoo's score in [0, 1], read in tenths
            args.update(scale=[str(i) for i in range(11)], threshold=threshold)
        return {"name": "judge", "args": args}
    template = _CLOSEDQA if kind == "model-graded-closedqa" else _FACTUALITY
    notes.add(
        "approximated",
        where,
        f"'{kind}' is graded by workbench's judge (pass/fail) with a rubric asking the same "
        f"question, not promptfoo's own grading prompt",
    )
    return {"name": "judge", "args": {"rubric": template.format(value=text), "model": model}}


def _assert_set(
    raw: Mapping[str, Any], build: _Builder, ctx: Context, where: str, notes: Notes
) -> dict[str, Any] | None:
    inner = raw.get("assert")
    if not isinstance(inner, list) or not inner:
        notes.add("skipped", where, "an assert-set needs a list under 'assert'")
        return None
    specs, weights = [], []
    for i, item in enumerate(inner):
        mapped = map_assertion(item, ctx, f"{where}.assert[{i}]", notes)
        if mapped is None:
            continue
        offset = len(build.values)
        spec = _shift(mapped.spec, offset)
        build.values.extend(mapped.values)
        build.endpoints.extend(mapped.endpoints)
        if mapped.label != spec["name"]:
            spec = {**spec, "args": {**spec["args"], "name": mapped.label}}
        specs.append(spec)
        weights.append(mapped.weight)
    if not specs:
        notes.add("skipped", where, "no assertion of the assert-set could be imported")
        return None
    args: dict[str, Any] = {"scorers": specs}
    if any(w != 1.0 for w in weights):
        args["weights"] = weights
    if raw.get("threshold") is not None:
        args["threshold"] = raw["threshold"]
    return {"name": "weighted", "args": args}


def _shift(value: Any, offset: int) -> Any:
    """A spec with its placeholders renumbered by ``offset`` (an assert-set's inner ones)."""
    if isinstance(value, str):
        return re.sub("\x00(\\d+)\x00", lambda m: slot(int(m.group(1)) + offset), value)
    if isinstance(value, Mapping):
        return {k: _shift(v, offset) for k, v in value.items()}
    if isinstance(value, list):
        return [_shift(v, offset) for v in value]
    return value
