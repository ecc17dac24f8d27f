"""Write and read the Prompty file (``prompt.prompty``) of an exported prompt.

The file is YAML front matter followed by a Jinja2 body with role markers, in the form
Microsoft's ``prompty`` package (v2) loads::

    ---
    name: capital-answerer
    description: Answer briefly and kindly.
    model:
      id: echo
      provider: fake
      options:
        maxOutputTokens: 32
        temperature: 0
    inputs:
      question:
        example: What is the capital of France?
        kind: string
    template:
      format:
        kind: jinja2
      parser:
        kind: prompty
    metadata:
      workbench:
        experiment: capitals
        variant: friendly
    ---
    system:
    Answer briefly and kindly.

    user:
    {{ question }}

Reading needs only PyYAML: the production loader uses it without pandas. Each message template
is kept apart and rendered on its own in workbench's sandbox, so a value can never inject a role
marker. Like ``prompty``, leading and trailing newlines of a message are not kept.

A variant with a conversation column (``Variant(history="conversation")``) gets a ``kind: thread``
input, prompty's input for the conversation so far (its example: the first evidence row's), and a
section holding only ``{{ conversation }}`` where the turns go::

    inputs:
      conversation:
        kind: thread
        description: The conversation so far (user and assistant turns).
        example:
        - role: user
          content: Hi
    ...
    system:
    You are a helpful assistant.

    user:
    {{ conversation }}

    user:
    {{ question }}

``prompty.prepare`` replaces that section with the turns, as structured messages (their text is
never rendered nor split on role markers); the section's own role marker is not used.

A variant with tools gets prompty ``tools`` (``kind: function``, its parameters as prompty
properties) for prompty to send; ``parallel_tool_calls`` is the option
``allowMultipleToolCalls`` and ``tool_choice`` goes in ``model.options.additionalProperties``
(sent as it is). Prompty's parameter properties cannot say everything a JSON Schema can, so the
definitions exactly as the evaluation sent them are kept in ``metadata.workbench.tools``, which
workbench's loader reads::

    tools:
    - name: lookup_order
      kind: function
      description: Find an order by id.
      parameters:
      - name: order_id
        kind: string
        required: true

A variant with a ``response_format`` (structured output) keeps it in ``model.options`` (what
workbench loads and sends) and, where its JSON Schema translates (an object of typed properties,
arrays, nested objects), also gets prompty ``outputs``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from workbench.errors import ArtifactError, TemplateError
from workbench.prompts.render import template_variables
from workbench.prompts.schema import schema_of
from workbench.prompts.tools import ToolConfig, tool_config

__all__ = [
    "PromptFile",
    "conflicting_lines",
    "options_to_params",
    "params_to_options",
    "parse_prompty",
    "prompty_outputs",
    "write_prompty",
]

# The role-marker line prompty recognises (system:, user:, assistant:, developer:; any case,
# optional '#', optional [attrs]); a template line matching it would split a message in two.
_ROLE_LINE = re.compile(r"(?i)^\s*#?\s*(system|user|assistant|developer)(\[[^\]]*\])?\s*:\s*$")
_WRITTEN_ROLE = re.compile(r"^(system|user|assistant|developer):$")
_THREAD = "thread"
_THREAD_DESCRIPTION = "The conversation so far (user and assistant turns)."

# workbench params <-> prompty ModelOptions fields; anything else goes in additionalProperties.
_OPTIONS = {
    "temperature": "temperature",
    "max_tokens": "maxOutputTokens",
    "top_p": "topP",
    "top_k": "topK",
    "seed": "seed",
    "presence_penalty": "presencePenalty",
    "frequency_penalty": "frequencyPenalty",
    "reasoning_effort": "reasoningEffort",
    "parallel_tool_calls": "allowMultipleToolCalls",
}
_PARAMS = {v: k for k, v in _OPTIONS.items()}


@dataclass(frozen=True)
class PromptFile:
    """The content of a ``.prompty`` file, in workbench terms."""

    name: str
    model: str
    """Full workbench model id, ``provider/model``."""
    messages: tuple[tuple[str, str], ...]
    """(role, Jinja2 template) in order."""
    params: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    examples: Mapping[str, Any] = field(default_factory=dict)
    """Input name -> example value (None when there is no example)."""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    """``metadata.workbench`` of the front matter."""
    history: str | None = None
    """The input holding the conversation so far (a ``kind: thread`` input), or None."""
    history_at: int = 0
    """How many of ``messages`` come before the conversation's turns."""
    tools: ToolConfig | None = None
    """The tools offered to the model (definitions, tool_choice, parallel_tool_calls)."""


_TOOL_OPTIONS = ("tool_choice", "parallel_tool_calls")
"""Request fields of the tools kept in ``model.options.additionalProperties``."""
_KINDS = {
    "string": "string",
    "integer": "integer",
    "number": "number",
    "boolean": "boolean",
    "array": "array",
    "object": "object",
}


def _prompty_property(
    name: str | None, schema: Mapping[str, Any], required: bool
) -> dict[str, Any]:
    """A JSON Schema property as a prompty property (its kind ``any`` when it has no type)."""
    out: dict[str, Any] = {"name": name} if name is not None else {}
    out["kind"] = _KINDS.get(str(schema.get("type")), "any")
    if schema.get("description"):
        out["description"] = schema["description"]
    if required:
        out["required"] = True
    if schema.get("enum"):
        out["enumValues"] = list(schema["enum"])
    if out["kind"] == "array" and isinstance(schema.get("items"), Mapping):
        out["items"] = _prompty_property(None, schema["items"], False)
    if out["kind"] == "object" and schema.get("properties"):
        inner = set(schema.get("required") or ())
        out["properties"] = [
            _prompty_property(k, v, k in inner) for k, v in schema["properties"].items()
        ]
    return out


def _prompty_tools(tools: ToolConfig) -> list[dict[str, Any]]:
    """The tool definitions as prompty ``tools`` (``kind: function``)."""
    out = []
    for definition in tools.definitions:
        function = definition["function"]
        tool: dict[str, Any] = {"name": function["name"], "kind": "function"}
        if function.get("description"):
            tool["description"] = function["description"]
        params = function.get("parameters") or {}
        required = set(params.get("required") or ())
        props = params.get("properties") or {}
        if props:
            tool["parameters"] = [_prompty_property(k, v, k in required) for k, v in props.items()]
        if "strict" in function:
            tool["strict"] = function["strict"]
        out.append(tool)
    return out


def params_to_options(params: Mapping[str, Any]) -> dict[str, Any]:
    """workbench generation params as prompty ``model.options``."""
    options: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in sorted(params.items()):
        if key in _OPTIONS:
            options[_OPTIONS[key]] = value
        elif key == "stop" and isinstance(value, list):
            options["stopSequences"] = list(value)
        else:
            extra[key] = value
    if extra:
        options["additionalProperties"] = extra
    return options


def options_to_params(options: Mapping[str, Any]) -> dict[str, Any]:
    """prompty ``model.options`` back to workbench params."""
    params: dict[str, Any] = {}
    for key, value in options.items():
        if key in _PARAMS:
            params[_PARAMS[key]] = value
        elif key == "stopSequences":
            params["stop"] = list(value)
        elif key == "additionalProperties" and isinstance(value, Mapping):
            params.update(value)
        else:
            params[key] = value
    return dict(sorted(params.items()))


_OUTPUT_KINDS = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean"}


def prompty_outputs(schema: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A response_format's JSON Schema as prompty ``outputs`` (named properties), where it
    translates: an object of typed properties, arrays and nested objects; None otherwise (the
    schema still travels in ``model.options``)."""
    if not schema or schema.get("type") != "object":
        return None
    return _output_props(schema)


def _output_props(schema: Mapping[str, Any]) -> dict[str, Any] | None:
    required = set(schema.get("required") or [])
    out: dict[str, Any] = {}
    for name, sub in (schema.get("properties") or {}).items():
        prop = _output_prop(sub) if isinstance(sub, Mapping) else None
        if prop is None:
            return None
        out[str(name)] = {**prop, "required": name in required}
    return out or None


def _output_prop(schema: Mapping[str, Any]) -> dict[str, Any] | None:
    kind = schema.get("type")
    prop: dict[str, Any]
    if kind in _OUTPUT_KINDS:
        prop = {"kind": _OUTPUT_KINDS[kind]}
    elif kind == "array" and isinstance(schema.get("items"), Mapping):
        items = _output_prop(schema["items"])
        if items is None:
            return None
        prop = {"kind": "array", "items": items}
    elif kind == "object":
        props = _output_props(schema)
        if props is None:
            return None
        prop = {"kind": "object", "properties": props}
    else:
        return None  # unions, references, nullable types: no prompty kind
    if schema.get("description"):
        prop["description"] = str(schema["description"])
    if isinstance(schema.get("enum"), list):
        prop["enumValues"] = list(schema["enum"])
    return prop


def conflicting_lines(template: str) -> list[str]:
    """Lines of a template that prompty would read as role markers."""
    return [line for line in template.splitlines() if _ROLE_LINE.match(line)]


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return "string"


def write_prompty(prompt: PromptFile) -> str:
    """The ``.prompty`` text; the same PromptFile always gives the same text."""
    provider, _, model_name = prompt.model.partition("/")
    model: dict[str, Any] = {"id": model_name or provider, "provider": provider}
    fields = prompt.tools.request_fields() if prompt.tools is not None else {}
    options = params_to_options(
        {**prompt.params, **{k: v for k, v in fields.items() if k in _TOOL_OPTIONS}}
    )
    if options:
        model["options"] = options
    front: dict[str, Any] = {"name": prompt.name}
    if prompt.description:
        front["description"] = prompt.description
    front["model"] = model
    inputs: dict[str, Any] = {}
    for key in sorted({*prompt.examples, *([prompt.history] if prompt.history else [])}):
        example = prompt.examples.get(key)
        entry: dict[str, Any] = {"kind": _kind(example)}
        if key == prompt.history:
            entry = {"kind": _THREAD, "description": _THREAD_DESCRIPTION}
        if example is not None:
            entry["example"] = example
        inputs[key] = entry
    if inputs:
        front["inputs"] = inputs
    if prompt.tools is not None:
        front["tools"] = _prompty_tools(prompt.tools)
    outputs = prompty_outputs(schema_of(prompt.params))
    if outputs:
        front["outputs"] = outputs
    front["template"] = {"format": {"kind": "jinja2"}, "parser": {"kind": "prompty"}}
    meta = dict(prompt.metadata)
    if prompt.tools is not None:  # exactly as sent (prompty's properties say less)
        meta["tools"] = fields["tools"]
    if meta:
        front["metadata"] = {"workbench": meta}
    head = yaml.safe_dump(
        front, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100
    )
    parts: list[str] = []
    for role, template in prompt.messages:
        bad = conflicting_lines(template)
        if bad:
            raise ArtifactError(
                f"The {role} template has a line prompty would read as a role marker: "
                f"{bad[0]!r}. Reword that line (e.g. add text after the colon) before exporting."
            )
        parts.append(f"{role}:\n{template.strip(chr(10))}")
    if prompt.history is not None:
        parts.insert(prompt.history_at, f"user:\n{{{{ {prompt.history} }}}}")
    return f"---\n{head}---\n" + "\n\n".join(parts) + "\n"


def parse_prompty(text: str, where: str = "prompt.prompty") -> PromptFile:
    """Read a ``.prompty`` file written by :func:`write_prompty`."""
    if not text.startswith("---\n"):
        raise ArtifactError(f"{where}: no YAML front matter (the file must start with '---').")
    end = text.find("\n---\n", 3)
    if end < 0:
        raise ArtifactError(f"{where}: the front matter is not closed with a '---' line.")
    try:
        front = yaml.safe_load(text[4 : end + 1])
    except yaml.YAMLError as exc:
        raise ArtifactError(f"{where}: invalid YAML front matter ({exc}).") from None
    if not isinstance(front, dict) or not isinstance(front.get("model"), dict):
        raise ArtifactError(f"{where}: the front matter needs name and model.")
    model = front["model"]
    provider, model_name = str(model.get("provider", "")), str(model.get("id", ""))
    inputs = front.get("inputs") or {}
    examples = {str(k): (v.get("example") if isinstance(v, dict) else v) for k, v in inputs.items()}
    meta = (front.get("metadata") or {}).get("workbench") or {}
    messages = _sections(text[end + 5 :], where)
    threads = sorted(
        str(k) for k, v in inputs.items() if isinstance(v, dict) and v.get("kind") == _THREAD
    )
    if len(threads) > 1:
        raise ArtifactError(
            f"{where}: more than one thread input ({threads}); workbench reads one."
        )
    history: str | None = None
    history_at = 0
    if threads:
        history, history_at = _history(threads[0], messages, where)
        del messages[history_at]
        if not messages:
            raise ArtifactError(f"{where}: no messages besides the conversation '{history}'.")
    params = options_to_params(model.get("options") or {})
    meta = dict(meta)
    tools = _read_tools(meta.pop("tools", None), params, where)
    return PromptFile(
        name=str(front.get("name", "")),
        model=f"{provider}/{model_name}" if provider else model_name,
        messages=tuple(messages),
        params=params,
        description=str(front.get("description") or ""),
        examples=examples,
        metadata=meta,
        history=history,
        history_at=history_at,
        tools=tools,
    )


def _read_tools(definitions: Any, params: dict[str, Any], where: str) -> ToolConfig | None:
    """The tools of ``metadata.workbench.tools`` and the tool options taken out of ``params``."""
    choice = params.pop("tool_choice", None)
    parallel = params.pop("parallel_tool_calls", None)
    try:
        return tool_config(definitions or [], choice, parallel, where)
    except TemplateError as exc:
        raise ArtifactError(f"{exc} Re-export the prompt.") from None


def _history(name: str, messages: list[tuple[str, str]], where: str) -> tuple[str, int]:
    """The thread input and the index of the section holding only ``{{ name }}``."""
    slot = re.compile(r"^\{\{\s*" + re.escape(name) + r"\s*\}\}$")
    found = [i for i, (_, template) in enumerate(messages) if slot.match(template)]
    if len(found) != 1:
        raise ArtifactError(
            f"{where}: the thread input '{name}' needs exactly one section holding only "
            f"{{{{ {name} }}}} (where its turns go); found {len(found)}."
        )
    for i, (role, template) in enumerate(messages):
        try:
            reads = i != found[0] and name in template_variables(template)
        except TemplateError:
            reads = False  # a syntax error surfaces when the template renders
        if reads:
            raise ArtifactError(
                f"{where}: the {role} template reads {{{{ {name} }}}}, the conversation input; "
                f"only its own section may."
            )
    return name, found[0]


def _sections(body: str, where: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    role: str | None = None
    lines: list[str] = []
    for line in body.split("\n"):
        m = _WRITTEN_ROLE.match(line)
        if m:
            if role is not None:
                out.append((role, "\n".join(lines).strip("\n")))
            role, lines = m.group(1), []
        elif role is None:
            if line.strip():
                raise ArtifactError(f"{where}: text before the first role marker: {line!r}.")
        else:
            lines.append(line)
    if role is not None:
        out.append((role, "\n".join(lines).strip("\n")))
    if not out:
        raise ArtifactError(f"{where}: no messages (expected 'system:' / 'user:' lines).")
    return out
