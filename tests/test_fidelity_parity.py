"""Eval = production: the body ``load_prompt(...).render()`` (``render_responses()``,
``render_anthropic()``) gives is exactly the body the evaluation run sent — captured at the mock
server, for every provider and parameter family — and the real SDK sends it unchanged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from fidelity_helpers import experiment, run, variant
from mock_helpers import ANTHROPIC_KEY, OPENAI_KEY

import workbench as wb
from workbench.testing.mockserver import MockServer

TRANSPORT = ("stream", "stream_options")
"""Keys of how the run's reply travelled, not of what it asked."""
SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string"}},
    "required": ["answer"],
    "additionalProperties": False,
}
FAMILIES: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "openai": [
        ("plain", {}),
        ("max_tokens", {"max_tokens": 64}),
        ("sampling", {"temperature": 0.2, "top_p": 0.9, "stop": ["\n\n"], "seed": 7}),
        ("penalties", {"presence_penalty": 0.5, "frequency_penalty": 0.1}),
        ("reasoning", {"reasoning_effort": "high", "verbosity": "low", "max_tokens": 400}),
        ("tier", {"service_tier": "flex"}),
        ("structured", {"response_format": SCHEMA}),
    ],
    "responses": [
        ("plain", {}),
        ("max_tokens", {"max_tokens": 64, "temperature": 0.3}),
        (
            "reasoning",
            {"reasoning_effort": "max", "reasoning_summary": "auto", "verbosity": "high"},
        ),
        ("structured", {"response_format": SCHEMA}),
    ],
    "anthropic": [
        ("plain", {}),
        ("sampling", {"max_tokens": 64, "temperature": 0.5, "top_k": 3, "stop": "END"}),
        ("thinking", {"thinking": {"type": "enabled", "budget_tokens": 2048}}),
        ("effort", {"thinking": {"type": "adaptive"}, "effort": "low", "max_tokens": 3000}),
        ("caching", {"cache_control": {"type": "ephemeral"}, "metadata": {"user_id": "u1"}}),
        ("structured", {"response_format": SCHEMA}),
    ],
    "compatible": [
        ("plain", {}),
        ("extras", {"max_tokens": 64, "top_k": 5, "min_p": 0.1, "repeat_penalty": 1.1}),
        ("structured", {"response_format": SCHEMA}),
    ],
}
CASES = [(kind, name, params) for kind, cases in FAMILIES.items() for name, params in cases]


def _flat(kwargs: dict[str, Any]) -> dict[str, Any]:
    """What an SDK sends for ``create(**kwargs)``: ``extra_body`` merged in."""
    out = {k: v for k, v in kwargs.items() if k != "extra_body"}
    out.update(kwargs.get("extra_body") or {})
    return out


def _render(prompt: Any, kind: str, inputs: dict[str, Any]) -> dict[str, Any]:
    if kind == "anthropic":
        return dict(prompt.render_anthropic(**inputs))
    if kind == "responses":
        return dict(prompt.render_responses(**inputs))
    return dict(prompt.render(**inputs))


def _send(srv: MockServer, kind: str, kwargs: dict[str, Any]) -> None:
    """Production: the rendered request through the real SDK."""
    if kind == "anthropic":
        client = anthropic.Anthropic(base_url=srv.anthropic_base_url, api_key=ANTHROPIC_KEY)
        client.messages.create(**kwargs)
        return
    oai = openai.OpenAI(base_url=srv.openai_base_url, api_key=OPENAI_KEY)
    if kind == "responses":
        oai.responses.create(**kwargs)
    else:
        oai.chat.completions.create(**kwargs)


@pytest.mark.parametrize(("kind", "family", "params"), CASES, ids=[f"{k}-{n}" for k, n, _ in CASES])
def test_the_rendered_request_is_the_body_the_run_sent(
    srv: MockServer, tmp_path: Path, kind: str, family: str, params: dict[str, Any]
) -> None:
    params = dict(params)
    schema = params.pop("response_format", None)
    v = variant(kind, params=params, response_format=schema)
    res = run(experiment([v], ["what is the capital of France"]))
    assert res.df["error"].isna().all(), res.df["error"].iloc[0]
    sent = {k: v for k, v in srv.bodies()[-1].items() if k not in TRANSPORT}
    exported = res.export("v", name=f"{kind}-{family}", to=tmp_path / "prompts")
    loaded = wb.load_prompt(exported.path)
    kwargs = _render(loaded, kind, {"q": "what is the capital of France"})
    assert _flat(kwargs) == sent
    _send(srv, kind, kwargs)
    assert srv.bodies()[-1] == sent  # the SDK sent production's request unchanged


def test_render_gives_max_completion_tokens_which_reasoning_models_require(
    srv: MockServer, tmp_path: Path
) -> None:
    v = variant("openai", params={"max_tokens": 32})
    res = run(experiment([v]))
    p = wb.load_prompt(res.export("v", name="x", to=tmp_path).path)
    rendered = p.render(q="hello big world")
    assert rendered["max_completion_tokens"] == 32 and "max_tokens" not in rendered
    with pytest.raises(openai.BadRequestError, match="max_tokens' is not supported"):
        _send(srv, "openai", {**rendered, "max_tokens": rendered.pop("max_completion_tokens")})


def test_render_anthropic_keeps_openai_only_parameters_out(srv: MockServer, tmp_path: Path) -> None:
    v = variant("anthropic", params={"effort": "medium", "max_tokens": 100})
    res = run(experiment([v]))
    payload = wb.load_prompt(res.export("v", name="a", to=tmp_path).path).render_anthropic(q="x")
    flat = _flat(payload)
    assert "reasoning_effort" not in flat and flat["output_config"] == {"effort": "medium"}
    assert set(payload) <= {"model", "messages", "max_tokens", "system", "extra_body"}
