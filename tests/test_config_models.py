"""Settings precedence, endpoints, model ids, the catalog and costs."""

from __future__ import annotations

import datetime as dt
import json
from importlib import resources
from pathlib import Path

import pytest

import workbench as wb
from workbench.config import Endpoint, Limits, configure, get_settings, reset_settings
from workbench.errors import ConfigError
from workbench.models import (
    ModelId,
    all_models,
    catalog_checked,
    default_model,
    model_info,
    parse_model_id,
    register,
)
from workbench.models.catalog import FACTS
from workbench.providers.registry import limits_for, provider_class, provider_names
from workbench.tokens.estimate import MESSAGE_OVERHEAD, estimate_text_tokens, estimate_tokens


def toml(text: str, name: str = "workbench.toml") -> Path:
    path = Path(name)
    path.write_text(text, encoding="utf-8")
    return path


# -- settings precedence -------------------------------------------------------------------


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("WORKBENCH_STORE")
    s = get_settings()
    assert s.store == tmp_path / ".workbench"  # no project marker here or above: this folder's
    assert s.store_path == tmp_path / ".workbench" / "store.sqlite"
    assert (s.timeout, s.max_retries, s.backoff_base, s.backoff_cap) == (60.0, 5, 0.5, 30.0)
    assert s.default_model is None
    assert s.endpoints == {}
    assert s.limits == {}


def test_precedence_call_session_env_file_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert get_settings().timeout == 60.0
    toml("timeout = 10\nmax_retries = 1\n")
    assert get_settings().timeout == 10.0
    assert get_settings().max_retries == 1
    monkeypatch.setenv("WORKBENCH_TIMEOUT", "20")
    assert get_settings().timeout == 20.0
    assert get_settings().max_retries == 1  # only what the env sets is overridden
    configure(timeout=30)
    assert get_settings().timeout == 30.0
    assert get_settings(timeout=40).timeout == 40.0
    assert get_settings(timeout=None).timeout == 30.0  # None means "not given"
    reset_settings()
    assert get_settings().timeout == 20.0
    monkeypatch.delenv("WORKBENCH_TIMEOUT")
    assert get_settings().timeout == 10.0


def test_store_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    toml('store = "from-file"\n')
    monkeypatch.delenv("WORKBENCH_STORE")
    assert get_settings().store == tmp_path / "from-file"
    monkeypatch.setenv("WORKBENCH_STORE", "from-env")
    assert get_settings().store_path == tmp_path / "from-env" / "store.sqlite"
    assert get_settings().store_origin == "set by WORKBENCH_STORE"
    configure(store=tmp_path / "session")
    assert get_settings().store == tmp_path / "session"
    assert get_settings(store="call").store == tmp_path / "call"


def test_env_values_are_converted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_MAX_RETRIES", "2")
    monkeypatch.setenv("WORKBENCH_DEFAULT_MODEL", "fake/echo")
    s = get_settings()
    assert s.max_retries == 2
    assert s.default_model == "fake/echo"
    assert default_model(s) == "fake/echo"


def test_bad_env_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_TIMEOUT", "soon")
    with pytest.raises(ConfigError, match="Bad setting value"):
        get_settings()


@pytest.mark.parametrize("override", [{"timeout": 0}, {"timeout": -1}, {"max_retries": -1}])
def test_out_of_range_settings(override: dict[str, float]) -> None:
    with pytest.raises(ConfigError, match="timeout must be > 0 and max_retries >= 0"):
        configure(**override)


def test_configure_unknown_setting_lists_known() -> None:
    with pytest.raises(ConfigError, match=r"Unknown setting\(s\) \['timout'\]; known: .*'timeout'"):
        configure(timout=3)


def test_toml_unknown_key() -> None:
    toml("colour = 'blue'\n")
    with pytest.raises(
        ConfigError, match=r"Unknown setting\(s\) \['colour'\] in /.*/workbench\.toml"
    ):
        get_settings()


def test_toml_syntax_error() -> None:
    toml("timeout = \n")
    with pytest.raises(ConfigError, match=r"workbench\.toml: .*Fix the TOML syntax"):
        get_settings()


def test_toml_not_utf8() -> None:
    Path("workbench.toml").write_bytes(b'default_model = "caf\xe9"\n')
    with pytest.raises(ConfigError, match="not UTF-8"):
        get_settings()


def test_workbench_config_env_names_another_file(monkeypatch: pytest.MonkeyPatch) -> None:
    toml("timeout = 10\n")
    other = toml("timeout = 7\n", "other.toml")
    monkeypatch.setenv("WORKBENCH_CONFIG", str(other))
    assert get_settings().timeout == 7.0
    monkeypatch.setenv("WORKBENCH_CONFIG", "missing.toml")
    with pytest.raises(ConfigError, match=r"WORKBENCH_CONFIG points at missing\.toml"):
        get_settings()


def test_the_project_folders_toml_is_read_from_a_subfolder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    toml("timeout = 10\n")
    sub = tmp_path / "sub" / "deeper"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    assert get_settings().timeout == 10.0
    (tmp_path / "sub" / ".git").mkdir()  # a nearer project folder, without a toml
    assert get_settings().timeout == 60.0


# -- endpoints, limits, provider urls ------------------------------------------------------


def test_endpoint_from_toml_makes_model_ids_parse() -> None:
    toml(
        '[endpoints.myserver]\nbase_url = "http://localhost:8000/v1"\n'
        'api_key_env = "MYSERVER_KEY"\n'
    )
    s = get_settings()
    assert s.endpoints == {
        "myserver": Endpoint("myserver", "http://localhost:8000/v1", "MYSERVER_KEY")
    }
    mid = parse_model_id("myserver/llama3")
    assert mid == ModelId("myserver", "llama3")
    assert provider_class(mid, get_settings()).__name__ == "OpenAICompatibleProvider"
    assert str(mid) == "myserver/llama3"
    info = model_info("myserver/llama3")
    assert (info.input_per_1m, info.output_per_1m, info.max_output) == (0.0, 0.0, None)


def test_endpoint_from_configure_string_form() -> None:
    configure(endpoints={"vllm": "http://gpu:8000/v1"})
    assert get_settings().endpoints["vllm"].base_url == "http://gpu:8000/v1"
    assert parse_model_id("vllm/org/model").name == "org/model"


def test_endpoint_without_base_url() -> None:
    toml('[endpoints.myserver]\napi_key_env = "K"\n')
    with pytest.raises(ConfigError, match=r"Endpoint 'myserver' needs a base_url"):
        get_settings()


def test_limits_from_toml() -> None:
    toml(
        "[limits.openai]\nrpm = 500\n[limits.fake]\nconcurrency = 2\n"
        '[endpoints.someendpoint]\nbase_url = "http://127.0.0.1:1/v1"\n'
    )
    s = get_settings()
    assert limits_for("openai", s) == Limits(concurrency=8, rpm=500, tpm=None)
    assert limits_for("fake", s) == Limits(concurrency=2)
    assert limits_for("anthropic", s) == Limits(concurrency=4)
    assert limits_for("local", s).concurrency == 1
    assert limits_for("someendpoint", s).concurrency == 4


def test_limits_bad_key_and_bad_concurrency() -> None:
    toml("[limits.openai]\nrps = 5\n")
    with pytest.raises(ConfigError, match="allowed keys are concurrency, rpm, tpm"):
        get_settings()
    toml("[limits.openai]\nconcurrency = 0\n")
    with pytest.raises(ConfigError, match="concurrency must be at least 1"):
        get_settings()


def test_provider_urls_from_toml() -> None:
    toml('[providers.openai]\nbase_url = "https://proxy.example/v1"\n')
    assert get_settings().provider_urls == {"openai": "https://proxy.example/v1"}


def test_provider_section_without_base_url() -> None:
    toml("[providers.openai]\ntimeout = 3\n")
    with pytest.raises(ConfigError, match=r"\[providers\.openai\] needs base_url"):
        get_settings()


# -- model ids -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "provider", "name", "served_by"),
    [
        ("openai/gpt-6.2-sol", "openai", "gpt-6.2-sol", "OpenAIProvider"),
        ("anthropic/claude-haiku-4-5", "anthropic", "claude-haiku-4-5", "AnthropicProvider"),
        ("local/smollm2", "local", "smollm2", "LocalProvider"),
        ("fake/echo", "fake", "echo", "FakeProvider"),
        ("fake/a/b", "fake", "a/b", "FakeProvider"),
        (" fake/echo ", "fake", "echo", "FakeProvider"),
    ],
)
def test_parse_model_id(text: str, provider: str, name: str, served_by: str) -> None:
    mid = parse_model_id(text)
    assert (mid.provider, mid.name) == (provider, name)
    assert provider_class(mid, get_settings()).__name__ == served_by


@pytest.mark.parametrize("text", ["gpt-4o", "openai/", "/gpt-4o", "", "/"])
def test_model_id_without_slash(text: str) -> None:
    with pytest.raises(ConfigError, match="must look like 'provider/model'"):
        parse_model_id(text)


def test_model_id_not_text() -> None:
    with pytest.raises(ConfigError, match="must look like"):
        parse_model_id(None)  # type: ignore[arg-type]


def test_unknown_provider_lists_known() -> None:
    configure(endpoints={"vllm": "http://gpu:8000/v1"})
    with pytest.raises(ConfigError) as info:
        parse_model_id("ollama/llama3")
    message = str(info.value)
    assert "Unknown provider 'ollama'" in message
    assert "Known providers: local, fake, openai, anthropic, vllm." in message
    assert "[endpoints.ollama]" in message


def test_builtin_providers() -> None:
    assert provider_names(get_settings()) == ["local", "fake", "openai", "anthropic"]


def test_default_model_is_local_without_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")  # a key does not switch to a paid model
    assert default_model() == "local/smollm2"
    configure(default_model="fake/echo")
    assert default_model() == "fake/echo"


# -- catalog -------------------------------------------------------------------------------


def shipped() -> dict[str, object]:
    text = resources.files("workbench.models").joinpath("catalog.json").read_text("utf-8")
    data: dict[str, object] = json.loads(text)
    return data


def test_catalog_file_has_checked_date_and_sources() -> None:
    data = shipped()
    assert data["schema_version"] == 1
    checked = dt.date.fromisoformat(str(data["checked"]))
    assert checked >= dt.date(2024, 1, 1)
    assert catalog_checked() == data["checked"]
    sources = data["sources"]
    assert isinstance(sources, dict)
    assert set(sources) >= {"openai", "anthropic"}
    assert all(str(v).startswith("https://") for v in sources.values())


def test_every_catalog_entry_is_complete_and_sane() -> None:
    data = shipped()
    models = data["models"]
    assert isinstance(models, dict)
    assert len(models) >= 10
    checked = dt.date.fromisoformat(str(data["checked"]))
    fields = {"as_of", "context_window", "max_output", "input_per_1m", "output_per_1m"}
    for model_id, facts in models.items():
        assert fields <= set(facts) <= set(FACTS), model_id
        mid = parse_model_id(model_id)
        if mid.provider in ("openai", "anthropic"):  # both have a batch API: its prices are known
            for rate in ("input", "output"):
                batch, standard = facts[f"batch_{rate}_per_1m"], facts[f"{rate}_per_1m"]
                assert 0 < batch <= standard, model_id
        assert mid.provider in {"openai", "anthropic", "local"}, model_id
        assert isinstance(facts["context_window"], int), model_id
        assert isinstance(facts["max_output"], int), model_id
        assert 1_000 <= facts["max_output"] <= facts["context_window"] <= 10_000_000, model_id
        for price in ("input_per_1m", "output_per_1m"):
            assert isinstance(facts[price], (int, float)), model_id
            assert 0 <= facts[price] <= 1_000, model_id
        assert facts["output_per_1m"] >= facts["input_per_1m"], model_id
        if mid.provider == "local":
            assert facts["input_per_1m"] == facts["output_per_1m"] == 0, model_id
        else:
            assert facts["input_per_1m"] > 0, model_id
        assert dt.date.fromisoformat(facts["as_of"]) <= checked, model_id


def test_catalog_has_each_provider() -> None:
    ids = set(all_models())
    assert any(i.startswith("openai/") for i in ids)
    assert any(i.startswith("anthropic/") for i in ids)
    assert "local/smollm2" in ids
    assert "openai/gpt-6.2-sol" in ids
    assert "anthropic/claude-haiku-4-5" in ids


def test_model_info_from_catalog() -> None:
    info = model_info("openai/gpt-6.2-sol")
    assert info.id == "openai/gpt-6.2-sol"
    assert (info.context_window, info.max_output) == (1050000, 128000)
    assert (info.input_per_1m, info.output_per_1m) == (2.0, 10.0)
    assert info.as_of == "2026-11-30"
    assert model_info(ModelId("openai", "gpt-6.2-sol")) == info


@pytest.mark.parametrize(
    "dated", ["anthropic/claude-haiku-4-5-20251001", "anthropic/claude-haiku-4-5-2025-10-01"]
)
def test_dated_ids_resolve_to_their_base(dated: str) -> None:
    info = model_info(dated)
    base = model_info("anthropic/claude-haiku-4-5")
    assert info.id == dated
    assert (info.context_window, info.max_output, info.input_per_1m, info.output_per_1m) == (
        base.context_window,
        base.max_output,
        base.input_per_1m,
        base.output_per_1m,
    )


@pytest.mark.parametrize("model", ["openai/gpt-99", "anthropic/claude-unknown"])
def test_an_unknown_model_of_a_known_provider_is_unpriced_not_refused(model: str) -> None:
    info = model_info(model)
    assert info.id == model and not info.priced
    assert info.cost(1000, 1000) is None  # unknown, never a silent 0
    assert (info.context_window, info.max_output) == (None, None)
    register(model, input_per_1m=1.0, output_per_1m=2.0)
    assert model_info(model).cost(1_000_000, 1_000_000) == 3.0


def test_fake_models_are_free() -> None:
    info = model_info("fake/anything")
    assert info.cost(10_000, 10_000) == 0.0
    assert info.max_output == 100_000


def test_register_adds_a_model() -> None:
    info = register("openai/my-tune", input_per_1m=3.0, output_per_1m=12.0, context_window=128000)
    assert info == model_info("openai/my-tune")
    assert info.max_output is None
    assert info.cost(1_000_000, 1_000_000) == 15.0
    assert "openai/my-tune" in all_models()


def test_register_overrides_and_merges() -> None:
    register("openai/gpt-6.2-sol", input_per_1m=1.0)
    info = model_info("openai/gpt-6.2-sol")
    assert info.input_per_1m == 1.0
    assert info.output_per_1m == 10.0  # other facts kept
    register("openai/gpt-6.2-sol", output_per_1m=2.0)
    info = model_info("openai/gpt-6.2-sol")
    assert (info.input_per_1m, info.output_per_1m) == (1.0, 2.0)


def test_register_overrides_dated_lookup() -> None:
    register("anthropic/claude-haiku-4-5", input_per_1m=9.0)
    assert model_info("anthropic/claude-haiku-4-5-20251001").input_per_1m == 9.0


def test_register_fake_model_with_price() -> None:
    register("fake/priced", input_per_1m=1000.0, output_per_1m=1000.0)
    assert model_info("fake/priced").cost(10, 5) == pytest.approx(0.015)


def test_register_unknown_fact() -> None:
    with pytest.raises(ConfigError, match=r"Unknown model fact\(s\) \['price'\]; allowed:"):
        register("openai/x", price=1.0)


def test_register_bad_value() -> None:
    with pytest.raises(ConfigError, match="Catalog entry for openai/x"):
        register("openai/x", context_window="lots")


def test_models_from_settings_and_toml() -> None:
    toml('[models."openai/house"]\ninput_per_1m = 0.5\noutput_per_1m = 1.5\n')
    assert model_info("openai/house").cost(2_000_000, 0) == 1.0
    configure(models={"openai/house": {"input_per_1m": 5.0, "output_per_1m": 1.5}})
    assert model_info("openai/house").input_per_1m == 5.0
    register("openai/house", input_per_1m=7.0)  # register wins over settings
    assert model_info("openai/house").input_per_1m == 7.0


def test_wb_models_is_the_public_module() -> None:
    assert wb.models.register is register


# -- cost arithmetic and token estimates ---------------------------------------------------


def test_cost_arithmetic() -> None:
    info = model_info("openai/gpt-6.2-sol")  # $2 in, $10 out per 1M
    assert info.cost(1_000_000, 0) == 2.0
    assert info.cost(0, 1_000_000) == 10.0
    assert info.cost(1_000, 500) == pytest.approx(0.002 + 0.005)
    assert info.cost(0, 0) == 0.0


def test_cost_unknown_price_is_none() -> None:
    info = register("openai/noprice", context_window=1000)
    assert info.cost(10, 10) is None


def test_token_estimates() -> None:
    assert estimate_text_tokens("") == 0
    assert estimate_text_tokens("abcd") == 1
    assert estimate_text_tokens("abcde") == 2
    assert estimate_text_tokens("a b c d e f") == 6  # never fewer than the words
    messages = [{"role": "user", "content": "abcdefgh"}]
    assert estimate_tokens(messages) == 3 + MESSAGE_OVERHEAD + 2
    assert estimate_tokens([]) == 3
