"""Errors that point at the right place: a typo in YAML ``defaults:``, and a model the catalog
lacks (with the three ways to give its price, one of them a ``models:`` key in the YAML)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from workbench.cli import EXIT_ERROR, main
from workbench.errors import ConfigError, WorkbenchError
from workbench.experiment_file import load_experiment
from workbench.models.catalog import model_info, price_hint

Capture = pytest.CaptureFixture[str]

README = Path(__file__).parent.parent / "README.md"
EXPERIMENT = """\
name: capitals
dataset: q.csv
defaults: {DEFAULTS}
variants:
  - {name: a, user: "{{ question }}"}
  - {name: b, extends: a, system: Be brief.}
"""


def write(tmp_path: Path, defaults: str = "{model: fake/echo}", extra: str = "") -> Path:
    (tmp_path / "q.csv").write_text("question\nCapital of France?\n", encoding="utf-8")
    path = tmp_path / "experiment.yaml"
    path.write_text(EXPERIMENT.replace("{DEFAULTS}", defaults) + extra, encoding="utf-8")
    return path


# -- defaults: a typo is blamed on defaults, not on the first variant -------------------------


def test_typo_in_defaults_names_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, "{modle: fake/echo, params: {temperature: 0}}")
    with pytest.raises(ConfigError) as info:
        load_experiment(path)
    message = str(info.value)
    assert message.startswith(f"{path}: defaults: unknown field(s) ['modle']; allowed: [")
    assert "'model'" in message and "'params'" in message
    assert "Variant" not in message


def test_typo_in_defaults_on_the_command_line(tmp_path: Path, capsys: Capture) -> None:
    write(tmp_path, "{model: fake/echo, sytem: Be kind.}")
    assert main(["run", "experiment.yaml"]) == EXIT_ERROR
    err = capsys.readouterr().err.strip()
    assert err.startswith("workbench: error: experiment.yaml: defaults: unknown field(s) ['sytem']")


def test_typo_in_a_variant_still_names_that_variant(tmp_path: Path) -> None:
    path = write(tmp_path)
    path.write_text(path.read_text().replace("system: Be brief.", "sistem: Be brief."))
    with pytest.raises(WorkbenchError, match=r"Variant 'b': unknown field\(s\) \['sistem'\]"):
        load_experiment(path)


def test_extends_in_defaults_is_refused_there(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"defaults: unknown field\(s\) \['extends'\]"):
        load_experiment(write(tmp_path, "{model: fake/echo, extends: a}"))


# -- an unpriced model: the estimate shows all three ways to register a price ---------------


def test_price_hint_gives_python_yaml_and_toml() -> None:
    hint = price_hint("openai/x")
    assert "wb.models.register('openai/x', input_per_1m=..., output_per_1m=..., " in hint
    assert (
        'models: {"openai/x": {input_per_1m: ..., output_per_1m: ..., context_window: ...}}' in hint
    )
    assert '[models."openai/x"] table with input_per_1m = ...' in hint
    assert "\n" not in hint  # an error stays one line on stderr


def test_an_unpriced_model_estimate_uses_the_hint(tmp_path: Path, capsys: Capture) -> None:
    write(tmp_path, "{model: openai/my-fine-tune}")
    assert main(["run", "experiment.yaml", "--estimate"]) == 0
    out = capsys.readouterr().out
    assert "cost unknown (an unpriced model)" in out
    assert (
        "Unpriced (cost unknown): openai/my-fine-tune. " + price_hint("openai/my-fine-tune") in out
    )
    assert 'models: {"openai/my-fine-tune": {input_per_1m: ...' in out


# -- models: in the experiment YAML --------------------------------------------------------------

MODELS = """\
models:
  "openai/my-fine-tune": {input_per_1m: 3.0, output_per_1m: 12.0, context_window: 128000}
"""


def test_models_key_registers_the_price(tmp_path: Path, capsys: Capture) -> None:
    write(tmp_path, "{model: openai/my-fine-tune}", MODELS)
    assert main(["run", "experiment.yaml", "--estimate"]) == 0
    assert "capitals:" in capsys.readouterr().out
    info = model_info("openai/my-fine-tune")
    assert (info.input_per_1m, info.output_per_1m, info.context_window) == (3.0, 12.0, 128000)
    assert info.cost(1_000_000, 1_000_000) == 15.0


def test_models_key_refuses_unknown_facts_before_registering_any(tmp_path: Path) -> None:
    extra = MODELS + '  "openai/other": {input_per_1m: 1.0, price: 2.0}\n'
    path = write(tmp_path, "{model: fake/echo}", extra)
    with pytest.raises(ConfigError) as info:
        load_experiment(path)
    assert str(info.value) == (
        f"{path}: models: 'openai/other': Unknown model fact(s) ['price']; allowed: "
        "['as_of', 'batch_discount', 'context_window', 'input_per_1m', 'max_output', "
        "'output_per_1m']"
    )
    assert not model_info("openai/my-fine-tune").priced  # nothing was registered


@pytest.mark.parametrize(
    ("models", "expected"),
    [
        ("models: [openai/x]\n", "'models' must map model ids to their facts, e.g. models: {"),
        ('models: {"openai/x": 3.0}\n', "models: 'openai/x' must map facts to numbers"),
        (
            'models: {"openai/x": {input_per_1m: cheap}}\n',
            "models: 'openai/x': Catalog entry for openai/x: could not convert string",
        ),
    ],
)
def test_models_key_shape_errors(tmp_path: Path, models: str, expected: str) -> None:
    path = write(tmp_path, "{model: fake/echo}", models)
    with pytest.raises(ConfigError, match=re.escape(f"{path}: {expected}")):
        load_experiment(path)


def test_a_bad_registered_value_does_not_spoil_later_lookups() -> None:
    from workbench.models import register

    with pytest.raises(ConfigError, match="Catalog entry for openai/x"):
        register("openai/x", context_window="lots")
    assert model_info("openai/gpt-6.2-sol").input_per_1m == 2.0  # the catalog still reads


def test_readme_yaml_example_loads(tmp_path: Path) -> None:
    text = README.read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(# experiment\.yaml\n.*?)```", text, re.DOTALL)
    assert block
    (tmp_path / "questions.csv").write_text("question,expected\nQ?,A\n", encoding="utf-8")
    (tmp_path / "experiment.yaml").write_text(block.group(1), encoding="utf-8")
    exp = load_experiment(tmp_path / "experiment.yaml")
    assert [v.name for v in exp.variants] == ["terse", "friendly"]
    assert model_info("openai/my-fine-tune").output_per_1m == 12.0
