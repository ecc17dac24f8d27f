"""Sandboxed Jinja2 rendering and variable discovery, shared by variants and scorers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, TypedDict

import jinja2
from jinja2 import meta
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from workbench.errors import TemplateError

__all__ = ["Message", "render_template", "template_variables"]


class Message(TypedDict):
    """One chat message after rendering."""

    role: str
    content: str


def _finalize(value: Any) -> Any:
    # Missing values (None, NaN) render as empty text, not "None" / "nan".
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return value


_ENV = ImmutableSandboxedEnvironment(
    undefined=jinja2.StrictUndefined,
    autoescape=False,
    keep_trailing_newline=True,
    finalize=_finalize,
)


_ENV.filters["regex_escape"] = re.escape
# Only globals that help templates; lipsum, cycler and joiner would print Python objects.
# Keep the sandbox's own range (it caps the length) and dict, namespace.
_ENV.globals = {k: _ENV.globals[k] for k in ("range", "dict", "namespace")}


@lru_cache(maxsize=4096)
def _compile(source: str) -> jinja2.Template:
    return _ENV.from_string(source)


def _where(where: str) -> str:
    return f" in {where}" if where else ""


def _clause(text: object) -> str:
    """Jinja's message without its final period, to sit inside our sentence."""
    return str(text).rstrip(".")


def template_variables(source: str, where: str = "") -> frozenset[str]:
    """Top-level names a template reads from its row (``{{ question }}`` -> ``question``)."""
    try:
        return frozenset(meta.find_undeclared_variables(_ENV.parse(source)))
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(
            f"Template syntax error{_where(where)}, line {exc.lineno}: {_clause(exc.message)}. "
            f"Template: {source[:200]!r}"
        ) from exc


def render_template(source: str, row: Mapping[str, Any], where: str = "") -> str:
    """Render one template with a row's values in the sandbox."""
    try:
        return _compile(source).render(dict(row))
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(
            f"Template syntax error{_where(where)}, line {exc.lineno}: {_clause(exc.message)}."
        ) from exc
    except SecurityError as exc:
        raise TemplateError(
            f"Template{_where(where)} tried something the sandbox forbids: {_clause(exc)}. "
            f"Templates may read row values and use filters, not reach Python internals."
        ) from exc
    except jinja2.UndefinedError as exc:
        if "unsafe" in str(exc.message):
            raise TemplateError(
                f"Template{_where(where)} tried something the sandbox forbids: "
                f"{_clause(exc.message)}. Templates may read row values and use filters, not "
                f"reach Python internals."
            ) from exc
        raise TemplateError(
            f"Template{_where(where)} needs a value the row does not have: {exc.message}. "
            f"Row columns: {', '.join(map(str, row))}."
        ) from exc
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise TemplateError(f"Template{_where(where)} failed to render: {exc}") from exc
