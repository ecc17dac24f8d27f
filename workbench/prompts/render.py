"""Sandboxed Jinja2 rendering and variable discovery, shared by variants and scorers."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from functools import lru_cache
from typing import Any, NotRequired, TypedDict

import jinja2
from jinja2 import meta, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from workbench.errors import TemplateError

__all__ = [
    "Message",
    "known_filters",
    "known_tests",
    "parse_template",
    "render_template",
    "template_variables",
]


class Message(TypedDict):
    """One chat message after rendering, in OpenAI's shape: ``tool_calls`` on an assistant turn
    that called tools (``[{"id", "type": "function", "function": {"name", "arguments"}}]``,
    arguments as JSON text), ``tool_call_id`` on a ``tool`` turn (a tool's result)."""

    role: str
    content: str
    tool_calls: NotRequired[list[dict[str, Any]]]
    tool_call_id: NotRequired[str]


def _finalize(value: Any) -> Any:
    # Missing values (None, NaN) render as empty text, not "None" / "nan".
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return value


_MAX_BITS = 100_000
"""Largest integer result (in bits) of ``*`` or ``**`` in a template."""
_MAX_SIZE = 10_000_000
"""Largest text or list a template may build by repetition (``'a' * n``)."""


_WORK_LIMIT = 100_000_000
"""Characters (or items) one render may build in all: bounds loops that grow a value step by step
(``{% set ns.s = ns.s ~ q %}`` 100,000 times), which no single-operation cap catches."""
_work: ContextVar[list[int] | None] = ContextVar("workbench_template_work", default=None)


def _spend(value: Any) -> Any:
    """Count a value a template built against this render's work budget; return it."""
    if isinstance(value, (str, list, tuple)):
        left = _work.get()
        if left is not None:
            left[0] -= len(value)
            if left[0] < 0:
                raise SecurityError(
                    f"the template builds more than {_WORK_LIMIT:,} characters of text in all"
                )
    return value


class _Codegen(CodeGenerator):
    """Jinja's code generator, with ``a ~ b`` counted against the work budget."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.spend(")
        super().visit_Concat(node, frame)
        self.write(")")


_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")
_BRACE_SPEC = re.compile(r"\{[^{}]*?:((?:[^{}]|\{[^{}]*\})*)\}")
_PADDING_METHODS = frozenset({"center", "ljust", "rjust", "zfill"})


def _check_format(fmt: Any, args: Any = ()) -> None:
    """Refuse a printf- or format-style string whose widths or precisions would build a huge
    text (``'%999999999s' | format(q)``), including widths taken from the arguments."""
    if not isinstance(fmt, str) or ("%" not in fmt and "{" not in fmt):
        return
    values = list(args.values()) if isinstance(args, Mapping) else list(args)
    big_arg = any(_is_int(v) and v > _MAX_SIZE for v in values)
    for match in _PERCENT_SPEC.finditer(fmt):
        for part in match.groups():
            if (part == "*" and big_arg) or (part and part.isdigit() and int(part) > _MAX_SIZE):
                raise SecurityError("a format width or precision is too large")
    for match in _BRACE_SPEC.finditer(fmt):
        spec = match.group(1)
        if any(int(n) > _MAX_SIZE for n in re.findall(r"\d+", spec)) or ("{" in spec and big_arg):
            raise SecurityError("a format width or precision is too large")


class _Sandbox(ImmutableSandboxedEnvironment):
    """The sandbox, plus caps where one operation could build a huge value: ``{{ 9 ** 9 ** 9 }}``,
    ``{{ 'a' * 10 ** 10 }}``, ``{{ '%999999999s' % q }}``, ``{{ q.ljust(10 ** 10) }}`` would
    otherwise hang or exhaust memory (intercepted operators are also not constant-folded)."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})
    code_generator_class = _Codegen
    spend = staticmethod(_spend)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str):
            name = getattr(__obj, "__name__", "")
            if name in _PADDING_METHODS and any(_is_int(a) and a > _MAX_SIZE for a in args):
                raise SecurityError(f"{name}({args[0]}) would make the text too large")
            tabs = owner.count("\t") if name == "expandtabs" else 0
            if tabs and args and _is_int(args[0]) and args[0] * tabs > _MAX_SIZE:
                raise SecurityError("expandtabs would make the text too large")
        return _spend(super().call(__context, __obj, *args, **kwargs))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """``str.format`` / ``format_map`` as the sandbox wraps them, with the widths checked."""
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        fmt, sandboxed = value.__self__, wrapped

        def checked(*args: Any, **kwargs: Any) -> str:
            if value.__name__ == "format_map":
                _check_format(fmt, args[0] if args else {})
            else:
                _check_format(fmt, [*args, *kwargs.values()])
            return sandboxed(*args, **kwargs)

        return checked

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "%":
            _check_format(left, right if isinstance(right, (tuple, Mapping)) else (right,))
        if operator in ("%", "+"):
            return _spend(super().call_binop(context, operator, left, right))
        ints = _is_int(left) and _is_int(right)
        if operator == "**" and ints and abs(left) > 1 and left.bit_length() * right > _MAX_BITS:
            raise SecurityError(f"the power {left}**{right} is too large")
        if operator == "*":
            if ints and left.bit_length() + right.bit_length() > _MAX_BITS:
                raise SecurityError("the product is too large")
            for seq, times in ((left, right), (right, left)):
                if (
                    isinstance(seq, (str, list, tuple))
                    and _is_int(times)
                    and len(seq) * times > _MAX_SIZE
                ):
                    raise SecurityError(f"repeating a value {times} times makes it too large")
        return _spend(super().call_binop(context, operator, left, right))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


_ENV = _Sandbox(
    undefined=jinja2.StrictUndefined,
    autoescape=False,
    keep_trailing_newline=True,
    finalize=_finalize,
)


_ENV.filters["regex_escape"] = re.escape


def _capped(name: str) -> None:
    original = _ENV.filters[name]

    def filter_(value: Any, width: Any = 80, *args: Any, **kwargs: Any) -> Any:
        if _is_int(width) and width > _MAX_SIZE:
            raise SecurityError(f"{name}({width}) would make the text too large")
        return original(value, width, *args, **kwargs)

    _ENV.filters[name] = filter_


for _name in ("center", "indent"):  # widths that pad: {{ q | center(10 ** 10) }}
    _capped(_name)


def _format_filter(value: Any, *args: Any, **kwargs: Any) -> Any:
    _check_format(value, [*args, *kwargs.values()])
    return _plain_format(value, *args, **kwargs)


_plain_format = _ENV.filters["format"]
_ENV.filters["format"] = _format_filter


def _counted(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)  # keeps jinja's pass_context / pass_eval_ctx markers
    def filter_(*args: Any, **kwargs: Any) -> Any:
        return _spend(original(*args, **kwargs))

    return filter_


_ENV.filters = {name: _counted(f) for name, f in _ENV.filters.items()}  # |replace, |join, ...
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


def parse_template(source: str) -> jinja2.nodes.Template:
    """The syntax tree of a template, parsed exactly as it renders (raises TemplateSyntaxError)."""
    return _ENV.parse(source)


def known_filters() -> frozenset[str]:
    """The filters templates may use (``{{ q | upper }}``)."""
    return frozenset(_ENV.filters)


def known_tests() -> frozenset[str]:
    """The tests templates may use (``{% if n is even %}``)."""
    return frozenset(_ENV.tests)


def template_variables(source: str, where: str = "") -> frozenset[str]:
    """Top-level names a template reads from its row (``{{ question }}`` -> ``question``)."""
    try:
        return frozenset(meta.find_undeclared_variables(parse_template(source)))
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(
            f"Template syntax error{_where(where)}, line {exc.lineno}: {_clause(exc.message)}. "
            f"Template: {source[:200]!r}"
        ) from exc
    except RecursionError:
        raise TemplateError(
            f"Template{_where(where)} is nested too deeply to read; simplify it."
        ) from None


def _render(template: jinja2.Template, row: Mapping[str, Any]) -> str:
    """Render, refusing output beyond ``_MAX_SIZE`` characters (a loop printing a long value
    100,000 times) before it fills memory; no model's context window holds that much."""
    parts: list[str] = []
    size = 0
    token = _work.set([_WORK_LIMIT])
    try:
        for chunk in template.generate(dict(row)):
            size += len(chunk)
            if size > _MAX_SIZE:
                raise SecurityError(
                    f"the rendered text passed {_MAX_SIZE:,} characters, more than any model's "
                    f"context window holds"
                )
            parts.append(chunk)
    finally:
        _work.reset(token)
    return "".join(parts)


def render_template(source: str, row: Mapping[str, Any], where: str = "") -> str:
    """Render one template with a row's values in the sandbox."""
    try:
        # Plain text renders as itself: skip Jinja's per-render context (a cached-rerun cost).
        plain = "{" not in source and "\r" not in source
        text = source if plain else _render(_compile(source), row)
        if not text.isascii():
            text.encode("utf-8")  # lone surrogates cannot be sent, hashed or stored
        return text
    except UnicodeEncodeError as exc:
        raise TemplateError(
            f"Template{_where(where)} rendered text that is not valid Unicode ({exc.reason} at "
            f"position {exc.start}), usually from a badly decoded file. Clean the column, e.g. "
            f"df[col].str.encode('utf-8', 'replace').str.decode('utf-8')."
        ) from None
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
    except RecursionError:
        raise TemplateError(
            f"Template{_where(where)} recursed too deeply (a macro calling itself?); simplify it."
        ) from None
    except (TypeError, ValueError, ArithmeticError, LookupError, AttributeError) as exc:
        # Jinja's own filters raise these on bad arguments (xmlattr on text, a negative width...).
        raise TemplateError(
            f"Template{_where(where)} failed to render: {_clause(str(exc)[:300])}. "
            f"Check the filters and their arguments."
        ) from exc
    except AssertionError as exc:  # jinja2's truncate() checks its argument with assert
        raise TemplateError(
            f"Template{_where(where)} failed to render: bad filter argument ({exc}). "
            f"Check the filters and their arguments."
        ) from exc
