"""Version folders, labels and the manifest of hashes; canonical JSON; atomic writes.

Layout of one exported prompt::

    prompts/capital-answerer/
      v1/  prompt.prompty  eval.json  evidence.jsonl  MANIFEST.json
      v2/  ...
      labels/production        # text file holding "2"

A version folder is written to a temporary folder and renamed into place, so it appears whole or
not at all, and an existing version is never overwritten. ``latest`` is always the highest
version. No file inside a version names its own version number or the time of export, so the same
content exported anywhere gives the same bytes.

Verification ignores what tools drop beside the files (see :func:`is_dropping`): names starting
with ``.`` (``.ipynb_checkpoints/``, ``.DS_Store``, ``.prompt.prompty.swp``, ``.#prompt.prompty``),
names ending with ``~`` or wrapped in ``#``, and ``__pycache__``, ``Thumbs.db``, ``desktop.ini``
and vim's ``4913``. Any other file or folder not in the manifest is refused.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from workbench.errors import ArtifactError

__all__ = [
    "EVAL_FILE",
    "EVAL_SCHEMA",
    "EVIDENCE_FILE",
    "MANIFEST",
    "MANIFEST_SCHEMA",
    "PROMPT_FILE",
    "Ref",
    "canonical_json",
    "is_dropping",
    "label_version",
    "labels",
    "normalize",
    "parse_ref",
    "read_manifest",
    "resolve",
    "set_label",
    "versions",
    "write_version",
]

MANIFEST = "MANIFEST.json"
MANIFEST_SCHEMA = 1
EVAL_SCHEMA = 1
"""``schema_version`` of ``eval.json`` (and of each ``evidence.jsonl`` line's layout)."""
PROMPT_FILE, EVAL_FILE, EVIDENCE_FILE = "prompt.prompty", "eval.json", "evidence.jsonl"
_VERSION_DIR = re.compile(r"^v([1-9][0-9]*)$")
_LABEL = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
RESERVED_LABELS = frozenset({"latest"})
_DROPPINGS = frozenset({"__pycache__", "thumbs.db", "desktop.ini", "4913"})


def normalize(value: Any) -> Any:
    """Plain JSON data with fixed float precision (9 significant digits) and NaN as null."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        return float(f"{value:.9g}")
    if isinstance(value, Mapping):
        return {str(k): normalize(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [normalize(v) for v in value]
    if hasattr(value, "item"):  # numpy / pandas scalars
        return normalize(value.item())
    return str(value)


def canonical_json(value: Any, *, indent: int | None = 2) -> str:
    """Deterministic JSON text: sorted keys, fixed floats, UTF-8, trailing newline (indented)."""
    if indent is None:
        return json.dumps(
            normalize(value), sort_keys=True, ensure_ascii=False, separators=(",", ":")
        )
    return json.dumps(normalize(value), sort_keys=True, ensure_ascii=False, indent=indent) + "\n"


def sha256(data: bytes) -> str:
    """Hex sha256 of bytes."""
    return hashlib.sha256(data).hexdigest()


# -- versions and labels ---------------------------------------------------------------------
def versions(prompt_dir: Path) -> list[int]:
    """Version numbers present under a prompt folder, ascending."""
    if not prompt_dir.is_dir():
        return []
    found = [_VERSION_DIR.match(p.name) for p in prompt_dir.iterdir() if p.is_dir()]
    return sorted(int(m.group(1)) for m in found if m)


def labels(prompt_dir: Path) -> dict[str, int]:
    """Label name -> version, from ``labels/``."""
    folder = prompt_dir / "labels"
    out: dict[str, int] = {}
    if not folder.is_dir():
        return out
    for f in sorted(folder.iterdir()):
        if f.is_file() and _LABEL.match(f.name):
            text = f.read_text(encoding="utf-8", errors="replace").strip()
            if text.isdigit():
                out[f.name] = int(text)
    return out


def label_version(prompt_dir: Path, label: str) -> int:
    """The version a label (or ``latest``) points at; it must exist."""
    found = versions(prompt_dir)
    if label == "latest":
        if not found:
            raise ArtifactError(f"No versions under {prompt_dir}: export one first.")
        return found[-1]
    known = labels(prompt_dir)
    fix = (
        f"point it at an existing version: `workbench label {prompt_dir}@{found[-1]} {label}`"
        if found
        else "export a version first"
    )
    file = prompt_dir / "labels" / label
    if label not in known and _LABEL.match(label) and file.is_file():
        text = file.read_text(encoding="utf-8", errors="replace").strip()
        raise ArtifactError(f"{file} holds {text[:40]!r}, not a version number; {fix}.")
    if label not in known:
        names = ", ".join(["latest", *sorted(known)])
        raise ArtifactError(f"No label '{label}' under {prompt_dir}; labels: {names}.")
    if known[label] not in found:
        have = ", ".join(f"v{n}" for n in found) or "none"
        raise ArtifactError(
            f"Label '{label}' of {prompt_dir} points at version {known[label]}, which does not "
            f"exist (versions: {have}); {fix}."
        )
    return known[label]


def set_label(prompt_dir: Path, label: str, version: int) -> Path:
    """Point ``label`` at ``version`` (atomically replacing the label file)."""
    if label in RESERVED_LABELS or not _LABEL.match(label) or label.isdigit():
        raise ArtifactError(
            f"Bad label {label!r}: use letters, digits, '-', '_' or '.', starting with a "
            f"letter; 'latest' always means the highest version and cannot be set."
        )
    if version not in versions(prompt_dir):
        raise ArtifactError(
            f"No version {version} under {prompt_dir}; have {versions(prompt_dir)}."
        )
    folder = prompt_dir / "labels"
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{label}.{uuid.uuid4().hex}.tmp"
    tmp.write_text(f"{version}\n", encoding="utf-8")
    os.replace(tmp, folder / label)
    return folder / label


def write_version(prompt_dir: Path, files: Mapping[str, bytes]) -> tuple[int, Path]:
    """Write a new version holding ``files`` plus their manifest; returns (number, folder).

    Files go to a temporary folder first, which is then renamed to the next free ``vN``; an
    existing version is never touched.
    """
    prompt_dir.mkdir(parents=True, exist_ok=True)
    tmp = prompt_dir / f".tmp-{uuid.uuid4().hex}"
    tmp.mkdir()
    try:
        for name, data in files.items():
            (tmp / name).write_bytes(data)
        (tmp / MANIFEST).write_bytes(manifest_bytes(files))
        for _ in range(1000):
            number = (versions(prompt_dir) or [0])[-1] + 1
            target = prompt_dir / f"v{number}"
            if target.exists():  # another writer got there first (or a stray folder)
                continue
            try:
                os.rename(tmp, target)
            except OSError:
                continue
            return number, target
        raise ArtifactError(f"Could not find a free version folder under {prompt_dir}.")
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def manifest_bytes(files: Mapping[str, bytes]) -> bytes:
    """The manifest: schema version and the sha256 and size of every file."""
    body = {
        "schema_version": MANIFEST_SCHEMA,
        "files": {
            name: {"sha256": sha256(data), "bytes": len(data)} for name, data in files.items()
        },
    }
    return canonical_json(body).encode()


def is_dropping(name: str) -> bool:
    """True for a file or folder that tools leave beside an artifact's files, never part of it:
    hidden names (``.ipynb_checkpoints``, ``.DS_Store``, ``.x.swp``, ``.#x``), editor backups
    (``x~``, ``#x#``), ``__pycache__``, ``Thumbs.db``, ``desktop.ini`` and vim's ``4913``."""
    return (
        name.startswith(".")
        or name.endswith("~")
        or (len(name) > 1 and name.startswith("#") and name.endswith("#"))
        or name.casefold() in _DROPPINGS
    )


def read_manifest(version_dir: Path) -> dict[str, bytes]:
    """Verify a version folder against its manifest; returns its files' bytes by name.

    Fails, naming the file and what to do, when a file is missing, changed or not in the
    manifest (droppings of other tools, see :func:`is_dropping`, are ignored), or when the
    manifest has an unknown schema version.
    """
    path = version_dir / MANIFEST
    if not path.is_file():
        raise ArtifactError(f"{version_dir} has no {MANIFEST}: not a workbench prompt artifact.")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{path} is not valid JSON ({exc}); the artifact is damaged.") from None
    if not isinstance(manifest, dict) or manifest.get("schema_version") != MANIFEST_SCHEMA:
        found = manifest.get("schema_version") if isinstance(manifest, dict) else None
        raise ArtifactError(
            f"{path}: unknown manifest schema_version {found!r} (this workbench reads "
            f"{MANIFEST_SCHEMA}); upgrade prompt-workbench or re-export."
        )
    listed = manifest.get("files")
    if not isinstance(listed, dict):
        raise ArtifactError(f"{path}: no 'files' table; the artifact is damaged.")
    out: dict[str, bytes] = {}
    for name, entry in sorted(listed.items()):
        file = version_dir / name
        if "/" in name or "\\" in name or is_dropping(name):
            raise ArtifactError(
                f"{path} lists {name!r}, a name workbench never exports: the manifest was "
                f"edited. Export a new version."
            )
        if not file.is_file():
            raise ArtifactError(
                f"{file} is missing (listed in {MANIFEST}): restore it (e.g. from version "
                f"control) or export a new version."
            )
        data = file.read_bytes()
        if not isinstance(entry, dict) or sha256(data) != entry.get("sha256"):
            raise ArtifactError(
                f"{file} does not match its sha256 in {MANIFEST}: it was changed after "
                f"export. Restore it or export a new version."
            )
        out[name] = data
    extra = sorted(
        p.name + ("/" if p.is_dir() else "")
        for p in version_dir.iterdir()
        if p.name != MANIFEST and p.name not in listed and not is_dropping(p.name)
    )
    if extra:
        raise ArtifactError(
            f"{version_dir} holds file(s) not in {MANIFEST}: {extra}. An exported version "
            f"never changes: delete {'them' if len(extra) > 1 else 'it'} (or move "
            f"{'them' if len(extra) > 1 else 'it'} out of the folder), or export a new version."
        )
    return out


# -- references: "prompts/x", "prompts/x@2", "prompts/x@production", "prompts/x/v2" -------------
class Ref:
    """A resolved reference to one version of an exported prompt."""

    def __init__(self, prompt_dir: Path, version: int, label: str | None) -> None:
        self.prompt_dir = prompt_dir
        self.version = version
        self.label = label
        """The label it was reached by (``latest``, ``production``), or None for ``@N``."""

    @property
    def path(self) -> Path:
        """The version folder."""
        return self.prompt_dir / f"v{self.version}"

    def __str__(self) -> str:
        return f"{self.prompt_dir}@{self.version}"


def parse_ref(ref: str | Path) -> tuple[Path, str]:
    """Split ``prompts/x@2`` into (folder, ``"2"``); no ``@`` means ``latest``."""
    text = str(ref)
    base, sep, selector = text.rpartition("@")
    if not sep or "/" in selector or os.sep in selector:
        base, selector = text, "latest"
    path = Path(base)
    m = _VERSION_DIR.match(path.name)
    if m and (path / MANIFEST).exists() and selector == "latest":
        return path.parent, m.group(1)
    return path, selector or "latest"


def resolve(ref: str | Path) -> Ref:
    """Resolve a reference to a version folder that exists."""
    prompt_dir, selector = parse_ref(ref)
    if not prompt_dir.is_dir():
        raise ArtifactError(f"No exported prompt at {prompt_dir}: check the path.")
    if selector.isdigit():
        number = int(selector)
        if number not in versions(prompt_dir):
            raise ArtifactError(
                f"No version {number} of {prompt_dir}; versions: {versions(prompt_dir)}."
            )
        return Ref(prompt_dir, number, None)
    return Ref(prompt_dir, label_version(prompt_dir, selector), selector)
