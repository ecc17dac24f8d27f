"""GitHub Models prompt files (``*.prompt.yml``): read one as an experiment, and the facts the
exporter needs to write one (:mod:`workbench.artifact.github_models`).

The format (as ``gh models eval`` reads it)::

    name: Text Summarizer
    description: Summarizes input text concisely
    model: openai/gpt-4o-mini
    modelParameters: {temperature: 0.5, maxTokens: 200, topP: 1}
    responseFormat: json_schema          # or text, json_object
    jsonSchema: '{"name": "summary", "schema": {...}}'   # JSON text
    messages:
      - {role: system, content: You are a text summarizer.}
      - {role: user, content: "Summarize: {{input}}"}
    testData:
      - {input: The quick brown fox..., expected: Summary - ...}
    evaluators:
      - {name: starts right, string: {startsWith: "Summary -"}}
      - name: judge
        llm: {modelId: openai/gpt-4o, prompt: "... {{completion}} ...", systemPrompt: ...,
              choices: [{choice: good, score: 1}, {choice: bad, score: 0}]}
      - {name: similarity, uses: github/similarity}

Placeholders are ``{{name}}``, replaced by the test row's value and nothing else; the other
text is literal (a ``{%`` stays as it is). The reply is compared after trimming whitespace;
``equals`` is exact, ``contains``, ``startsWith`` and ``endsWith`` ignore case. ``openai/*``
models are workbench's ``openai/*``; other publishers' models run through GitHub's endpoint
(``github/<publisher>/<model>``, key ``GITHUB_TOKEN``). The built-in evaluators
(``uses: github/...``) are GitHub's own prompts and are reported, not imported.

This module imports no pandas: the production loader re-exports through it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from workbench.errors import ConfigError
from workbench.importers.spec import Imported, Notes, ScorerSpec

__all__ = [
    "ENDPOINT",
    "PARAMS",
    "STRING_EVALUATORS",
    "from_github_model",
    "literal_to_jinja",
    "read_github_models",
    "to_github_model",
]

ENDPOINT = (
    "github",
    {"base_url": "https://models.github.ai/inference", "api_key_env": "GITHUB_TOKEN"},
)
"""The OpenAI-compatible endpoint serving GitHub Models' catalog."""
PARAMS = {"maxTokens": "max_tokens", "temperature": "temperature", "topP": "top_p"}
"""``modelParameters`` keys -> workbench params."""
STRING_EVALUATORS = {
    "equals": ("exact", True),
    "contains": ("contains", False),
    "startsWith": ("starts_with", False),
    "endsWith": ("ends_with", False),
}
"""String evaluator -> (workbench scorer, case-sensitive)."""
_PLACEHOLDER = re.compile(r"\{\{([^{}]*)\}\}")
_TOP = {
    "name",
    "description",
    "model",
    "modelParameters",
    "responseFormat",
    "jsonSchema",
    "messages",
    "testData",
    "evaluators",
}


def from_github_model(model: str) -> tuple[str, tuple[str, Mapping[str, str]] | None]:
    """The workbench model id of a GitHub Models id, and the endpoint it needs (if any)."""
    publisher, _, name = model.partition("/")
    if not name:  # the short form of older files: gpt-4o-mini
        return f"openai/{model}", None
    if publisher == "openai":
        return model, None
    return f"{ENDPOINT[0]}/{model}", ENDPOINT


def to_github_model(model: str) -> str | None:
    """The GitHub Models id of a workbench model id, or None when GitHub does not serve it."""
    provider, _, name = model.partition("/")
    if provider == "openai" and name:
        return model
    if provider == ENDPOINT[0] and "/" in name:
        return name
    return None


def literal_to_jinja(text: str, keys: frozenset[str] | None = None) -> str:
    """GitHub Models text as a Jinja2 template that renders the same: ``{{name}}`` placeholders
    (of ``keys``, when given) become ``{{ name }}``; everything else stays literal."""
    out: list[str] = []
    at = 0
    for match in _PLACEHOLDER.finditer(text):
        name = match.group(1)
        if not name.isidentifier() or (keys is not None and name not in keys):
            continue
        out.append(_literal(text[at : match.start()]))
        out.append(f"{{{{ {name} }}}}")
        at = match.end()
    out.append(_literal(text[at:]))
    return "".join(out)


def _literal(text: str) -> str:
    """Text Jinja2 prints as it is."""
    if not any(mark in text for mark in ("{{", "{%", "{#")):
        return text
    if "endraw" not in text:
        return "{% raw %}" + text + "{% endraw %}"
    return "{{ '" + text.replace("\\", "\\\\").replace("'", "\\'") + "' }}"


def _variant(
    data: Mapping[str, Any], model: str, keys: frozenset[str], notes: Notes
) -> dict[str, Any]:
    messages = data.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ConfigError(
            f"{notes.source}: no messages; a prompt file needs messages: [{{role, content}}]."
        )
    turns: list[tuple[str, str]] = []
    for i, m in enumerate(messages):
        if not isinstance(m, Mapping) or str(m.get("role", "")).lower() not in (
            "system",
            "user",
            "assistant",
        ):
            raise ConfigError(
                f"{notes.source}: messages[{i}] needs role system, user or assistant."
            )
        turns.append((str(m["role"]).lower(), literal_to_jinja(str(m.get("content") or ""), keys)))
    spec: dict[str, Any] = {"name": str(data.get("name") or "prompt"), "model": model}
    if turns[0][0] == "system":
        spec["system"] = turns.pop(0)[1]
    if turns and turns[-1][0] == "user":
        spec["user"] = turns.pop()[1]
    if turns:
        spec["messages"] = [{"role": r, "content": c} for r, c in turns]
    spec["params"] = _params(data, notes)
    spec["description"] = str(data.get("description") or f"from {notes.source}")
    return spec


def _params(data: Mapping[str, Any], notes: Notes) -> dict[str, Any]:
    raw = data.get("modelParameters") or {}
    params: dict[str, Any] = {}
    for key, value in raw.items() if isinstance(raw, Mapping) else []:
        if key in PARAMS:
            params[PARAMS[key]] = value
        else:
            notes.add(
                "skipped", f"modelParameters.{key}", "a model parameter workbench does not send"
            )
    kind = data.get("responseFormat")
    if kind == "json_object":
        params["response_format"] = {"type": "json_object"}
    elif kind == "json_schema":
        try:
            schema = json.loads(str(data.get("jsonSchema")))
        except ValueError:
            raise ConfigError(f"{notes.source}: jsonSchema is not valid JSON text.") from None
        params["response_format"] = {"type": "json_schema", "json_schema": schema}
    elif kind not in (None, "text"):
        raise ConfigError(
            f"{notes.source}: responseFormat must be text, json_object or json_schema."
        )
    return params


def _scorer(
    raw: Any, i: int, keys: frozenset[str], notes: Notes
) -> tuple[dict[str, Any], tuple[str, Mapping[str, str]] | None] | None:
    where = f"evaluators[{i}]"
    if not isinstance(raw, Mapping) or not isinstance(raw.get("name"), str):
        notes.add("skipped", where, "an evaluator needs a name and string, llm or uses")
        return None
    name = raw["name"]
    string, llm = raw.get("string"), raw.get("llm")
    if isinstance(string, Mapping) and len(string) == 1 and next(iter(string)) in STRING_EVALUATORS:
        op, value = next(iter(string.items()))
        scorer, case = STRING_EVALUATORS[op]
        args = {
            "expected": literal_to_jinja(str(value), keys),
            "case_sensitive": case,
            "name": name,
        }
        return {"name": scorer, "args": args}, None
    if isinstance(llm, Mapping):
        model, endpoint = from_github_model(str(llm.get("modelId") or ""))
        args = {
            "prompt": literal_to_jinja(str(llm.get("prompt") or ""), keys | {"completion"}),
            "choices": llm.get("choices"),
            "model": model,
            "name": name,
        }
        if llm.get("systemPrompt"):
            args["system"] = literal_to_jinja(str(llm["systemPrompt"]), frozenset())
        return {"name": "choice_judge", "args": args}, endpoint
    uses = raw.get("uses")
    why = (
        f"the built-in evaluator '{uses}' is GitHub's own grading prompt; grade with "
        f"wb.scorers.judge(...) or similarity(...) instead"
        if isinstance(uses, str)
        else "an evaluator workbench cannot read (expected string, llm or uses)"
    )
    notes.add("skipped", f"{where} ({name})", why)
    return None


def read_github_models(path: str | Path) -> Imported:
    """The experiment a ``.prompt.yml`` file describes: its prompt as the one variant, its
    ``testData`` as rows, its evaluators as scorers; with the import report."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"Prompt file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not a readable YAML prompt file ({exc}).") from None
    if not isinstance(data, Mapping) or not isinstance(data.get("model"), str):
        raise ConfigError(f"{path}: expected a .prompt.yml mapping with model and messages.")
    notes = Notes(path.name)
    for key in sorted(set(data) - _TOP):
        notes.add("skipped", key, "a key workbench does not use")
    tests = data.get("testData") or [{}]
    if not isinstance(tests, list) or not all(isinstance(t, Mapping) for t in tests):
        raise ConfigError(f"{path}: testData must be a list of mappings (one per test).")
    keys = frozenset(str(k) for t in tests for k in t)
    model, endpoint = from_github_model(data["model"])
    variant = _variant(data, model, keys, notes)
    scorers: list[ScorerSpec] = []
    endpoints = dict([endpoint]) if endpoint else {}
    for i, raw in enumerate(data.get("evaluators") or []):
        built = _scorer(raw, i, keys, notes)
        if built is not None:
            scorers.append(ScorerSpec(built[0], f"{path.name}: evaluators[{i}]"))
            if built[1] is not None:
                endpoints[built[1][0]] = built[1][1]
    id_column = "id" if "id" not in keys else "test_id"
    rows = [
        {id_column: str(n), **{str(k): v for k, v in t.items()}}
        for n, t in enumerate(tests, start=1)
    ]
    name = str(data.get("name") or path.name.split(".")[0])
    return Imported(
        name=re.sub(r"[^\w.-]+", "-", name).strip("-").lower() or "prompt",
        rows=rows,
        variants=[variant],
        scorers=scorers,
        report=notes.report(),
        endpoints=endpoints,
        id_column=id_column,
        summary=str(data.get("description") or ""),
    )
