"""Variants with tools: definitions from dicts and Python functions, tool_choice, parallel calls,
max_steps — checked when the variant is made; cache keys and fingerprints unchanged without
tools; a provider that cannot call tools refused before any call, naming the variant."""

from __future__ import annotations

import enum
from typing import Any, Literal

import pandas as pd
import pytest
from tool_cases import LOOKUP, REFUND, dataset, lookup_order, refund

import workbench as wb
from workbench.engine.plan import cache_key
from workbench.engine.progress import NullProgress
from workbench.errors import ParamError, TemplateError
from workbench.prompts.tools import function_tool
from workbench.providers.fake import FakeProvider


def variant(**kw: Any) -> wb.Variant:
    kw.setdefault("tools", [LOOKUP, REFUND])
    return wb.Variant("v1", model="fake/router", user="{{ message }}", **kw)


class Size(enum.Enum):
    SMALL = "s"
    LARGE = "l"


def ship(
    order_id: str,
    express: bool = False,
    size: Size = Size.SMALL,
    mode: Literal["air", "sea"] = "air",
    items: list[int] | None = None,
    weight: float | None = None,
    notes: dict[str, str] | None = None,
) -> str:
    """Ship an order.

    Longer text that is not the description.

    Args:
        order_id: The order to ship,
            as on the receipt.
        express: Next-day delivery.

    Returns:
        A tracking number.
    """
    return "T1"


def test_a_function_becomes_a_definition_from_its_signature_hints_and_docstring() -> None:
    assert function_tool(ship) == {
        "type": "function",
        "function": {
            "name": "ship",
            "description": "Ship an order.",
            "parameters": {
                "type": "object",
                "properties": {
                    "order_id": {
                        "type": "string",
                        "description": "The order to ship, as on the receipt.",
                    },
                    "express": {"type": "boolean", "description": "Next-day delivery."},
                    "size": {"type": "string", "enum": ["s", "l"]},
                    "mode": {"type": "string", "enum": ["air", "sea"]},
                    "items": {"type": "array", "items": {"type": "integer"}},
                    "weight": {"type": "number"},
                    "notes": {"type": "object"},
                },
                "required": ["order_id"],
            },
        },
    }
    assert function_tool(lookup_order) == LOOKUP  # the shared dict is what the function says


def test_sphinx_docstrings_and_untyped_parameters() -> None:
    def add(x: int, y=2):  # type: ignore[no-untyped-def]
        """Add two numbers.

        :param x: the first
        :param y: the second
        """

    params = function_tool(add)["function"]["parameters"]
    assert params == {
        "type": "object",
        "properties": {
            "x": {"type": "integer", "description": "the first"},
            "y": {"description": "the second"},
        },
        "required": ["x"],
    }


@pytest.mark.parametrize(
    ("fn", "message"),
    [
        (lambda order_id: None, "define a named function"),
        (lambda *a: None, "define a named function"),
    ],
)
def test_a_lambda_is_refused(fn: Any, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        variant(tools=[fn])


def test_functions_that_cannot_be_described_are_refused() -> None:
    def many(*orders: str) -> None:
        """Many."""

    def odd(when: complex) -> None:
        """Odd."""

    with pytest.raises(TemplateError, match=r"\*orders .* name each parameter"):
        variant(tools=[many])
    with pytest.raises(TemplateError, match="type <class 'complex'> has no JSON Schema"):
        variant(tools=[odd])


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"tools": "lookup_order"}, "tools must be a list"),
        ({"tools": [{"name": "x"}]}, r"must be an OpenAI function tool.*wrap it as"),
        ({"tools": [42]}, "must be a tool definition"),
        ({"tools": [{"type": "function", "function": {"name": "a b"}}]}, "1-64 letters"),
        (
            {"tools": [{"type": "function", "function": {"name": "a", "params": {}}}]},
            r"unknown key\(s\) \['params'\]",
        ),
        (
            {
                "tools": [
                    {"type": "function", "function": {"name": "a", "parameters": {"type": "array"}}}
                ]
            },
            "parameters must be a JSON Schema object",
        ),
        (
            {
                "tools": [
                    {
                        "type": "function",
                        "function": {
                            "name": "a",
                            "parameters": {"type": "object", "properties": 3},
                        },
                    }
                ]
            },
            "not a valid JSON Schema",
        ),
        ({"tools": [LOOKUP, LOOKUP]}, r"repeated: \['lookup_order'\]"),
        (
            {"tool_choice": "sometimes"},
            r"tool_choice must be one of 'auto', 'none', 'required'.*lookup_order, refund",
        ),
        (
            {"tool_choice": {"type": "function", "function": {"name": "cancel"}}},
            "naming one of the tools",
        ),
        ({"tools": [], "tool_choice": "auto"}, "tool_choice is set but there are no tools"),
        (
            {"tools": [], "parallel_tool_calls": False},
            "parallel_tool_calls is set but there are no tools",
        ),
        ({"parallel_tool_calls": "no"}, "parallel_tool_calls must be True or False"),
        ({"max_steps": 3}, r"lookup_order, refund are given as a definition only"),
        ({"tools": [lookup_order, REFUND], "max_steps": 3}, "refund is given as a definition only"),
        ({"tools": [], "max_steps": 3}, "there are no tools"),
        ({"tools": [lookup_order], "max_steps": 0}, "max_steps must be a whole number >= 1"),
    ],
)
def test_bad_tools_are_refused_when_the_variant_is_made(kw: dict[str, Any], message: str) -> None:
    with pytest.raises(TemplateError, match=message) as info:
        variant(**kw)
    assert str(info.value).startswith("Variant 'v1'")


def test_tool_choice_by_name_is_openai_form_and_replace_keeps_functions() -> None:
    v = variant(tools=[lookup_order, refund], tool_choice="refund", max_steps=4)
    assert v.tool_choice == {"type": "function", "function": {"name": "refund"}}
    assert v.functions == {"lookup_order": lookup_order, "refund": refund}
    b = v.replace(name="v2", tool_choice="lookup_order")
    assert b.functions == v.functions and b.max_steps == 4
    extra = LOOKUP | {"function": {"name": "extra"}}
    with pytest.raises(TemplateError, match="extra is given as a definition only"):
        v.replace(tools=[lookup_order, refund, extra])
    c = v.replace(tools=[lookup_order, refund, extra], max_steps=None)
    assert c.tool_config is not None and c.tool_config.names == ("lookup_order", "refund", "extra")


def test_yaml_names_functions_as_module_paths() -> None:
    v = wb.Variant.from_spec(
        {
            "name": "y",
            "model": "fake/x",
            "user": "hi",
            "tools": ["tool_cases.lookup_order"],
            "max_steps": 2,
        }
    )
    assert v.functions == {"lookup_order": lookup_order}
    with pytest.raises(TemplateError, match=r"nowhere_module\.f not found; import its module"):
        wb.Variant.from_spec({"name": "y", "user": "hi", "tools": ["nowhere_module.f"]})


def test_without_tools_keys_and_fingerprints_are_unchanged() -> None:
    plain = wb.Variant("p", model="fake/x", user="{{ message }}")
    assert "tools" not in plain.spec() and "max_steps" not in plain.spec()
    tooled = plain.replace(tools=[LOOKUP])
    assert tooled.fingerprint != plain.fingerprint
    assert tooled.spec()["tools"] == [LOOKUP]
    cells = wb.Experiment("k", dataset(), [plain, tooled.replace(name="t")]).plan().cells
    without = next(c for c in cells if c.variant == "p")
    assert without.request.tools is None
    with_tools = next(c for c in cells if c.variant == "t" and c.row_id == without.row_id)
    assert with_tools.key != without.key
    # A request without tools hashes exactly as before tools existed (the 0.1.0.dev0 fixture
    # in test_migrations pins the same): model, messages, params, repeat.
    import hashlib
    import json

    body = {
        "model": "fake/x",
        "messages": [["user", "where is order 42"]],
        "params": {},
        "repeat": 0,
    }
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert cache_key(without.request) == "wb1:" + hashlib.sha256(text.encode()).hexdigest()


def test_choice_and_parallel_enter_the_key() -> None:
    base = variant()
    keys = {
        wb.Experiment("k", dataset(), [v]).plan().cells[0].key
        for v in (
            base,
            base.replace(tool_choice="required"),
            base.replace(parallel_tool_calls=False),
        )
    }
    assert len(keys) == 3


def test_a_provider_that_cannot_call_tools_is_refused_before_any_call(fake: FakeProvider) -> None:
    ok = wb.Variant("fine", model="fake/router", user="{{ message }}")
    local = wb.Variant("on-local", model="local/smollm2", user="{{ message }}", tools=[LOOKUP])
    exp = wb.Experiment("x", dataset(), [ok, local])
    with pytest.raises(ParamError) as info:
        exp.run(progress=NullProgress())
    text = str(info.value)
    assert text.startswith(
        "Variant 'on-local' (local/smollm2): the embedded local model cannot call tools"
    )
    assert "tools lookup_order" in text and "leave tools out" in text
    assert fake.calls.total() == 0
    with pytest.raises(ParamError, match="cannot call tools"):
        exp.estimate()


def test_a_script_calling_tools_without_tools_offered_is_an_error_row(fake: FakeProvider) -> None:
    from workbench.providers.fake import tool_call

    fake.script("router", tool_call("lookup_order", {"order_id": "1"}))
    v = wb.Variant("plain", model="fake/router", user="{{ message }}")
    res = wb.Experiment("x", dataset(), [v]).run(progress=NullProgress())
    assert res.df["error"].str.contains("the request offers none").all()


def test_variants_render_the_same_messages_with_or_without_tools() -> None:
    row = pd.Series({"message": "hi"}).to_dict()
    assert variant().render(row) == variant(tools=[]).render(row)
