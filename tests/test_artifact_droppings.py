"""Exported prompts opened in JupyterLab, macOS Finder and editors still load and check; a real
change to a version is still refused, naming the file and what to do; labels at missing versions."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.artifact import ArtifactError, load_prompt
from workbench.artifact.diff import list_prompts
from workbench.artifact.store import is_dropping
from workbench.cli import EXIT_ERROR, main

Capture = pytest.CaptureFixture[str]

YAML = """\
name: capitals
dataset: questions.csv
defaults: {model: fake/echo, params: {temperature: 0}}
variants:
  - {name: echo, user: "Is it {{ expected }}?"}
scorers:
  - contains: "{{ expected }}"
"""


@pytest.fixture
def version(tmp_path: Path, capsys: Capture) -> Path:
    """One exported version, ``prompts/x/v1``, of a prompt that passes its check."""
    (tmp_path / "questions.csv").write_text("expected\nParis\nRome\n", encoding="utf-8")
    (tmp_path / "exp.yaml").write_text(YAML, encoding="utf-8")
    assert main(["export", "exp.yaml", "--name", "x", "--to", "prompts"]) == 0
    capsys.readouterr()
    return tmp_path / "prompts/x/v1"


def error_of(capsys: Capture, args: list[str]) -> str:
    assert main(args) == EXIT_ERROR
    return capsys.readouterr().err.strip().splitlines()[-1]


def check_passes(capsys: Capture) -> None:
    assert main(["check", "prompts/x"]) == 0
    assert "OK: every scorer reproduced its record" in capsys.readouterr().out


# -- what other tools leave beside the files is ignored --------------------------------------


def test_jupyterlab_checkpoints_are_ignored(version: Path, capsys: Capture) -> None:
    checkpoints = version / ".ipynb_checkpoints"
    checkpoints.mkdir()
    (checkpoints / "prompt-checkpoint.prompty").write_bytes(
        (version / "prompt.prompty").read_bytes() + b"\nedited in the checkpoint\n"
    )
    assert load_prompt("prompts/x").version == 1
    check_passes(capsys)


def test_macos_and_windows_droppings_are_ignored(version: Path, capsys: Capture) -> None:
    (version / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1\xff")
    (version / "._prompt.prompty").write_bytes(b"\x00\x05\x16\x07")  # AppleDouble
    (version / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0")
    (version / "desktop.ini").write_text("[.ShellClassInfo]\n")
    (version.parent / "labels").mkdir(exist_ok=True)
    (version.parent / "labels" / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0\xff")
    assert load_prompt("prompts/x").version == 1
    check_passes(capsys)


@pytest.mark.parametrize(
    "dropping",
    [".prompt.prompty.swp", "prompt.prompty~", "#prompt.prompty#", ".#prompt.prompty", "4913"],
)
def test_editor_swap_and_backup_files_are_ignored(
    version: Path, capsys: Capture, dropping: str
) -> None:
    (version / dropping).write_text("half-edited copy")
    assert load_prompt("prompts/x").files().keys() >= {"prompt.prompty", "eval.json"}
    check_passes(capsys)


def test_pycache_folder_is_ignored(version: Path) -> None:
    (version / "__pycache__").mkdir()
    (version / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\x00")
    assert load_prompt("prompts/x").version == 1


def test_the_rule_is_small() -> None:
    ignored = [".ipynb_checkpoints", ".DS_Store", "a.txt~", "#a#", ".#a", "__pycache__", "4913"]
    ignored += ["THUMBS.DB", "Desktop.ini"]
    assert all(is_dropping(name) for name in ignored)
    kept = ["notes.md", "prompt2.prompty", "sub", "#notes", "a#", "49130", "prompt.prompty"]
    assert not any(is_dropping(name) for name in kept)


# -- a real change is still refused, naming the file and what to do --------------------------


def test_an_added_real_file_is_refused(version: Path, capsys: Capture) -> None:
    (version / ".ipynb_checkpoints").mkdir()
    (version / "notes.md").write_text("why v1 won")
    with pytest.raises(ArtifactError) as info:
        load_prompt("prompts/x")
    message = str(info.value)
    assert "holds file(s) not in MANIFEST.json: ['notes.md']" in message
    assert "delete it (or move it out of the folder), or export a new version" in message
    assert ".ipynb_checkpoints" not in message
    assert "['notes.md']" in error_of(capsys, ["check", "prompts/x"])


def test_a_second_prompt_file_and_a_plain_folder_are_refused(version: Path) -> None:
    (version / "prompt2.prompty").write_bytes((version / "prompt.prompty").read_bytes())
    (version / "drafts").mkdir()
    with pytest.raises(
        ArtifactError, match=r"not in MANIFEST.json: \['drafts/', 'prompt2.prompty'\]"
    ):
        load_prompt("prompts/x")


def test_a_changed_file_is_refused(version: Path, capsys: Capture) -> None:
    (version / ".ipynb_checkpoints").mkdir()  # JupyterLab was there too
    prompt = version / "prompt.prompty"
    prompt.write_text(prompt.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    line = error_of(capsys, ["check", "prompts/x"])
    assert "prompts/x/v1/prompt.prompty does not match its sha256 in MANIFEST.json" in line
    assert "Restore it or export a new version." in line


def test_a_deleted_file_is_refused(version: Path, capsys: Capture) -> None:
    (version / "eval.json").unlink()
    line = error_of(capsys, ["check", "prompts/x"])
    assert "prompts/x/v1/eval.json is missing (listed in MANIFEST.json)" in line
    assert "restore it (e.g. from version control) or export a new version" in line


def test_a_manifest_naming_a_hidden_file_is_refused(version: Path) -> None:
    manifest = version / "MANIFEST.json"
    manifest.write_text(manifest.read_text().replace('"eval.json"', '".eval.json"'))
    (version / ".eval.json").write_bytes((version / "eval.json").read_bytes())
    with pytest.raises(ArtifactError, match=r"lists '\.eval\.json', a name workbench never"):
        load_prompt("prompts/x")


# -- a label pointing at a missing version ---------------------------------------------------


def test_label_at_a_deleted_version_says_how_to_fix_it(version: Path, capsys: Capture) -> None:
    assert main(["export", "exp.yaml", "--name", "x", "--to", "prompts"]) == 0
    assert (
        main(["export", "exp.yaml", "--name", "x", "--to", "prompts", "--label", "production"]) == 0
    )
    capsys.readouterr()
    for path in sorted((version.parent / "v3").iterdir()):
        path.unlink()
    (version.parent / "v3").rmdir()
    line = error_of(capsys, ["check", "prompts/x@production"])
    assert (
        "Label 'production' of prompts/x points at version 3, which does not exist "
        "(versions: v1, v2); point it at an existing version: "
        "`workbench label prompts/x@2 production`." in line
    )
    with pytest.raises(ArtifactError, match="points at version 3"):
        load_prompt("prompts/x@production")
    assert "[production] -> v3, which does not exist" in list_prompts("prompts")
    assert main(["label", "prompts/x@2", "production"]) == 0
    assert load_prompt("prompts/x@production").version == 2


def test_label_file_that_holds_no_number(version: Path) -> None:
    (version.parent / "labels").mkdir()
    (version.parent / "labels" / "staging").write_text("two\n")
    with pytest.raises(ArtifactError) as info:
        load_prompt("prompts/x@staging")
    assert str(info.value) == (
        "prompts/x/labels/staging holds 'two', not a version number; point it at an existing "
        "version: `workbench label prompts/x@1 staging`."
    )
