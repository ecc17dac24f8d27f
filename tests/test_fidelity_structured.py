"""Structured output: ``Variant(response_format=...)`` (a JSON Schema or a pydantic model) sent
natively by each API shape, the parsed reply in ``parsed``, ``json_schema()`` defaulting to the
variant's schema, and the schema exported as Prompty ``outputs`` and Dotprompt ``output.schema``."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fidelity_helpers import experiment, run, variant
from pydantic import BaseModel

import workbench as wb
from workbench.errors import TemplateError
from workbench.providers.fake import FakeProvider
from workbench.testing.mockserver import MockServer

SCHEMA = {
    "title": "Capital",
    "type": "object",
    "properties": {"answer": {"type": "string", "description": "the city"}},
    "required": ["answer"],
    "additionalProperties": False,
}


class City(BaseModel):
    answer: str
    population: int | None = None


class Country(BaseModel):
    """A schema every part of which has a Prompty kind."""

    name: str
    cities: list[str]


def test_a_pydantic_model_becomes_a_strict_json_schema() -> None:
    v = wb.Variant("v", model="fake/echo", user="{{ q }}", response_format=City)
    fmt = v.request_params["response_format"]
    assert fmt["type"] == "json_schema"
    inner = fmt["json_schema"]
    assert (inner["name"], inner["strict"]) == ("City", True)
    assert inner["schema"]["additionalProperties"] is False
    assert inner["schema"]["required"] == ["answer", "population"]  # as OpenAI's SDK does
    assert v.spec()["response_format"] == fmt  # recorded (and fingerprinted) as plain data
    assert wb.Variant.from_spec(v.spec()).request_params == v.request_params


def test_a_dict_schema_is_sent_as_it_is_strict_only_when_it_allows() -> None:
    strict = wb.Variant("a", user="x", response_format=SCHEMA).response_format
    loose = wb.Variant("b", user="x", response_format={"type": "object"}).response_format
    assert strict["json_schema"] == {"name": "Capital", "schema": SCHEMA, "strict": True}
    assert loose["json_schema"]["strict"] is False


def test_response_format_is_given_once_and_must_be_a_schema() -> None:
    with pytest.raises(TemplateError, match="give response_format once"):
        wb.Variant("v", user="x", response_format=SCHEMA, params={"response_format": {}})
    with pytest.raises(TemplateError, match="a JSON Schema \\(a dict\\) or a pydantic model"):
        wb.Variant("v", user="x", response_format="json")


def test_no_response_format_changes_no_cache_key_or_fingerprint() -> None:
    v = wb.Variant("v", model="fake/echo", user="{{ q }}", params={"temperature": 0})
    assert "response_format" not in v.spec()
    assert v.request_params == {"temperature": 0}


@pytest.mark.parametrize("kind", ["openai", "responses", "anthropic", "compatible"])
def test_each_api_gets_the_schema_natively_and_the_reply_is_parsed(
    srv: MockServer, kind: str
) -> None:
    v = variant(kind, response_format=SCHEMA)
    exp = experiment([v], scorers=[wb.scorers.json_schema()])
    row = run(exp).df.iloc[0]
    assert row["output"] == '{"answer": "mock"}'
    assert row["parsed"] == {"answer": "mock"}
    assert row["json_schema_pass"] and row["json_schema_reason"] == "matches the schema"
    body = srv.bodies()[-1]
    if kind == "anthropic":
        assert body["output_config"] == {"format": {"type": "json_schema", "schema": SCHEMA}}
    elif kind == "responses":
        assert body["text"]["format"] == {
            "type": "json_schema",
            "name": "Capital",
            "schema": SCHEMA,
            "strict": True,
        }
    else:
        assert body["response_format"] == {
            "type": "json_schema",
            "json_schema": {"name": "Capital", "schema": SCHEMA, "strict": True},
        }


def test_json_schema_without_a_schema_uses_each_variants_own(fake: FakeProvider) -> None:
    fake.script("js", lambda req: '{"answer": 3}' if req.params else "plain text")
    typed = wb.Variant("typed", model="fake/js", user="{{ q }}", response_format=SCHEMA)
    plain = wb.Variant("plain", model="fake/js", user="{{ q }}")
    res = wb.Experiment(
        "s", pd.DataFrame({"q": ["x"]}), [typed, plain], scorers=[wb.scorers.json_schema()]
    ).run()
    by = res.df.set_index("variant")
    assert by.loc["typed", "json_schema_pass"] == False  # noqa: E712 - 3 is not a string
    assert by.loc["typed", "json_schema_reason"] == "$.answer: 3 is not of type 'string'"
    assert by.loc["typed", "parsed"] == {"answer": 3}
    assert pd.isna(by.loc["plain", "json_schema_pass"])
    assert by.loc["plain", "json_schema_reason"].startswith("no schema: the variant sets no")
    assert by.loc["plain", "parsed"] is None


def _exported(tmp_path: Path, fake: FakeProvider, **kw: Any) -> Any:
    fake.script("good", '{"answer": "Paris"}')
    v = wb.Variant("v", model="fake/good", user="Capital of {{ country }}?", **kw)
    res = wb.Experiment("s", pd.DataFrame({"country": ["France"]}), [v]).run()
    return res.export("v", name="capital", to=tmp_path / "prompts")


def test_the_schema_is_exported_as_prompty_outputs(tmp_path: Path, fake: FakeProvider) -> None:
    prompty = pytest.importorskip("prompty")
    p = _exported(tmp_path, fake, response_format=Country)
    agent = prompty.load(str(p.path / "prompt.prompty"))
    outputs = {o.name: (o.kind, o.required) for o in agent.outputs}
    assert outputs == {"name": ("string", True), "cities": ("array", True)}
    assert [o.items.kind for o in agent.outputs if o.name == "cities"] == ["string"]
    assert p.params["response_format"]["json_schema"]["name"] == "Country"  # what is sent


def test_a_schema_without_prompty_kinds_still_travels_in_the_options(
    tmp_path: Path, fake: FakeProvider
) -> None:
    p = _exported(tmp_path, fake, response_format=City)  # int | None: no Prompty kind
    text = (p.path / "prompt.prompty").read_text(encoding="utf-8")
    assert "\noutputs:" not in text
    assert (
        p.params["response_format"]
        == wb.Variant("x", user="x", response_format=City).response_format
    )


def test_the_schema_is_exported_as_dotprompt_output_schema(
    tmp_path: Path, fake: FakeProvider
) -> None:
    dotpromptz = pytest.importorskip("dotpromptz")
    p = _exported(tmp_path, fake, response_format=SCHEMA)
    text = (p.path / "prompt.prompt").read_text(encoding="utf-8")
    parsed = dotpromptz.Dotprompt().parse(text)
    assert (parsed.output.format, parsed.output.schema) == ("json", SCHEMA)
    assert "response_format" not in (parsed.config or {})  # said once, as Dotprompt says it
    meta = asyncio.run(dotpromptz.Dotprompt().render_metadata(text))
    assert meta.output.schema == SCHEMA
