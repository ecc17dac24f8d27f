"""Nunjucks templates (promptfoo's) as Jinja2 templates (workbench's), or why not.

The two read ``{{ name }}``, filters, ``{% if %}`` and ``{% for %}`` alike. Where Nunjucks
reads differently, the text is rewritten and a note says so:

- ``x | dump`` / ``dump(2)`` become ``x | tojson`` / ``tojson(indent=2)`` (approximated:
  Jinja2 sorts keys, puts a space after ``:`` and ``,``, and escapes ``<``, ``>``, ``&``, ``'``);
- ``x | nl2br`` becomes ``x | replace('\\n', '<br />\\n')``;
- JavaScript in expressions: ``===`` / ``!==``, ``x.length``, ``x.toUpperCase()``,
  ``x.toLowerCase()``, ``x.trim()`` become ``==`` / ``!=`` and the matching filters;
- ``{% elseif %}`` becomes ``{% elif %}``, ``{% verbatim %}`` becomes ``{% raw %}``.

A template that still uses something Jinja2 lacks — a filter (custom ``nunjucksFilters``
included), a JavaScript method, ``{% include %}`` and its kin, ``env.*`` variables — cannot be
imported: :func:`to_jinja` returns None and the note says why.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from jinja2 import TemplateSyntaxError, nodes

from workbench.importers.spec import Kind, Notes
from workbench.prompts.render import known_filters, known_tests, parse_template

__all__ = ["to_jinja"]

_TAG = re.compile(
    r"(?P<raw>\{%-?\s*(?:raw|verbatim)\s*-?%\}.*?\{%-?\s*end(?:raw|verbatim)\s*-?%\})"
    r"|(?P<tag>\{\{.*?\}\}|\{%.*?%\})",
    re.S,
)
_STRING = re.compile(r"(\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*')")
_PATH = r"(?<![\w.])(?!loop\.)([A-Za-z_]\w*(?:\.[A-Za-z_]\w*|\[[^\]\[]*\])*)"
_JS_ATTRS = frozenset(
    {
        "length",
        "includes",
        "indexOf",
        "slice",
        "substring",
        "substr",
        "toString",
        "toFixed",
        "charAt",
        "startsWith",
        "endsWith",
        "toUpperCase",
        "toLowerCase",
        "trim",
        "push",
        "map",
        "filter",
        "some",
        "every",
        "concat",
        "padStart",
        "padEnd",
    }
)
_LOADERS = {
    nodes.Include: "{% include %}",
    nodes.Extends: "{% extends %}",
    nodes.Import: "{% import %}",
    nodes.FromImport: "{% from ... import %}",
}
Rewrite = tuple[Kind, str, re.Pattern[str], str | Callable[[re.Match[str]], str]]
_REWRITES: tuple[Rewrite, ...] = (
    (
        "approximated",
        "`| dump` as `| tojson` (Jinja2 sorts keys, spaces after ':' and ',', and escapes "
        "<, >, &, ' as \\u003c...: the JSON reads the same, the text differs)",
        re.compile(r"\|\s*dump\b(?:\s*\(\s*(\d*)\s*\))?"),
        lambda m: f"| tojson(indent={m.group(1)})" if m.group(1) else "| tojson",
    ),
    (
        "translated",
        "`| nl2br` as `| replace('\\n', '<br />\\n')`",
        re.compile(r"\|\s*nl2br\b"),
        "| replace('\\n', '<br />\\n')",
    ),
    ("translated", "`===` / `!==` as `==` / `!=`", re.compile(r"([=!])=="), r"\1="),
    (
        "translated",
        "`x.length` as `x | length`",
        re.compile(_PATH + r"\.length\b(?!\s*\()"),
        r"(\1 | length)",
    ),
    (
        "translated",
        "`x.toUpperCase()` / `toLowerCase()` / `trim()` as filters",
        re.compile(_PATH + r"\.(toUpperCase|toLowerCase|trim)\(\s*\)"),
        lambda m: (
            f"({m.group(1)} | "
            + {"toUpperCase": "upper", "toLowerCase": "lower", "trim": "trim"}[m.group(2)]
            + ")"
        ),
    ),
    ("translated", "`{% elseif %}` as `{% elif %}`", re.compile(r"^(\s*-?\s*)elseif\b"), r"\1elif"),
)


def _code(text: str, done: set[tuple[Kind, str]]) -> str:
    """Rewrite the expression text of one tag (string literals left alone)."""
    parts = _STRING.split(text)
    for i in range(0, len(parts), 2):  # even parts are outside string literals
        for kind, what, pattern, replacement in _REWRITES:
            changed = pattern.sub(replacement, parts[i])
            if changed != parts[i]:
                done.add((kind, what))
                parts[i] = changed
    return "".join(parts)


def _rewrite(source: str, done: set[tuple[Kind, str]]) -> str:
    def one(match: re.Match[str]) -> str:
        if match.group("raw"):
            text = match.group("raw")
            if "verbatim" in text.split("%}", 1)[0]:
                done.add(("translated", "`{% verbatim %}` as `{% raw %}`"))
                text = re.sub(r"(\{%-?\s*)(end)?verbatim", r"\1\2raw", text)
            return text
        tag = match.group("tag")
        return tag[:2] + _code(tag[2:-2], done) + tag[-2:]

    return _TAG.sub(one, source)


def _problem(tree: nodes.Template) -> str | None:
    """What in a parsed template Jinja2 would not render as Nunjucks does, if anything."""
    filters, tests = known_filters(), known_tests()
    for node in tree.find_all((nodes.Filter, nodes.Test)):
        names = filters if isinstance(node, nodes.Filter) else tests
        if node.name not in names:
            kind = "filter" if isinstance(node, nodes.Filter) else "test"
            return (
                f"uses the {kind} '{node.name}', which Jinja2 does not have (a custom "
                f"nunjucksFilters entry?); rewrite it with Jinja2's {kind}s"
            )
    for attr in tree.find_all(nodes.Getattr):
        on_loop = isinstance(attr.node, nodes.Name) and attr.node.name == "loop"
        if attr.attr in _JS_ATTRS and not on_loop:
            return f"calls the JavaScript method/property '.{attr.attr}'; rewrite it with a filter"
    for node_type, name in _LOADERS.items():
        if tree.find(node_type) is not None:
            return f"uses {name}, which loads other template files; inline that file's text"
    for read in tree.find_all(nodes.Name):
        if read.name == "env" and read.ctx == "load":
            return (
                "reads environment variables ({{ env.X }}), which workbench templates never "
                "see; put the value in a test variable instead"
            )
    return None


def to_jinja(source: str, where: str, notes: Notes) -> str | None:
    """``source`` as a Jinja2 template that renders the same; None (noted as skipped) when it
    cannot be. Rewrites are noted as translated (or approximated) at ``where``."""
    done: set[tuple[Kind, str]] = set()
    text = _rewrite(source, done)
    try:
        tree = parse_template(text)
    except TemplateSyntaxError as exc:
        notes.add(
            "skipped", where, f"Jinja2 cannot read this template (line {exc.lineno}: {exc.message})"
        )
        return None
    except RecursionError:
        notes.add("skipped", where, "the template is nested too deeply to read")
        return None
    problem = _problem(tree)
    if problem:
        notes.add("skipped", where, f"the template {problem}")
        return None
    for kind, what in sorted(done):
        notes.add(kind, where, f"Nunjucks {what}")
    return text
