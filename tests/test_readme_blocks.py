"""Every code block of the README runs as written.

Each section runs in an empty folder, its blocks in order in one namespace: ```python blocks are
executed; the ``workbench ...`` lines of bash and yaml blocks go through ``workbench.cli.main``
(``[optional]`` parts left out) and must exit 0; an experiment YAML (``# NAME.yaml`` on its first
line) is written and run with ``workbench run``, another named YAML file written for the blocks
after it; a ``# NAME.toml`` settings file is written and loaded. A section that builds on another (``res`` from the Quickstart) names it in CONTEXT.
A block that cannot run offline is listed in NOT_RUN with the reason; any other block that does
not run fails, so a block added to the README later fails here until it runs or is listed.
Offline: the embedded model, the fake provider, and the loopback mock server behind the real
``openai``/``anthropic`` clients. Sections share one store, so what one ran is cached for the next.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from readme_cases import README, Block, readme_blocks

import workbench.config
from workbench.cli import _parser, main
from workbench.testing.mockserver import MockServer

NOT_RUN: dict[tuple[str, str], str] = {
    # (section, how the block's first line starts): why it is not run here
    ("Set up", "make demo"): "make targets build .venv and install into it; "
    "tests/test_readme_setup.py checks what they install, tests/test_local_model.py runs the demo",
    ("Set up", "python3 -m venv .venv"): "installs into a new .venv; tests/test_readme_setup.py "
    "checks that it installs exactly what `make demo` installs",
    ("CLI", "workbench run experiment.yaml [--out DIR]"): "a synopsis (UPPERCASE placeholders, "
    "a|b choices); test_the_cli_synopsis_names_every_command checks it against the parser",
    ("Export and production", "prompts/capital-answerer/"): "a picture of the files an export "
    "writes; CHECKS compares it with the export the section made",
}


@dataclass(frozen=True)
class Context:
    """What a section's blocks assume the reader already has."""

    after: tuple[str, ...] = ()
    """Sections whose blocks run first, in the same folder and namespace."""
    commands: tuple[str, ...] = ()
    """Then these ``workbench`` commands."""
    python: str = ""
    """Then this code."""
    env: tuple[tuple[str, str], ...] = ()
    """Environment variables the section's reader has set (e.g. API keys), for its test only."""


QUICKSTART = Context(after=("Quickstart",))

CONTEXT: dict[str, Context] = {
    # The section ends with `res.agreement("judge", labels="human")`: results with an LLM judge
    # (the fake provider here) and a column of human labels.
    "Scoring you can trust": Context(
        after=("Quickstart",),
        python="""
from workbench.providers.fake import FakeProvider
judge = FakeProvider().script("judge", "GRADE: PASS\\nREASON: it names the city")
wb.configure(providers=[judge])
ds = wb.Dataset(ds.df.assign(human=["yes", "no"] * 5))
exp = wb.Experiment("capitals", dataset=ds, variants=[a, b], repeats=3, scorers=[
    wb.scorers.contains("{{ expected }}"),
    wb.scorers.judge("The answer names {{ expected }}.", model="fake/judge")])
res = exp.run()
""",
    ),
    "Providers and keys": Context(after=("Quickstart",)),
    "CLI": Context(commands=("workbench demo --copy-data",)),
    # `client` and `anthropic_client` are the user's production clients: here the real SDKs
    # against the loopback mock server.
    "Export and production": Context(
        after=("Quickstart", "CLI"),
        python="""
import anthropic, openai
client = openai.OpenAI(base_url=mock_server.openai_base_url, api_key="test-not-a-key")
anthropic_client = anthropic.Anthropic(
    base_url=mock_server.anthropic_base_url, api_key="test-not-a-key")
""",
    ),
    "Token budget": Context(after=("Quickstart",), python="variant, row = a, ds.rows[0]\n"),
    # The reader's OpenAI and Anthropic accounts: the loopback mock server, whose models reason
    # 60 tokens before they answer (so the 48 max_tokens of the example starve).
    "Reasoning models": Context(
        python="""
import workbench as wb
ds = wb.demo.dataset()
mock_server.set_faults(reasoning_words=60)
wb.configure(provider_urls={"openai": mock_server.openai_base_url,
                            "anthropic": mock_server.anthropic_base_url})
""",
        env=(("OPENAI_API_KEY", "test-not-a-key"), ("ANTHROPIC_API_KEY", "test-not-a-key")),
    ),
    # The OpenAI and Anthropic batch APIs: the mock server's, through the real SDKs.
    "Batch runs": Context(
        python="""
import workbench as wb
wb.configure(batch_poll=0.05, provider_urls={
    "openai": mock_server.openai_base_url, "anthropic": mock_server.anthropic_base_url})
""",
        env=(("OPENAI_API_KEY", "test-not-a-key"), ("ANTHROPIC_API_KEY", "test-not-a-key")),
    ),
    "In JupyterLab": QUICKSTART,
    # Two runs to line up: the Quickstart's and the same experiment again (from the cache).
    "Reports and runs across time": Context(
        after=("Quickstart",), python="res_before = res\nres_after = exp.run()\n"
    ),
}


def _check_quickstart(ns: dict[str, Any], folder: Path) -> None:
    df = ns["res"].df
    assert len(df) == 10 * 2 * 3  # rows × variants × repeats
    assert df["error"].isna().all()
    assert set(df["variant"]) == {"terse", "friendly"}
    assert "contains_pass" in df.columns


def _check_export(ns: dict[str, Any], folder: Path) -> None:
    tree = next(b for b in readme_blocks() if b.first.startswith("prompts/capital-answerer/"))
    named = set(re.findall(r"[\w-]+\.(?:prompty|prompt|json|jsonl)\b", tree.code))
    assert named, tree.where
    version = folder / "prompts" / "capital-answerer" / "v1"
    assert named == {p.name for p in version.iterdir()}, tree.where
    assert (folder / "prompts" / "capital-answerer" / "labels" / "production").exists()


def _check_reasoning(ns: dict[str, Any], folder: Path) -> None:
    df = ns["res"].df
    sol, claude = df[df["variant"] == "sol"], df[df["variant"] == "claude"]
    assert sol["starved"].all() and not claude["starved"].any()
    assert (
        claude["reasoning"].str.startswith("step1").all()
        and (claude["reasoning_tokens"] == 60).all()
    )
    verdict = str(ns["res"].verdict())
    assert "sol: 10 of 10 replies came back empty" in verdict
    assert "raise max_tokens to about 256" in verdict


CHECKS: dict[str, Callable[[dict[str, Any], Path], None]] = {
    "Quickstart": _check_quickstart,
    "Export and production": _check_export,
    "Reasoning models": _check_reasoning,
}


def not_run_reason(block: Block) -> str | None:
    for (section, start), why in NOT_RUN.items():
        if block.section == section and block.first.startswith(start):
            return why
    return None


OPTIONAL = re.compile(r"\s*\[[^\[\]]*\]")
PLACEHOLDER = re.compile(r"^[A-Z][A-Z_]+$")


def command_args(line: str, where: str) -> list[str]:
    """A ``workbench ...`` line as arguments, ``[optional]`` parts left out."""
    text = line
    while OPTIONAL.search(text):
        text = OPTIONAL.sub("", text)
    args = shlex.split(text, comments=True)[1:]
    unrunnable = [a for a in args if "|" in a or PLACEHOLDER.match(a)]
    assert not unrunnable, (
        f"{where}: `{line.strip()}` has placeholders or choices {unrunnable}: write a command "
        "that runs, or list the block in NOT_RUN with why"
    )
    return args


def run_command(args: list[str], where: str) -> None:
    assert main(args) == 0, f"{where}: `workbench {shlex.join(args)}` failed"


def run_block(block: Block, ns: dict[str, Any]) -> None:
    """Run one block as the README's reader would."""
    if block.lang == "python":
        padded = "\n" * (block.line - 1) + block.code  # tracebacks name README lines
        exec(compile(padded, str(README), "exec"), ns)
        return
    lines = [ln.strip() for ln in block.code.splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("#")]
    if block.lang == "bash":
        commands = lines
        assert all(c.startswith("workbench ") for c in commands), (
            f"{block.where}: lines that are not `workbench` commands; "
            "list the block in NOT_RUN with why it cannot run here"
        )
    else:  # commands inside data, e.g. a CI step `run: workbench check ...`
        bare = [ln.removeprefix("- ").removeprefix("run:").strip() for ln in lines]
        commands = [c for c in bare if c.startswith("workbench ")]
    ran = bool(commands)
    named = re.match(r"#\s*([\w.-]+\.(?:ya?ml|toml))\b", block.first)
    if named and block.lang in ("yaml", "toml"):
        path = Path(named.group(1))
        path.write_text(block.code, encoding="utf-8")
        if block.lang == "toml":
            workbench.config.get_settings()  # it loads: no unknown setting, no bad value
            ran = True
        elif "variants" in (yaml.safe_load(block.code) or {}):
            run_command(["run", str(path)], block.where)  # an experiment file
            ran = True
        else:  # a file the blocks after it read (a promptfoo config, a .prompt.yml)
            ran = True
    for command in commands:
        run_command(command_args(command, block.where), block.where)
    assert ran, f"{block.where}: nothing here runs; make it run or list it in NOT_RUN with why"


def run_section(name: str, ns: dict[str, Any]) -> None:
    """Run a section's context, then its blocks, in the current folder and ``ns``."""
    context = CONTEXT.get(name, Context())
    for earlier in context.after:
        run_section(earlier, ns)
    for command in context.commands:
        run_command(command_args(command, f"CONTEXT[{name!r}]"), f"CONTEXT[{name!r}]")
    if context.python:
        exec(compile(context.python, f"CONTEXT[{name!r}]", "exec"), ns)
    for block in readme_blocks():
        if block.section == name and not_run_reason(block) is None:
            run_block(block, ns)


def sections() -> list[Any]:
    """Every section with a block to run; those that reach the embedded model are marked."""
    blocks = readme_blocks()
    names = list(dict.fromkeys(b.section for b in blocks if not_run_reason(b) is None))

    def needs_local(name: str) -> bool:
        own = any("local/" in b.code for b in blocks if b.section == name)
        return own or any(needs_local(s) for s in CONTEXT.get(name, Context()).after)

    return [
        pytest.param(n, id=n, marks=[pytest.mark.local_model] if needs_local(n) else [])
        for n in names
    ]


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("readme-store")


@pytest.fixture
def mock_server() -> Iterator[MockServer]:
    with MockServer() as server:
        yield server


@pytest.mark.parametrize("section", sections())
def test_section_runs_as_written(
    section: str,
    tmp_path: Path,
    shared_store: Path,
    mock_server: MockServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.setenv("WORKBENCH_STORE", str(shared_store))
    for name, value in CONTEXT.get(section, Context()).env:
        monkeypatch.setenv(name, value)
    ns: dict[str, Any] = {"__name__": "__readme__", "mock_server": mock_server}
    run_section(section, ns)
    if section in CHECKS:
        CHECKS[section](ns, folder)


def test_every_block_runs_or_is_listed_with_a_reason() -> None:
    blocks = readme_blocks()
    runnable = ("python", "bash", "yaml", "toml")
    odd = [b.where for b in blocks if b.lang not in runnable and not_run_reason(b) is None]
    assert not odd, f"blocks no test runs: {odd}; make them run or list them in NOT_RUN"
    stale = [
        key
        for key in NOT_RUN
        if not any(b.section == key[0] and b.first.startswith(key[1]) for b in blocks)
    ]
    assert not stale, f"NOT_RUN lists blocks the README no longer has: {stale}"
    assert set(CONTEXT) <= {b.section for b in blocks}, "CONTEXT names a section with no block"


def test_the_cli_synopsis_names_every_command() -> None:
    synopsis = next(b for b in readme_blocks() if b.section == "CLI" and b.lang == "bash")
    parser = _parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    assert commands is not None
    named = {ln.split()[1] for ln in synopsis.code.splitlines() if ln.startswith("workbench ")}
    assert named <= set(commands), f"{synopsis.where}: no such command {named - set(commands)}"
    missing = [c for c in commands if not re.search(rf"(workbench|\|) {c}\b", synopsis.code)]
    assert not missing, f"{synopsis.where}: the synopsis leaves out {missing}"


def test_a_block_that_cannot_run_is_reported_with_its_line() -> None:
    block = Block("CLI", "bash", "workbench export x.yaml --name NAME\n", 7)
    with pytest.raises(AssertionError, match=r"README.md:7 .*placeholders"):
        run_block(block, {})
    with pytest.raises(AssertionError, match="not `workbench` commands"):
        run_block(Block("X", "bash", "pip install foo\n", 9), {})
    with pytest.raises(AssertionError, match="nothing here runs"):
        run_block(Block("X", "yaml", "a: 1\n", 11), {})
