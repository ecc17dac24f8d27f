"""Write the GitHub Models file (``<name>.prompt.yml``) of an exported prompt, when it says the
same: the prompt, its model and parameters, the evaluation's rows as ``testData`` and the
scorers GitHub Models has an evaluator for (``gh models eval`` runs it)::

    name: capital-answerer
    description: friendly from experiment capitals
    model: openai/gpt-4o-mini
    modelParameters:
      maxTokens: 32
      temperature: 0
    messages:
    - role: system
      content: Answer briefly and kindly.
    - role: user
      content: '{{question}}'
    testData:
    - question: What is the capital of France?
      expected: Paris
    evaluators:
    - name: contains
      string:
        contains: '{{expected}}'

GitHub Models replaces ``{{name}}`` with a test's value and nothing else, so a template is
written only when it is text and ``{{ name }}`` placeholders (``{% raw %}`` text included).
The model must be one GitHub serves (``openai/...``, or ``github/<publisher>/<model>``), and
every parameter must have a ``modelParameters`` field or be a ``response_format``. Otherwise
:class:`~workbench.artifact.dotprompt.Untranslatable` says why and ``eval.json`` records it
under ``"github_models"``; scorers without an evaluator are listed there too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from jinja2 import TemplateSyntaxError, nodes

from workbench.artifact.dotprompt import Untranslatable
from workbench.artifact.prompty import PromptFile
from workbench.importers.github_models import PARAMS, STRING_EVALUATORS, to_github_model
from workbench.plain import yaml_text
from workbench.prompts.render import parse_template

__all__ = ["GITHUB_KEY", "github_file_name", "write_github_prompt"]

GITHUB_KEY = "github_models"
"""Key of ``eval.json`` saying why a version has no ``.prompt.yml``, or which scorers it left
out (absent when everything was written)."""
_FIELDS = {v: k for k, v in PARAMS.items()}
_EVALUATORS = {(scorer, case): op for op, (scorer, case) in STRING_EVALUATORS.items()}
_CASE_DEFAULTS = {"exact": True, "contains": False, "starts_with": True, "ends_with": True}


def github_file_name(name: str) -> str:
    """The file's name in a version folder: ``<prompt name>.prompt.yml``."""
    return f"{name}.prompt.yml"


def _text(template: str, where: str, extra: frozenset[str] = frozenset()) -> str:
    """A Jinja2 template as GitHub Models text; raises Untranslatable."""
    try:
        tree = parse_template(template)
    except TemplateSyntaxError as exc:
        raise Untranslatable(f"{where} has invalid syntax ({exc.message})") from None
    out: list[str] = []
    for node in tree.body:
        if not isinstance(node, nodes.Output):
            raise Untranslatable(f"{where} uses {{% {type(node).__name__.lower()} %}}")
        for child in node.nodes:
            if isinstance(child, nodes.TemplateData):
                text = child.data
            elif isinstance(child, nodes.Const) and isinstance(child.value, str):
                text = child.value
            elif isinstance(child, nodes.Name):
                out.append(f"{{{{{child.name}}}}}")
                continue
            else:
                raise Untranslatable(
                    f"{where} uses an expression GitHub Models cannot write (only {{{{ name }}}})"
                )
            if "{{" in text:
                raise Untranslatable(f"{where} has the text '{{{{', which GitHub Models would read")
            out.append(text)
    return "".join(out)


def _model_parameters(params: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    fmt: dict[str, Any] = {}
    for key, value in sorted(params.items()):
        if key in _FIELDS:
            out.setdefault("modelParameters", {})[_FIELDS[key]] = value
        elif key == "response_format" and isinstance(value, Mapping):
            kind = value.get("type")
            if kind not in ("text", "json_object", "json_schema"):
                raise Untranslatable(f"the response_format type {kind!r} has no .prompt.yml form")
            fmt["responseFormat"] = kind
            if kind == "json_schema":
                fmt["jsonSchema"] = json.dumps(value.get("json_schema"), sort_keys=True)
        else:
            raise Untranslatable(f"the parameter '{key}' has no .prompt.yml field")
    return {**out, **fmt}


def _evaluator(spec: Mapping[str, Any], column: str) -> dict[str, Any] | str:
    """The evaluator of one scorer spec, or why there is none."""
    name, args = str(spec.get("name")), dict(spec.get("args") or {})
    if args.get("negate"):
        return "GitHub Models evaluators cannot be negated"
    try:
        if name == "choice_judge":
            model = to_github_model(str(args.get("model")))
            if model is None:
                return f"its model '{args.get('model')}' is not one GitHub Models serves"
            llm: dict[str, Any] = {
                "modelId": model,
                "prompt": _text(str(args["prompt"]), "its prompt"),
                "choices": list(args["choices"]),
            }
            if args.get("system"):
                llm["systemPrompt"] = _text(str(args["system"]), "its system prompt")
            return {"name": column, "llm": llm}
        case = bool(args.get("case_sensitive", _CASE_DEFAULTS.get(name, False)))
        op = _EVALUATORS.get((name, case))
        if op is None and name in _CASE_DEFAULTS:
            theirs = "is case-sensitive" if name == "exact" else "ignores case"
            mine = "is case-sensitive" if case else "ignores case"
            return f"GitHub Models' check {theirs}, this scorer {mine}"
        if op is None:
            return f"GitHub Models has no evaluator for '{name}'"
        if name == "exact" and args.get("punctuation_sensitive") is False:
            return "GitHub Models' equals counts punctuation"
        expected = _text(str(args.get("expected", "{{ expected }}")), "its expected value")
        return {"name": column, "string": {op: expected}}
    except Untranslatable as exc:
        return str(exc)


def _test_data(
    evidence: Sequence[Mapping[str, Any]], variant: str, columns: Sequence[str]
) -> list[dict[str, Any]]:
    """One test per row of the exported variant: its inputs, in the dataset's column order."""
    seen: set[str] = set()
    rows = []
    for entry in evidence:
        if entry.get("variant") != variant or entry.get("row_id") in seen:
            continue
        seen.add(str(entry.get("row_id")))
        inputs = dict(entry.get("inputs") or {})
        order = [c for c in columns if c in inputs] + sorted(set(inputs) - set(columns))
        rows.append({k: "" if inputs[k] is None else inputs[k] for k in order})
    return rows


def write_github_prompt(
    prompt: PromptFile, record: Mapping[str, Any], evidence: Sequence[Mapping[str, Any]]
) -> tuple[str, str | None]:
    """The ``.prompt.yml`` text, and which scorers it leaves out and why (None: none); raises
    :class:`Untranslatable` when the prompt itself has no exact form."""
    model = to_github_model(prompt.model)
    if model is None:
        raise Untranslatable(
            f"the model '{prompt.model}' is not one GitHub Models serves (openai/<model> or "
            f"github/<publisher>/<model>)"
        )
    if prompt.history is not None:
        raise Untranslatable(
            f"the prompt takes a conversation ('{prompt.history}'), which a .prompt.yml cannot"
        )
    messages = [
        {"role": role, "content": _text(template, f"the {role} message")}
        for role, template in prompt.messages
    ]
    data: dict[str, Any] = {"name": prompt.name}
    if prompt.description:
        data["description"] = prompt.description
    data["model"] = model
    data.update(_model_parameters(prompt.params))
    data["messages"] = messages
    columns = (record.get("dataset") or {}).get("columns") or []
    tests = _test_data(evidence, str(record.get("variant")), columns)
    if tests:
        data["testData"] = tests
    evaluators, left = [], []
    specs = record.get("scorers") or []
    for spec, column in zip(specs, record.get("scorer_columns") or [], strict=False):
        found = _evaluator(spec, str(column))
        if isinstance(found, str):
            left.append(f"'{column}' ({found})")
        else:
            evaluators.append(found)
    if evaluators:
        data["evaluators"] = evaluators
    note = f"written without the scorer(s) {', '.join(left)}" if left else None
    return yaml_text(data), note
