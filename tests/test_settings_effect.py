"""Every setting changes behaviour when set through ``configure()`` or ``workbench.toml`` (one test
per field), and only ``workbench.config`` reads ``WORKBENCH_*`` variables."""

from __future__ import annotations

import dataclasses
import gc
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import workbench as wb
from workbench.config import Settings, get_settings
from workbench.engine.dispatcher import Dispatcher
from workbench.engine.store import Store
from workbench.errors import ProviderError
from workbench.providers import ChatRequest
from workbench.providers.fake import FakeProvider
from workbench.providers.local import LocalProvider
from workbench.testing.mockserver import Faults, MockServer

PACKAGE = Path(wb.__file__).parent


def toml(text: str) -> None:
    Path("workbench.toml").write_text(text, encoding="utf-8")


def one_row(model: str = "fake/echo", **kw: object) -> wb.Experiment:
    ds = wb.Dataset(pd.DataFrame({"q": ["hello there"]}))
    return wb.Experiment("s", ds, [wb.Variant("v", model=model, user="{{ q }}")], **kw)  # type: ignore[arg-type]


@pytest.fixture
def srv(monkeypatch: pytest.MonkeyPatch) -> Iterator[MockServer]:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-" + "x" * 24)
    with MockServer() as server:
        yield server


def test_every_field_is_covered_here() -> None:
    tested = {
        name.removeprefix("test_").split("_sets_")[0]
        for name in globals()
        if name.startswith("test_") and "_sets_" in name
    }
    derived = {"store_origin"}  # said, never set
    assert tested == {f.name for f in dataclasses.fields(Settings)} - derived


def test_only_config_reads_workbench_variables() -> None:
    readers = [
        p.relative_to(PACKAGE).as_posix()
        for p in PACKAGE.rglob("*.py")
        if re.search(r"environ[^\n]*WORKBENCH_|getenv\([\"']WORKBENCH_", p.read_text("utf-8"))
    ]
    assert readers == ["config.py"]


def test_store_sets_where_calls_are_kept(tmp_path: Path) -> None:
    wb.configure(store=tmp_path / "elsewhere")
    res = one_row().run()
    assert Path(res.record.store) == tmp_path / "elsewhere" / "store.sqlite"


def test_default_model_sets_the_model_of_variants_that_name_none() -> None:
    toml('default_model = "fake/upper"\n')
    ds = wb.Dataset(pd.DataFrame({"q": ["hello"]}))
    res = wb.Experiment("d", ds, [wb.Variant("v", user="{{ q }}")]).run()
    assert res.df["output"].tolist() == ["HELLO"] and res.record.models == ("fake/upper",)


def test_timeout_sets_how_long_a_call_may_take(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-" + "x" * 24)
    with MockServer(faults=Faults(latency=1.0)) as slow:
        wb.configure(provider_urls={"openai": slow.openai_base_url}, max_retries=0)
        assert one_row("openai/gpt-6-luna", store="a").run().df["error"].isna().all()
        wb.configure(timeout=0.1)
        res = one_row("openai/gpt-6-luna", store="b").run()
    assert "timed out" in res.df["error"].iloc[0]


def test_max_retries_sets_how_often_a_failure_is_tried_again(fake: FakeProvider) -> None:
    attempts = [0]

    def broken(request: ChatRequest) -> str:
        attempts[0] += 1
        raise ProviderError("fake HTTP 500", kind="server", retryable=True, status=500)

    fake.script("broken", broken)
    toml("max_retries = 2\nbackoff_base = 0.001\n")
    res = one_row("fake/broken").run()
    assert attempts == [3] and "(after 3 attempts)" in res.df["error"].iloc[0]


def _policy(settings: Settings) -> tuple[float, float]:
    store = Store(Path("policy.sqlite"))
    try:
        policy = Dispatcher(store, settings).policy
        return policy.base, policy.cap
    finally:
        store.close()


def test_backoff_base_sets_the_first_wait_between_retries() -> None:
    toml("backoff_base = 0.25\n")
    assert _policy(get_settings())[0] == 0.25


def test_backoff_cap_sets_the_longest_wait_between_retries() -> None:
    wb.configure(backoff_cap=3.0)
    assert _policy(get_settings())[1] == 3.0


def test_endpoints_sets_servers_model_ids_may_name(srv: MockServer) -> None:
    toml(f'[endpoints.mine]\nbase_url = "{srv.openai_base_url}"\n')
    res = one_row("mine/some-model").run()
    assert res.df["error"].isna().all() and srv.stats()["successes"] == 1


def test_limits_sets_calls_in_flight(fake: FakeProvider) -> None:
    active, peak, lock = [0], [0], threading.Lock()

    def counted(request: ChatRequest) -> str:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.01)
        with lock:
            active[0] -= 1
        return "ok"

    fake.script("counted", counted, latency=0.005)
    toml("[limits.fake]\nconcurrency = 2\n")
    ds = wb.Dataset(pd.DataFrame({"q": [f"q{i}" for i in range(12)]}))
    wb.Experiment("l", ds, [wb.Variant("v", model="fake/counted", user="{{ q }}")]).run()
    assert peak[0] <= 2


def test_provider_urls_sets_where_a_built_in_provider_is_reached(srv: MockServer) -> None:
    toml(f'[providers.openai]\nbase_url = "{srv.openai_base_url}"\n')
    res = one_row("openai/gpt-6-luna").run()
    assert res.df["error"].isna().all() and srv.stats()["successes"] == 1


def test_models_sets_prices() -> None:
    toml('[models."fake/priced"]\ninput_per_1m = 1000000.0\noutput_per_1m = 0.0\n')
    res = one_row("fake/priced").run()
    assert res.df["cost_usd"].iloc[0] == pytest.approx(res.df["input_tokens"].iloc[0])


def test_local_threads_sets_the_threads_of_the_embedded_model() -> None:
    toml("local_threads = 1\n")
    provider = LocalProvider.from_settings("local", get_settings())
    assert isinstance(provider, LocalProvider) and provider.threads == 1


def test_local_gguf_sets_another_local_model(tmp_path: Path) -> None:
    weights = tmp_path / "tiny-model.gguf"
    weights.write_bytes(b"not really a model")
    wb.configure(local_gguf=weights)
    info = wb.models.model_info("local/tiny-model")
    assert info.id == "local/tiny-model" and info.cost(1000, 1000) == 0.0
    assert LocalProvider.resolve("tiny-model", get_settings().local_gguf) == weights


def test_gc_tuning_sets_whether_runs_tune_the_garbage_collector(fake: FakeProvider) -> None:
    seen: list[tuple[int, int, int]] = []
    fake.script("gc", lambda request: seen.append(gc.get_threshold()) or "ok")
    before = gc.get_threshold()
    wb.configure(gc_tuning=False)
    one_row("fake/gc").run()
    assert seen == [before]
    wb.configure(gc_tuning=True)
    one_row("fake/gc", store="other").run()
    assert seen[-1][0] >= 20_000 and gc.get_threshold() == before  # tuned, then restored


def test_providers_sets_the_instances_a_run_uses() -> None:
    mine = FakeProvider().script("echo", "from mine")
    wb.configure(providers=[mine])
    assert one_row().run().df["output"].tolist() == ["from mine"] and mine.calls["echo"] == 1


def test_stream_sets_whether_replies_stream(srv: MockServer) -> None:
    toml(f'stream = false\n[providers.openai]\nbase_url = "{srv.openai_base_url}"\n')
    still = one_row("openai/gpt-6-luna", store="a").run().df.iloc[0]
    wb.configure(stream=True)
    streamed = one_row("openai/gpt-6-luna", store="b").run().df.iloc[0]
    assert ["stream" in body for body in srv.bodies()] == [False, True]
    assert still["output"] == streamed["output"] == "mock: hello there"
    assert pd.isna(still["ttft_ms"]) and streamed["ttft_ms"] > 0
    assert still["request_key"] == streamed["request_key"]  # how it travels, not what it asks


def test_batch_poll_sets_the_longest_wait_between_looks_at_a_batch(srv: MockServer) -> None:
    srv.set_batch(delay=0.4)  # each batch ends 0.4 s after it is made
    looks = lambda: sum(n for p, n in srv.stats()["by_path"].items() if "/batches/" in p)  # noqa: E731
    toml(f'batch_poll = 0.05\n[providers.openai]\nbase_url = "{srv.openai_base_url}"\n')
    one_row("openai/gpt-4o-mini").run(mode="batch")
    often = looks()
    assert often >= 5  # every 0.05 s
    wb.configure(batch_poll=2.0)  # the first wait is then a second: the batch has ended by then
    one_row("openai/gpt-4o-mini", store="other").run(mode="batch")
    assert looks() - often <= 3  # one look, the results (retrieve + file content)
