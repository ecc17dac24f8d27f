"""Nunjucks (promptfoo's templates) read by Jinja2 (workbench's): what Jinja2 would read
differently is rewritten to render the same, or the template is reported and left out."""

from __future__ import annotations

import json
from typing import Any

import pytest

from workbench.importers.nunjucks import to_jinja
from workbench.importers.spec import Notes
from workbench.prompts.render import render_template


def translate(source: str) -> tuple[str | None, list[str]]:
    notes = Notes("promptfooconfig.yaml")
    out = to_jinja(source, "prompts[0]", notes)
    return out, [f"{n.kind}: {n.what}" for n in notes]


@pytest.mark.parametrize(
    ("source", "row", "rendered"),
    [
        ("{{ name }} stays", {"name": "Ada"}, "Ada stays"),
        (
            "{% if items.length === 0 %}none{% elseif x %}x{% else %}some{% endif %}",
            {"items": [], "x": 0},
            "none",
        ),
        (
            "{% if items.length !== 0 %}{{ items.length }} item(s){% endif %}",
            {"items": [1, 2]},
            "2 item(s)",
        ),
        (
            "{{ name.toUpperCase() }}/{{ name.toLowerCase() }}/[{{ pad.trim() }}]",
            {"name": "Ada", "pad": " x "},
            "ADA/ada/[x]",
        ),
        (
            "{% for x in xs %}{{ loop.index }}/{{ loop.length }} {% endfor %}",
            {"xs": "ab"},
            "1/2 2/2 ",
        ),
        ("{{ text | nl2br }}", {"text": "a\nb"}, "a<br />\nb"),
        ("{% verbatim %}{{ keep }}{% endverbatim %}", {}, "{{ keep }}"),
        ("{% raw %}{{ keep }}{% endraw %} {{ 'a.length' }}", {}, "{{ keep }} a.length"),
    ],
)
def test_what_jinja_reads_differently_is_rewritten_to_render_the_same(
    source: str, row: dict[str, Any], rendered: str
) -> None:
    out, _ = translate(source)
    assert out is not None
    assert render_template(out, row) == rendered


def test_dump_becomes_tojson_and_is_noted_as_a_difference() -> None:
    out, notes = translate("{{ order | dump }}|{{ order | dump(2) }}")
    assert out == "{{ order | tojson }}|{{ order | tojson(indent=2) }}"
    compact, indented = render_template(out, {"order": {"id": 7, "ok": True}}).split("|")
    assert json.loads(compact) == json.loads(indented) == {"id": 7, "ok": True}
    assert notes == [
        "approximated: Nunjucks `| dump` as `| tojson` (Jinja2 sorts keys, spaces after ':' "
        "and ',', and escapes <, >, &, ' as \\u003c...: the JSON reads the same, the text differs)"
    ]


def test_each_rewrite_is_noted_once() -> None:
    _, notes = translate("{{ a.length }} {{ b.length }} {% if a === b %}{% endif %}")
    assert notes == [
        "translated: Nunjucks `===` / `!==` as `==` / `!=`",
        "translated: Nunjucks `x.length` as `x | length`",
    ]


@pytest.mark.parametrize(
    ("source", "why"),
    [
        (
            "{{ name | uppercaseFirst }}",
            "uses the filter 'uppercaseFirst', which Jinja2 does not have",
        ),
        ("{% if n is prime %}{% endif %}", "uses the test 'prime', which Jinja2 does not have"),
        ("{{ tags.includes('a') }}", "calls the JavaScript method/property '.includes'"),
        ("{% include 'header.njk' %}", "uses {% include %}, which loads other template files"),
        ("{{ env.OPENAI_API_KEY }}", "reads environment variables ({{ env.X }})"),
        ("{{ unclosed", "Jinja2 cannot read this template (line 1"),
    ],
)
def test_what_jinja_cannot_render_the_same_is_reported(source: str, why: str) -> None:
    out, notes = translate(source)
    assert out is None
    (note,) = notes
    assert note.startswith("skipped: ") and why in note


def test_text_without_template_syntax_is_untouched_and_unreported() -> None:
    assert translate("Plain text with {braces} and % signs") == (
        "Plain text with {braces} and % signs",
        [],
    )
