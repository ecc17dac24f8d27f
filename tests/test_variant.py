"""Variants: message order, variables, templates, the sandbox, specs and fingerprints."""

from __future__ import annotations

import re

import pytest

from workbench.errors import TemplateError
from workbench.prompts import Variant, render_template, template_variables

FEW_SHOT = [
    {"role": "user", "content": "Capital of {{ example_country }}?"},
    {"role": "assistant", "content": "{{ example_city }}"},
]


def make() -> Variant:
    return Variant(
        "terse",
        model="fake/echo",
        system="You answer about {{ topic }}.",
        messages=FEW_SHOT,
        user="Capital of {{ country }}?",
        params={"temperature": 0, "max_tokens": 8},
        description="short answers",
    )


ROW = {
    "topic": "geography",
    "example_country": "Spain",
    "example_city": "Madrid",
    "country": "France",
}


def test_render_order_system_messages_user() -> None:
    assert make().render(ROW) == [
        {"role": "system", "content": "You answer about geography."},
        {"role": "user", "content": "Capital of Spain?"},
        {"role": "assistant", "content": "Madrid"},
        {"role": "user", "content": "Capital of France?"},
    ]


def test_render_user_only_and_system_only() -> None:
    assert Variant("u", user="{{ q }}").render({"q": "hi"}) == [{"role": "user", "content": "hi"}]
    assert Variant("s", system="be brief").render({}) == [{"role": "system", "content": "be brief"}]


def test_templates_lists_where_role_source() -> None:
    assert [(w, r) for w, r, _ in make().templates()] == [
        ("system", "system"),
        ("messages[0]", "user"),
        ("messages[1]", "assistant"),
        ("user", "user"),
    ]


def test_variables() -> None:
    assert make().variables == {"topic", "example_country", "example_city", "country"}
    v = Variant("v", user="{% for x in items %}{{ x }}{{ sep }}{% endfor %}{% set y = 1 %}{{ y }}")
    assert v.variables == {"items", "sep"}
    assert Variant("c", user="constant").variables == frozenset()


def test_extra_row_values_are_ignored() -> None:
    assert Variant("v", user="{{ q }}").render({"q": "a", "other": "b"})[0]["content"] == "a"


def test_replace_makes_a_changed_copy() -> None:
    a = make()
    b = a.replace(name="friendly", system="Be kind about {{ topic }}.")
    assert (a.name, b.name) == ("terse", "friendly")
    assert b.render(ROW)[0]["content"] == "Be kind about geography."
    assert a.render(ROW)[0]["content"] == "You answer about geography."
    assert b.user == a.user
    assert b.messages == a.messages
    assert b.params == a.params


def test_replace_revalidates() -> None:
    with pytest.raises(TemplateError, match="syntax error"):
        make().replace(user="{{ broken")
    with pytest.raises(TemplateError, match="non-empty name"):
        make().replace(name=" ")


def test_variant_is_immutable_and_params_copied() -> None:
    params = {"temperature": 0}
    v = Variant("v", user="x", params=params)
    params["temperature"] = 1
    assert v.params == {"temperature": 0}
    with pytest.raises(AttributeError):
        v.name = "other"  # type: ignore[misc]


# -- construction errors ------------------------------------------------------------------


def test_syntax_error_at_construction_names_place_and_line() -> None:
    with pytest.raises(TemplateError) as info:
        Variant("broken", system="ok", user="line one\n{{ q }\nline three")
    message = str(info.value)
    assert "variant 'broken' user" in message
    assert "line 2" in message
    assert ".." not in message


def test_syntax_error_in_few_shot_message() -> None:
    with pytest.raises(TemplateError, match=r"variant 'v' messages\[1\], line 1"):
        Variant(
            "v",
            user="x",
            messages=[
                {"role": "user", "content": "ok"},
                {"role": "assistant", "content": "{% if %}"},
            ],
        )


def test_unclosed_block_is_a_syntax_error() -> None:
    with pytest.raises(TemplateError, match=r"line 1: Unexpected end of template"):
        Variant("v", user="{% if q %}yes")


@pytest.mark.parametrize("name", ["", "   ", None])
def test_name_required(name: object) -> None:
    with pytest.raises(TemplateError, match="non-empty name"):
        Variant(name, user="x")  # type: ignore[arg-type]


def test_needs_some_message() -> None:
    with pytest.raises(TemplateError, match="has no messages"):
        Variant("empty")


@pytest.mark.parametrize(
    "turn",
    [
        {"role": "tool", "content": "x"},
        {"role": "user"},
        {"role": "user", "content": "x", "name": "bob"},
    ],
)
def test_bad_message_shape(turn: dict[str, str]) -> None:
    with pytest.raises(TemplateError, match=r"messages\[0\] must be"):
        Variant("v", messages=[turn])


def test_message_content_must_be_text() -> None:
    with pytest.raises(TemplateError, match=r"messages\[0\]\.content must be text"):
        Variant("v", messages=[{"role": "user", "content": 3}])  # type: ignore[dict-item]


# -- rendering errors and values ----------------------------------------------------------


def test_missing_variable_names_variable_and_columns() -> None:
    v = Variant("v", user="{{ question }} / {{ answer }}")
    with pytest.raises(TemplateError) as info:
        v.render({"question": "q", "expected": "e"})
    message = str(info.value)
    assert "variant 'v' user" in message
    assert "'answer' is undefined" in message
    assert "Row columns: question, expected." in message


def test_missing_attribute_is_a_template_error() -> None:
    with pytest.raises(TemplateError, match="does not have"):
        Variant("v", user="{{ a.c }}").render({"a": {"b": 1}})


def test_type_error_while_rendering_is_a_template_error() -> None:
    with pytest.raises(TemplateError, match="failed to render"):
        Variant("v", user="{{ a + 1 }}").render({"a": "text"})


@pytest.mark.parametrize("value", [None, float("nan")])
def test_missing_values_render_empty(value: object) -> None:
    v = Variant("v", user="[{{ a }}]")
    assert v.render({"a": value})[0]["content"] == "[]"


def test_values_render_as_text() -> None:
    v = Variant("v", user="{{ a }} {{ b }} {{ c }}")
    assert v.render({"a": "007", "b": 7, "c": 1.5})[0]["content"] == "007 7 1.5"


def test_no_html_escaping_and_trailing_newline_kept() -> None:
    v = Variant("v", user="<b>{{ a }}</b>\n")
    assert v.render({"a": "x & y"})[0]["content"] == "<b>x & y</b>\n"


def test_regex_escape_filter() -> None:
    out = render_template("^{{ v | regex_escape }}$", {"v": "a.b*(c)"})
    assert out == r"^a\.b\*\(c\)$"
    assert re.fullmatch(out, "a.b*(c)")
    assert not re.fullmatch(out, "aXb*(c)")


def test_template_variables_helper() -> None:
    assert template_variables("{{ a }}{{ b.c }}{{ d | upper }}") == {"a", "b", "d"}
    with pytest.raises(TemplateError, match="in scorer 's', line 1"):
        template_variables("{{", "scorer 's'")


# -- sandbox ------------------------------------------------------------------------------

ATTACKS = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ lipsum.__globals__ }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__['os'] }}",
    "{{ q.__class__ }}",
    "{{ q | attr('__class__') }}",
    "{{ '{0.__class__}'.format(q) }}",
    "{{ [].append(1) }}",
    "{% set d = {} %}{{ d.update({'a': 1}) }}",
    "{{ range(10 ** 9) | list | length }}",
]


@pytest.mark.parametrize("source", ATTACKS)
def test_sandbox_refuses(source: str) -> None:
    v = Variant("evil", user=source)
    with pytest.raises(TemplateError) as info:
        v.render({"q": "hi"})
    assert type(info.value) is TemplateError
    message = str(info.value)
    assert "variant 'evil' user" in message
    for leak in ("<class", "<function", "<module", "__builtins__", "object at 0x", "Context"):
        assert leak not in message


@pytest.mark.parametrize("source", ATTACKS[:3])
def test_sandbox_message_says_what_to_do(source: str) -> None:
    with pytest.raises(TemplateError, match=r"sandbox forbids.*not reach Python internals"):
        Variant("evil", user=source).render({})


def test_sandbox_applies_to_row_values() -> None:
    class Secret:
        token = "s3cret"

        def _private(self) -> str:
            return "hidden"

    with pytest.raises(TemplateError, match="sandbox forbids"):
        Variant("evil", user="{{ obj._private() }}").render({"obj": Secret()})


# -- spec, from_spec, fingerprint ----------------------------------------------------------


def test_spec_round_trip() -> None:
    v = make()
    spec = v.spec()
    assert spec == {
        "name": "terse",
        "model": "fake/echo",
        "system": "You answer about {{ topic }}.",
        "messages": FEW_SHOT,
        "user": "Capital of {{ country }}?",
        "params": {"temperature": 0, "max_tokens": 8},
        "description": "short answers",
    }
    again = Variant.from_spec(spec)
    assert again == v
    assert again.render(ROW) == v.render(ROW)
    assert again.fingerprint == v.fingerprint


def test_minimal_spec_round_trip() -> None:
    v = Variant("u", user="{{ q }}")
    assert v.spec() == {"name": "u", "model": None, "user": "{{ q }}", "params": {}}
    assert Variant.from_spec(v.spec()) == v


def test_from_spec_unknown_field() -> None:
    with pytest.raises(TemplateError, match=r"'x': unknown field\(s\) \['promt'\]; allowed:"):
        Variant.from_spec({"name": "x", "promt": "hi", "user": "hi"})


def test_fingerprint_ignores_name_and_description() -> None:
    v = make()
    assert v.replace(name="other", description="else").fingerprint == v.fingerprint
    assert len(v.fingerprint) == 12


@pytest.mark.parametrize(
    "change",
    [
        {"system": "Different."},
        {"user": "Capital of {{ country }}??"},
        {"model": "fake/upper"},
        {"params": {"temperature": 0.5, "max_tokens": 8}},
        {"messages": []},
    ],
)
def test_fingerprint_changes_with_content(change: dict[str, object]) -> None:
    assert make().replace(**change).fingerprint != make().fingerprint


def test_fingerprint_ignores_param_order() -> None:
    a = Variant("a", user="x", params={"temperature": 0, "max_tokens": 8})
    b = Variant("b", user="x", params={"max_tokens": 8, "temperature": 0})
    assert a.fingerprint == b.fingerprint
