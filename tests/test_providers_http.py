"""The real OpenAI / Anthropic / OpenAI-compatible providers, through the official SDKs, against
the loopback mock server: replies, usage, costs, faults, retries, caching, limits and secrets.

Everything is proven by what the server saw (``/_stats``): request counts, paths, statuses and
the fingerprints (sha256 of the canonical JSON body) of successfully answered requests.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from mock_helpers import ANTHROPIC_KEY, OPENAI_KEY

import workbench as wb
from workbench.config import Limits
from workbench.engine.progress import NullProgress
from workbench.engine.store import Store
from workbench.errors import MissingKeyError, ParamError
from workbench.models.catalog import model_info
from workbench.providers.anthropic_messages import DEFAULT_MAX_TOKENS
from workbench.testing.mockcore import fingerprint
from workbench.testing.mockserver import MockServer

SECRETS = (OPENAI_KEY, ANTHROPIC_KEY)

MODELS = {
    "openai": "openai/gpt-6.2-sol",
    "anthropic": "anthropic/claude-haiku-4-5",
    "compatible": "mock/anything",
}
PATHS = {
    "openai": "/v1/chat/completions",
    "anthropic": "/v1/messages",
    "compatible": "/v1/chat/completions",
}
KINDS = list(MODELS)
SYSTEM = "Be brief."
QUESTIONS = ["what is the capital of France", "two words"]


def run(exp: wb.Experiment) -> wb.Results:
    return exp.run(progress=NullProgress())


def dataset(questions: list[str] | None = None) -> wb.Dataset:
    return wb.Dataset(pd.DataFrame({"q": questions or QUESTIONS}))


def variant(kind: str, name: str = "v", **kw: Any) -> wb.Variant:
    kw.setdefault("system", SYSTEM)
    kw.setdefault("user", "{{ q }}")
    return wb.Variant(name, model=MODELS[kind], **kw)


def one_cell(kind: str, **kw: Any) -> wb.Experiment:
    return wb.Experiment("one", dataset(["hello big world"]), [variant(kind, **kw)])


def requests(srv: MockServer) -> int:
    return int(srv.stats()["requests_total"])


def words(text: str) -> int:
    return len(text.split())


def expected_body(kind: str, question: str, max_tokens: int | None) -> dict[str, Any]:
    """The exact JSON body each provider must send (its fingerprint is checked at the server);
    calls stream by default (the ``stream`` setting)."""
    system = {"role": "system", "content": SYSTEM}
    user = {"role": "user", "content": question}
    model = MODELS[kind].split("/", 1)[1]
    if kind == "anthropic":
        return {
            "model": model,
            "messages": [user],
            "max_tokens": max_tokens or DEFAULT_MAX_TOKENS,
            "system": SYSTEM,
            "stream": True,
        }
    body: dict[str, Any] = {"model": model, "messages": [system, user]}
    if max_tokens is not None:
        body["max_completion_tokens" if kind == "openai" else "max_tokens"] = max_tokens
    body.update(stream=True, stream_options={"include_usage": True})
    return body


def cached_responses() -> int:
    with Store(wb.config.get_settings().store_path) as store:
        return store.count_responses()


# -- normal replies ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_normal_replies_usage_finish_reason_and_cost(srv: MockServer, kind: str) -> None:
    exp = wb.Experiment(
        "normal",
        dataset(),
        [variant(kind, "free"), variant(kind, "cut", params={"max_tokens": 3})],
    )
    res = run(exp)
    df = res.df
    assert res.status == "complete"
    assert df["error"].isna().all()
    info = model_info(MODELS[kind])
    if kind != "compatible":
        assert info.input_per_1m and info.output_per_1m  # a real price, not a vacuous 0 == 0
    for _, row in df.iterrows():
        full = "mock: " + row["q"]
        cut = row["variant"] == "cut" and words(full) > 3
        assert row["output"] == (" ".join(full.split()[:3]) if cut else full)
        assert row["finish_reason"] == ("length" if cut else "stop")
        assert row["input_tokens"] == words(SYSTEM) + words(row["q"])
        assert row["output_tokens"] == words(row["output"])
        assert row["cost_usd"] == pytest.approx(
            info.cost(row["input_tokens"], row["output_tokens"])
        )
        assert row["provider"] == MODELS[kind].split("/")[0]
        assert row["latency_ms"] > 0
        assert not row["cached"]
    assert set(df["finish_reason"]) == {"stop", "length"}  # both outcomes really happened
    stats = srv.stats()
    assert stats["requests_total"] == 4
    assert stats["by_path"] == {PATHS[kind]: 4}
    assert stats["by_status"] == {"200": 4}
    assert stats["auth_present"] == 4
    sent = {fingerprint(expected_body(kind, q, m)) for q in QUESTIONS for m in (None, 3)}
    assert set(stats["fingerprints"]) == sent  # exact bodies; Anthropic got a `system` field


def test_anthropic_joins_system_messages_into_the_system_field(srv: MockServer) -> None:
    v = wb.Variant(
        "two-systems",
        model=MODELS["anthropic"],
        system="First rule.",
        messages=[{"role": "assistant", "content": "ok"}],
        user="{{ q }}",
    )
    res = run(wb.Experiment("sys", dataset(["hi there"]), [v]))
    assert res.df["error"].isna().all()
    body = {
        "model": "claude-haiku-4-5",
        "messages": [
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": "hi there"},
        ],
        "max_tokens": DEFAULT_MAX_TOKENS,
        "system": "First rule.",
        "stream": True,
    }
    assert set(srv.stats()["fingerprints"]) == {fingerprint(body)}


@pytest.mark.parametrize(
    ("kind", "params", "sent"),
    [
        (
            "openai",
            {"max_tokens": 50, "temperature": 0, "seed": 3, "stop": ["\n\n"]},
            {"max_completion_tokens": 50, "temperature": 0, "seed": 3, "stop": ["\n\n"]},
        ),
        (
            "anthropic",
            {"stop": "END", "top_k": 2, "temperature": 0.5},
            {
                "max_tokens": DEFAULT_MAX_TOKENS,
                "stop_sequences": ["END"],
                "top_k": 2,
                "temperature": 0.5,
                "system": SYSTEM,
            },
        ),
        (
            "compatible",
            {"top_k": 2, "min_p": 0.1, "repeat_penalty": 1.1, "max_tokens": 50},
            {"top_k": 2, "min_p": 0.1, "repeat_penalty": 1.1, "max_tokens": 50},
        ),
    ],
)
def test_params_reach_the_wire_in_each_api_shape(
    srv: MockServer, kind: str, params: dict[str, Any], sent: dict[str, Any]
) -> None:
    res = run(one_cell(kind, params=params))
    assert res.df.iloc[0]["error"] is None
    system = {"role": "system", "content": SYSTEM}
    user = {"role": "user", "content": "hello big world"}
    messages = [user] if kind == "anthropic" else [system, user]
    body = {"model": MODELS[kind].split("/", 1)[1], "messages": messages, **sent, "stream": True}
    if kind != "anthropic":
        body["stream_options"] = {"include_usage": True}
    assert set(srv.stats()["fingerprints"]) == {fingerprint(body)}


def test_anthropic_max_tokens_stop_is_length(srv: MockServer) -> None:
    res = run(one_cell("anthropic", params={"max_tokens": 1}))
    row = res.df.iloc[0]
    assert (row["output"], row["finish_reason"], row["output_tokens"]) == ("mock:", "length", 1)


# -- faults -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_429_with_retry_after_is_honoured(srv: MockServer, kind: str) -> None:
    srv.set_faults(rate_limit_first=2, retry_after=0.3)
    start = time.monotonic()
    res = run(one_cell(kind))
    elapsed = time.monotonic() - start
    row = res.df.iloc[0]
    assert row["error"] is None
    assert row["output"] == "mock: hello big world"
    stats = srv.stats()
    assert stats["requests_total"] == 3
    assert stats["by_status"] == {"429": 2, "200": 1}
    assert elapsed >= 0.55  # two waits of at least Retry-After (0.3 s) each


@pytest.mark.parametrize("kind", KINDS)
def test_transient_500s_are_retried(srv: MockServer, kind: str) -> None:
    srv.set_faults(error_first=2)
    res = run(one_cell(kind))
    assert res.df.iloc[0]["error"] is None
    stats = srv.stats()
    assert (stats["requests_total"], stats["successes"]) == (3, 1)
    assert stats["by_status"] == {"500": 2, "200": 1}


@pytest.mark.parametrize("kind", KINDS)
def test_persistent_500_becomes_an_uncached_error_row(srv: MockServer, kind: str) -> None:
    wb.configure(max_retries=2)
    srv.set_faults(error_rate=1.0)
    res = run(one_cell(kind))
    assert res.status == "complete"
    row = res.df.iloc[0]
    assert "HTTP 500" in row["error"]
    assert "after 3 attempts" in row["error"]
    assert row["output"] is None
    assert row["cost_usd"] == 0.0
    assert requests(srv) == 3
    assert cached_responses() == 0
    again = run(one_cell(kind))  # errors are not cached: the server is asked again
    assert requests(srv) == 6
    assert "after 3 attempts" in again.df.iloc[0]["error"]
    assert not again.df.iloc[0]["cached"]


@pytest.mark.parametrize("kind", KINDS)
def test_hung_request_times_out_and_is_retried(srv: MockServer, kind: str) -> None:
    wb.configure(timeout=0.3)
    srv.set_faults(hang_first=1)
    start = time.monotonic()
    res = run(one_cell(kind))
    assert time.monotonic() - start >= 0.3
    assert res.df.iloc[0]["output"] == "mock: hello big world"
    stats = srv.stats()
    assert (stats["requests_total"], stats["successes"], stats["faults_fired"]["hang"]) == (2, 1, 1)


def test_timeouts_on_every_attempt_give_a_timeout_error(srv: MockServer) -> None:
    wb.configure(timeout=0.2, max_retries=1)
    srv.set_faults(hang_first=2)
    res = run(one_cell("openai"))
    error = res.df.iloc[0]["error"]
    assert "timed out" in error
    assert "after 2 attempts" in error
    assert requests(srv) == 2


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("fault", ["drop_first", "malformed_first"])
def test_dropped_connection_and_malformed_json_are_retried(
    srv: MockServer, kind: str, fault: str
) -> None:
    srv.set_faults(**{fault: 1})
    res = run(one_cell(kind))
    row = res.df.iloc[0]
    assert row["error"] is None
    assert row["output"] == "mock: hello big world"
    stats = srv.stats()
    assert (stats["requests_total"], stats["successes"]) == (2, 1)
    assert stats["faults_fired"][fault.removesuffix("_first")] == 1


@pytest.mark.parametrize("kind", KINDS)
def test_persistent_malformed_json_is_an_unusable_response_error(
    srv: MockServer, kind: str
) -> None:
    wb.configure(max_retries=1)
    srv.set_faults(malformed_rate=1.0)
    res = run(one_cell(kind))
    error = res.df.iloc[0]["error"]
    assert error.startswith(f"{MODELS[kind].split('/')[0]}: unusable response (")
    assert "after 2 attempts" in error
    assert requests(srv) == 2
    assert cached_responses() == 0


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("mode", ["missing", "wrong_type", "negative"])
def test_bad_usage_gives_missing_tokens_not_a_crash(srv: MockServer, kind: str, mode: str) -> None:
    srv.set_faults(bad_usage=mode)
    res = run(one_cell(kind))
    row = res.df.iloc[0]
    assert row["error"] is None
    assert row["output"] == "mock: hello big world"
    assert pd.isna(row["input_tokens"])
    assert pd.isna(row["output_tokens"])
    assert str(res.df["input_tokens"].dtype) == "Int64"
    assert isinstance(row["cost_usd"], float)
    assert math.isfinite(row["cost_usd"])
    assert row["cost_usd"] >= 0
    assert requests(srv) == 1
    assert res.summary()["errors"].tolist() == [0]


def test_400_is_not_retried(srv: MockServer) -> None:
    # Only a system message: Anthropic gets an empty `messages` list and answers 400.
    v = wb.Variant("sys-only", model=MODELS["anthropic"], system="{{ q }}")
    res = run(wb.Experiment("bad", dataset(["hi"]), [v]))
    error = res.df.iloc[0]["error"]
    assert error.startswith("anthropic HTTP 400")
    assert "messages" in error
    assert "attempts" not in error
    stats = srv.stats()
    assert (stats["requests_total"], stats["by_status"]) == (1, {"400": 1})
    assert cached_responses() == 0


def test_404_is_not_retried(srv: MockServer) -> None:
    wb.configure(endpoints={"mock": {"base_url": srv.url + "/nowhere"}})
    res = run(one_cell("compatible"))
    error = res.df.iloc[0]["error"]
    assert error.startswith("mock HTTP 404")
    assert "attempts" not in error
    assert srv.stats()["by_status"] == {"404": 1}


# -- caching ----------------------------------------------------------------------------------


def test_rerun_makes_zero_requests_and_a_changed_variant_recalls_only_itself(
    srv: MockServer,
) -> None:
    ds = dataset(["alpha", "beta gamma", "delta"])
    a = variant("openai", "a")
    b = variant("anthropic", "b", system="Answer in one word.")
    first = run(wb.Experiment("cache", ds, [a, b]))
    assert requests(srv) == 6
    again = run(wb.Experiment("cache", ds, [a, b]))
    assert requests(srv) == 6
    assert again.df["cached"].all()
    columns = ["output", "input_tokens", "output_tokens", "finish_reason", "cost_usd"]
    pd.testing.assert_frame_equal(first.df[columns], again.df[columns])
    changed = run(wb.Experiment("cache", ds, [a, b.replace(system="Answer in two words.")]))
    stats = srv.stats()
    assert stats["requests_total"] == 9
    assert stats["by_path"] == {PATHS["openai"]: 3, PATHS["anthropic"]: 6}
    assert max(stats["fingerprints"].values()) == 1
    by_variant = changed.df.groupby("variant")["cached"].agg(list)
    assert by_variant["a"] == [True] * 3
    assert by_variant["b"] == [False] * 3


def test_repeats_are_each_called_once(srv: MockServer) -> None:
    ds = dataset(["alpha", "beta"])
    res = run(wb.Experiment("rep", ds, [variant("compatible")], repeats=3))
    assert len(res.df) == 6
    assert res.df["request_key"].nunique() == 6
    stats = srv.stats()
    assert stats["requests_total"] == 6
    # A repeat is the same request sent again: one body per row, answered once per repeat.
    assert sorted(stats["fingerprints"].values()) == [3, 3]
    assert set(stats["fingerprints"]) == {
        fingerprint(expected_body("compatible", q, None)) for q in ("alpha", "beta")
    }
    run(wb.Experiment("rep", ds, [variant("compatible")], repeats=3))
    assert requests(srv) == 6
    more = run(wb.Experiment("rep", ds, [variant("compatible")], repeats=4))
    assert requests(srv) == 8  # only the new repeat index is called
    assert more.df.groupby("repeat")["cached"].all().tolist() == [True, True, True, False]


def test_identical_cells_collapse_into_one_request(srv: MockServer) -> None:
    a = variant("openai", "a")
    ds = dataset(["alpha", "beta", "gamma"])
    res = run(wb.Experiment("twins", ds, [a, a.replace(name="b")]))
    stats = srv.stats()
    assert stats["requests_total"] == 3
    assert sorted(stats["fingerprints"].values()) == [1, 1, 1]
    assert res.df["error"].isna().all()
    outputs = res.df.pivot(index="row_id", columns="variant", values="output")
    assert (
        outputs["a"].tolist()
        == outputs["b"].tolist()
        == ["mock: alpha", "mock: beta", "mock: gamma"]
    )
    assert not res.df["cached"].any()
    costs = res.df.pivot(index="row_id", columns="variant", values="cost_usd")
    assert (costs["a"] > 0).all() and (costs["b"] == 0).all()  # one call, paid once


# -- limits -----------------------------------------------------------------------------------


def test_concurrency_cap_is_respected_at_the_server(srv: MockServer) -> None:
    srv.set_faults(latency=0.2)
    ds = dataset([f"question {i}" for i in range(30)])
    res = run(wb.Experiment("conc", ds, [variant("openai")], concurrency=10))
    assert res.df["error"].isna().all()
    stats = srv.stats()
    assert stats["requests_total"] == 30
    assert 1 < stats["max_in_flight"] <= 10


def test_configured_provider_concurrency_is_respected(srv: MockServer) -> None:
    wb.configure(limits={"anthropic": Limits(concurrency=3)})
    srv.set_faults(latency=0.1)
    ds = dataset([f"question {i}" for i in range(12)])
    run(wb.Experiment("conc", ds, [variant("anthropic")]))
    assert 1 < srv.stats()["max_in_flight"] <= 3


def test_rpm_limit_paces_requests_beyond_the_burst(srv: MockServer) -> None:
    # 600/min = 10/s with a burst of 2 s worth (20): 40 calls need at least ~2 s.
    wb.configure(limits={"openai": Limits(concurrency=20, rpm=600)})
    ds = dataset([f"question {i}" for i in range(40)])
    start = time.monotonic()
    res = run(wb.Experiment("rpm", ds, [variant("openai")]))
    elapsed = time.monotonic() - start
    assert res.df["error"].isna().all()
    assert requests(srv) == 40
    assert elapsed >= 1.8


# -- refusals before any call -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "env"), [("openai", "OPENAI_API_KEY"), ("anthropic", "ANTHROPIC_API_KEY")]
)
def test_missing_key_fails_before_any_request(
    srv: MockServer, monkeypatch: pytest.MonkeyPatch, kind: str, env: str
) -> None:
    monkeypatch.delenv(env)
    exp = wb.Experiment("nokey", dataset(), [variant("compatible", "ok"), variant(kind, "k")])
    with pytest.raises(MissingKeyError, match=env) as info:
        run(exp)
    assert info.value.env_var == env
    assert requests(srv) == 0


def test_missing_endpoint_key_fails_before_any_request(
    srv: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MOCK_API_KEY", raising=False)
    wb.configure(
        endpoints={"mock": {"base_url": srv.openai_base_url, "api_key_env": "MOCK_API_KEY"}}
    )
    with pytest.raises(MissingKeyError, match="MOCK_API_KEY"):
        run(one_cell("compatible"))
    assert requests(srv) == 0


@pytest.mark.parametrize(
    ("kind", "params", "match"),
    [
        ("openai", {"top_k": 5}, "top_k"),
        ("anthropic", {"seed": 1}, "seed"),
        ("compatible", {"temperature": 3}, "temperature"),
        ("openai", {"max_tokens": 10**6}, "max_tokens"),
    ],
)
def test_rejected_param_fails_before_any_request(
    srv: MockServer, kind: str, params: dict[str, Any], match: str
) -> None:
    with pytest.raises(ParamError, match=match):
        run(one_cell(kind, params=params))
    assert requests(srv) == 0


# -- secrets ----------------------------------------------------------------------------------


def test_api_keys_are_sent_but_never_stored(srv: MockServer, tmp_path: Path) -> None:
    ds = dataset(["alpha", "beta", "gamma"])
    ok = wb.Experiment("ok", ds, [variant("openai", "o"), variant("anthropic", "a")])
    results = [run(ok)]
    srv.set_faults(error_rate=1.0)  # failed runs too: error rows, messages, journal
    wb.configure(max_retries=1)
    bad = [variant("openai", "o2", system="Fail."), variant("anthropic", "a2", system="Fail.")]
    results.append(run(wb.Experiment("bad", ds, bad)))
    assert results[1].df["error"].notna().all()
    srv.set_faults(error_rate=0.0, rate_limit_first=2, retry_after=0.05)
    results.append(run(wb.Experiment("rl", ds, [variant("openai", "o3", system="Hi.")])))
    assert srv.stats()["auth_present"] > 0
    saved: list[Path] = []
    for i, res in enumerate(results):
        saved += [res.save(tmp_path / f"out{i}.csv"), res.save(tmp_path / f"out{i}.jsonl")]
        text = res.df.to_csv(index=False) + repr(res) + res._repr_html_() + repr(res.record)
        for secret in SECRETS:
            assert secret not in text
    store_dir = wb.config.get_settings().store
    files = [p for p in store_dir.iterdir() if p.name.startswith("store.sqlite")]
    assert any(p.name == "store.sqlite" for p in files)
    for path in files + saved:
        data = path.read_bytes()
        for secret in SECRETS:
            assert secret.encode() not in data, path
            assert secret[-20:].encode() not in data, path


# -- a long, faulty run -----------------------------------------------------------------------


def test_hundreds_of_cells_under_faults_each_answered_once(srv: MockServer) -> None:
    wb.configure(max_retries=8)
    srv.set_faults(rate_limit_every=10, retry_after=0.05, error_rate=0.05, seed=1234)
    ds = dataset([f"question number {i}" for i in range(150)])
    exp = wb.Experiment(
        "many",
        ds,
        [variant("openai", "a"), variant("openai", "b", system="Be kind.")],
        concurrency=20,
    )
    res = run(exp)
    df = res.df
    assert res.status == "complete"
    assert len(df) == 300
    assert (df["output"].notna() ^ df["error"].notna()).all()  # a result or an error, never both
    stats = srv.stats()
    assert stats["faults_fired"]["rate_limit"] > 10
    assert stats["faults_fired"]["error"] > 3
    assert stats["max_in_flight"] <= 20
    assert max(stats["fingerprints"].values()) == 1  # no body answered successfully twice
    ok = df[df["error"].isna()]
    assert stats["successes"] == len(ok) == len(stats["fingerprints"])
    assert cached_responses() == len(ok)
    again = run(exp)
    assert srv.stats()["successes"] == stats["successes"] + (len(df) - len(ok))
    assert again.df["error"].isna().all()
