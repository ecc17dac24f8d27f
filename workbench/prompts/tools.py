"""Tools a variant offers the model: OpenAI function-tool definitions, made from dicts or from
Python functions (schema from the signature, type hints and docstring), with ``tool_choice`` and
``parallel_tool_calls``.

Definitions are kept in OpenAI's form, which every provider converts from
(:mod:`workbench.providers.tools`)::

    {"type": "function", "function": {"name": "lookup_order", "description": "Find an order.",
     "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}},
                    "required": ["order_id"]}}}

Imports nothing heavy: the production loader uses it.
"""

from __future__ import annotations

import enum
import inspect
import json
import re
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from workbench import functions
from workbench.errors import TemplateError

__all__ = [
    "CHOICES",
    "ToolConfig",
    "find_function",
    "function_path",
    "function_tool",
    "tool_config",
]

CHOICES = ("auto", "none", "required")
"""``tool_choice`` values besides a named function."""
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_FUNCTION_KEYS = frozenset({"name", "description", "parameters", "strict"})


@dataclass(frozen=True)
class ToolConfig:
    """The tools part of a request, in OpenAI's form: definitions, choice, parallel calls."""

    definitions: tuple[Mapping[str, Any], ...]
    choice: str | Mapping[str, Any] | None = None
    """``auto``, ``none``, ``required``, ``{"type": "function", "function": {"name": ...}}``, or
    None (not sent: the provider's default)."""
    parallel: bool | None = None
    """``parallel_tool_calls``; None: not sent."""

    @property
    def names(self) -> tuple[str, ...]:
        """The tools' names, in order."""
        return tuple(str(d["function"]["name"]) for d in self.definitions)

    def schema(self, name: str) -> Mapping[str, Any] | None:
        """The parameters schema of tool ``name`` (None: no such tool or no parameters)."""
        for d in self.definitions:
            if d["function"]["name"] == name:
                params = d["function"].get("parameters")
                return params if isinstance(params, Mapping) else None
        return None

    @property
    def chosen(self) -> str | None:
        """The tool a named ``tool_choice`` forces, else None."""
        if isinstance(self.choice, Mapping):
            return str(self.choice["function"]["name"])
        return None

    def request_fields(self) -> dict[str, Any]:
        """``tools``, and ``tool_choice`` / ``parallel_tool_calls`` when set, as OpenAI's Chat
        Completions takes them (plain, JSON-ready data)."""
        out: dict[str, Any] = {"tools": json.loads(json.dumps(list(self.definitions)))}
        if self.choice is not None:
            out["tool_choice"] = json.loads(json.dumps(self.choice))
        if self.parallel is not None:
            out["parallel_tool_calls"] = self.parallel
        return out


def tool_config(
    tools: Sequence[Any],
    choice: Any,
    parallel: Any,
    where: str,
) -> ToolConfig | None:
    """Check and normalize a variant's tools (dicts or functions), ``tool_choice`` and
    ``parallel_tool_calls``; None when there are no tools. Raises :class:`TemplateError` naming
    ``where`` (e.g. ``Variant 'v1'``)."""
    if isinstance(tools, (str, bytes, Mapping)) or not isinstance(tools, Sequence):
        raise TemplateError(
            f"{where}: tools must be a list of tool definitions or Python functions, got "
            f"{type(tools).__name__}."
        )
    if not tools:
        if choice is not None or parallel is not None:
            what = "tool_choice" if choice is not None else "parallel_tool_calls"
            raise TemplateError(f"{where}: {what} is set but there are no tools; give tools=[...].")
        return None
    definitions = tuple(
        function_tool(t) if callable(t) and not isinstance(t, Mapping) else _definition(t, i, where)
        for i, t in enumerate(tools)
    )
    names = [str(d["function"]["name"]) for d in definitions]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise TemplateError(f"{where}: tool names must be unique; repeated: {dupes}.")
    if parallel is not None and not isinstance(parallel, bool):
        raise TemplateError(
            f"{where}: parallel_tool_calls must be True or False, not {parallel!r}."
        )
    return ToolConfig(definitions, _choice(choice, names, where), parallel)


def _definition(tool: Any, i: int, where: str) -> Mapping[str, Any]:
    here = f"{where}: tools[{i}]"
    example = (
        '{"type": "function", "function": {"name": "lookup_order", "description": "...", '
        '"parameters": {"type": "object", "properties": {...}}}}'
    )
    if not isinstance(tool, Mapping):
        raise TemplateError(
            f"{here} must be a tool definition {example} or a Python function, got "
            f"{type(tool).__name__}."
        )
    if tool.get("type") != "function" or not isinstance(tool.get("function"), Mapping):
        hint = (
            " It looks like the inner part: wrap it as {'type': 'function', 'function': {...}}."
            if "name" in tool
            else ""
        )
        raise TemplateError(f"{here} must be an OpenAI function tool, {example}.{hint}")
    extra = sorted(set(tool) - {"type", "function"})
    if extra:
        raise TemplateError(f"{here} has key(s) {extra} besides type and function.")
    function = tool["function"]
    unknown = sorted(set(function) - _FUNCTION_KEYS)
    if unknown:
        raise TemplateError(
            f"{here}.function has unknown key(s) {unknown}; allowed: {sorted(_FUNCTION_KEYS)}."
        )
    name = function.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise TemplateError(
            f"{here}.function.name must be 1-64 letters, digits, '_' or '-', got {name!r}."
        )
    description = function.get("description")
    if description is not None and not isinstance(description, str):
        raise TemplateError(f"{here} ({name}): description must be text.")
    if "strict" in function and not isinstance(function["strict"], bool):
        raise TemplateError(f"{here} ({name}): strict must be true or false.")
    if "parameters" in function:
        _check_schema(function["parameters"], f"{here} ({name})")
    plain: dict[str, Any] = json.loads(json.dumps({"type": "function", "function": dict(function)}))
    return plain


def _check_schema(schema: Any, where: str) -> None:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    if not isinstance(schema, Mapping) or schema.get("type", "object") != "object":
        raise TemplateError(
            f"{where}: parameters must be a JSON Schema object, e.g. {{'type': 'object', "
            f"'properties': {{...}}}}."
        )
    try:
        Draft202012Validator.check_schema(dict(schema))
    except SchemaError as exc:
        raise TemplateError(
            f"{where}: parameters is not a valid JSON Schema at {exc.json_path}: {exc.message}."
        ) from None
    try:
        json.dumps(schema, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TemplateError(f"{where}: parameters must be plain JSON data ({exc}).") from None


def _choice(choice: Any, names: Sequence[str], where: str) -> str | Mapping[str, Any] | None:
    if choice is None or choice in CHOICES:
        return choice  # type: ignore[no-any-return]
    if isinstance(choice, str):
        name = choice
    elif (
        isinstance(choice, Mapping)
        and choice.get("type") == "function"
        and isinstance(choice.get("function"), Mapping)
    ):
        name = choice["function"].get("name")
    else:
        name = None
    if not isinstance(name, str) or name not in names:
        raise TemplateError(
            f"{where}: tool_choice must be one of {', '.join(map(repr, CHOICES))}, a tool's name "
            f"or {{'type': 'function', 'function': {{'name': ...}}}} naming one of the tools "
            f"({', '.join(names)}); got {choice!r}."
        )
    return {"type": "function", "function": {"name": name}}


# -- tools from Python functions -----------------------------------------------------------


def function_path(fn: Callable[..., Any]) -> str:
    """``module.qualname`` of a function (how a record names it)."""
    return f"{fn.__module__}.{fn.__qualname__}"


def function_tool(fn: Callable[..., Any]) -> dict[str, Any]:
    """The OpenAI function-tool definition of a Python function: its name, the first paragraph
    of its docstring as the description, and a JSON Schema of its parameters from their type
    hints (``str``, ``int``, ``float``, ``bool``, lists, dicts, ``Literal``, enums, optional
    values) and the docstring's ``Args:`` (or ``:param x:``) lines; parameters without a default
    are required."""
    name = getattr(fn, "__name__", "")
    where = f"Tool function {name or fn!r}"
    if not isinstance(name, str) or not _NAME.match(name):
        raise TemplateError(
            f"{where}: a tool's name must be 1-64 letters, digits, '_' or '-'; define a named "
            f"function (not a lambda)."
        )
    try:
        signature = inspect.signature(fn)
        hints = typing.get_type_hints(fn)
    except (TypeError, ValueError, NameError) as exc:
        raise TemplateError(f"{where}: cannot read its signature ({exc}).") from None
    summary, documented = _docstring(inspect.getdoc(fn) or "")
    properties: dict[str, Any] = {}
    required: list[str] = []
    for param in signature.parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise TemplateError(
                f"{where}: *{param.name} / **{param.name} cannot be described to a model; name "
                f"each parameter."
            )
        if param.kind is param.POSITIONAL_ONLY:
            raise TemplateError(
                f"{where}: parameter '{param.name}' is positional-only; tools are called with "
                f"keyword arguments."
            )
        schema = _schema(hints.get(param.name, Any), f"{where}, parameter '{param.name}'")
        if param.name in documented:
            schema["description"] = documented[param.name]
        properties[param.name] = schema
        if param.default is inspect.Parameter.empty:
            required.append(param.name)
    parameters: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        parameters["required"] = required
    function: dict[str, Any] = {"name": name}
    if summary:
        function["description"] = summary
    function["parameters"] = parameters
    return {"type": "function", "function": function}


_SIMPLE: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}


def _schema(hint: Any, where: str) -> dict[str, Any]:
    """A JSON Schema for a type hint."""
    if hint is Any or hint is inspect.Parameter.empty:
        return {}
    if hint in _SIMPLE:
        return {"type": _SIMPLE[hint]}
    if hint is type(None):
        return {"type": "null"}
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Literal:
        values = list(args)
        kinds = {_SIMPLE.get(type(v)) for v in values}
        out: dict[str, Any] = {"enum": values}
        if len(kinds) == 1 and None not in kinds:
            out = {"type": kinds.pop(), "enum": values}
        return out
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        values = [m.value for m in hint]
        kinds = {_SIMPLE.get(type(v)) for v in values}
        return {"type": kinds.pop(), "enum": values} if len(kinds) == 1 else {"enum": values}
    if origin in (typing.Union, types.UnionType):
        members = [a for a in args if a is not type(None)]
        if len(members) == 1:
            return _schema(
                members[0], where
            )  # Optional[X]: X (the default says it may be left out)
        return {"anyOf": [_schema(a, where) for a in members]}
    if hint in (list, tuple, set, frozenset) or origin in (list, tuple, set, frozenset, Sequence):
        items = [a for a in args if a is not Ellipsis]
        out = {"type": "array"}
        if len(items) == 1:
            out["items"] = _schema(items[0], where)
        return out
    if hint is dict or origin in (dict, Mapping):
        return {"type": "object"}
    raise TemplateError(
        f"{where}: type {hint!r} has no JSON Schema here; use str, int, float, bool, list, dict, "
        f"Literal[...] or an Enum, or give the tool as a definition dict."
    )


_ARGS = re.compile(r"^(?:Args|Arguments|Parameters|Params)\s*:\s*$", re.IGNORECASE)
_SPHINX = re.compile(r"^:param\s+(?:\w+\s+)?(\w+)\s*:\s*(.*)$")
_GOOGLE = re.compile(r"^(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")


def _docstring(doc: str) -> tuple[str, dict[str, str]]:
    """(first paragraph, {parameter: description}) of a Google- or Sphinx-style docstring."""
    lines = doc.splitlines()
    summary: list[str] = []
    for line in lines:
        text = line.strip()
        if not text or _ARGS.match(text) or text.startswith(":"):
            break
        summary.append(text)
    params: dict[str, str] = {}
    current: str | None = None
    in_args, base = False, -1
    for line in lines:
        text, indent = line.strip(), len(line) - len(line.lstrip())
        sphinx = _SPHINX.match(text)
        if sphinx:
            in_args, current = False, sphinx.group(1)
            params[current] = sphinx.group(2).strip()
        elif _ARGS.match(text):
            in_args, current, base = True, None, -1
        elif not text or (text.startswith(":") and not in_args):
            current = None if not in_args else current
        elif in_args and indent < base:
            in_args, current = False, None  # the next section (Returns:, Raises:, ...)
        elif in_args and (base < 0 or indent == base) and _GOOGLE.match(text):
            found = _GOOGLE.match(text)
            assert found is not None
            base, current = indent, found.group(1)
            params[current] = found.group(2).strip()
        elif current is not None:
            params[current] = f"{params[current]} {text}".strip()
    return " ".join(summary), {k: v for k, v in params.items() if v}


def find_function(path: str, where: str) -> Callable[..., Any]:
    """The tool function named ``module.qualname``, looked up in modules already imported;
    raises :class:`TemplateError` saying what to import."""
    return functions.find_function(path, where, error=TemplateError, example="my_tools")
