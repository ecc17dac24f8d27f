"""Structured output: the JSON Schema a variant asks replies to follow, as every API is sent it
(Chat's ``response_format`` of type ``json_schema``; the providers translate it), and the reply
parsed back.

``Variant(response_format=...)`` takes a JSON Schema (a dict) or a pydantic model class. A
pydantic model is made *strict* as OpenAI's SDK makes it (every object closed with
``additionalProperties: false``, every property required); a dict schema is sent as it is, strict
when it already is.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from typing import Any

from workbench.errors import TemplateError

__all__ = ["parse_reply", "response_format", "schema_of"]

_NAME = re.compile(r"[^A-Za-z0-9_-]+")


def response_format(spec: Any, where: str) -> dict[str, Any]:
    """``{"type": "json_schema", "json_schema": {"name", "schema", "strict"}}`` for a JSON
    Schema, a pydantic model class, or a ``response_format`` already in that shape."""
    make_schema = getattr(spec, "model_json_schema", None)
    if isinstance(spec, type) and callable(make_schema):
        return _wrap(spec.__name__, _strict(make_schema()), strict=True)
    if not isinstance(spec, Mapping):
        raise TemplateError(
            f"{where}: response_format must be a JSON Schema (a dict) or a pydantic model "
            f"class, got {type(spec).__name__}."
        )
    try:
        schema: dict[str, Any] = json.loads(json.dumps(spec))  # plain JSON data (keys, exports)
    except (TypeError, ValueError) as exc:
        raise TemplateError(f"{where}: response_format is not JSON data ({exc}).") from None
    if schema.get("type") == "json_schema" and isinstance(schema.get("json_schema"), dict):
        return schema  # already a response_format
    return _wrap(str(schema.get("title") or "response"), schema, strict=_is_strict(schema))


def _wrap(name: str, schema: dict[str, Any], *, strict: bool) -> dict[str, Any]:
    clean = _NAME.sub("_", name)[:64] or "response"
    return {
        "type": "json_schema",
        "json_schema": {"name": clean, "schema": schema, "strict": strict},
    }


def _objects(schema: Any) -> list[dict[str, Any]]:
    """Every object schema inside ``schema`` (itself included)."""
    found: list[dict[str, Any]] = []
    if isinstance(schema, dict):
        if schema.get("type") == "object" or "properties" in schema:
            found.append(schema)
        for value in schema.values():
            found.extend(_objects(value))
    elif isinstance(schema, list):
        for value in schema:
            found.extend(_objects(value))
    return found


def _strict(schema: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(schema)
    for obj in _objects(out):
        obj.setdefault("additionalProperties", False)
        obj["required"] = list(obj.get("properties", {}))
    return out


def _is_strict(schema: dict[str, Any]) -> bool:
    """Whether OpenAI's strict mode takes the schema as it is: every object closed, with every
    property required."""
    objects = _objects(schema)
    return bool(objects) and all(
        o.get("additionalProperties") is False
        and set(o.get("required") or []) == set(o.get("properties") or {})
        for o in objects
    )


def schema_of(params: Mapping[str, Any]) -> dict[str, Any] | None:
    """The JSON Schema a request's ``response_format`` asks for; None when it asks for none."""
    fmt = params.get("response_format")
    if isinstance(fmt, Mapping) and fmt.get("type") == "json_schema":
        schema = (fmt.get("json_schema") or {}).get("schema")
        return dict(schema) if isinstance(schema, Mapping) else None
    return None


def parse_reply(params: Mapping[str, Any], text: str | None) -> Any:
    """The reply as JSON data when the request asked for a JSON Schema and the text parses;
    None otherwise."""
    if not text or schema_of(params) is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None
