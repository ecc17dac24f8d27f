"""promptfoo prompts as variant message templates.

Read: inline text, ``{id, label, raw}`` entries, ``{text-or-path: label}`` mappings, and
``file://`` files and globs — text (``.txt``, ``.md``, ``.j2``, ``.njk``...; several prompts
separated by ``---`` lines), chat messages (a JSON or YAML list of ``{role, content}``) and CSV
(``prompt`` and ``label`` columns). Inline text that is a JSON list of messages is a chat too.
A text prompt is sent as one user message, as promptfoo sends it to chat models. Templates are
Nunjucks, translated to Jinja2 (:mod:`workbench.importers.nunjucks`); prompt functions (``.js``,
``.py``) and executables are reported as skipped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.importers.files import expand, file_ref, load_file
from workbench.importers.nunjucks import to_jinja
from workbench.importers.spec import Notes

__all__ = ["Prompt", "read_prompts"]

_ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}
_CODE = (".js", ".ts", ".mjs", ".cjs", ".py", ".sh", ".rb")
_SEPARATOR = re.compile(r"\r?\n-{3,}\r?\n")


@dataclass(frozen=True)
class Prompt:
    """One prompt: its label, what provider filters may match, and its messages."""

    label: str
    ids: tuple[str, ...]
    """Names ``providers[].prompts`` may use for it (its label, id, file)."""
    messages: tuple[tuple[str, str], ...]
    """(role, Jinja2 template) in order."""
    where: str

    def fields(self) -> dict[str, Any]:
        """Variant spec fields: a leading system message, a final user message, and what is
        between as ``messages``."""
        turns = list(self.messages)
        out: dict[str, Any] = {}
        if turns and turns[0][0] == "system":
            out["system"] = turns.pop(0)[1]
        if turns and turns[-1][0] == "user":
            out["user"] = turns.pop()[1]
        if turns:
            out["messages"] = [{"role": r, "content": c} for r, c in turns]
        return out


def _chat(value: Any) -> list[tuple[str, Any]] | None:
    """(role, content) of a list of chat messages, or None if it is not one."""
    if not isinstance(value, list) or not value:
        return None
    if not all(isinstance(m, Mapping) and "role" in m and "content" in m for m in value):
        return None
    return [(str(m["role"]), m["content"]) for m in value]


def _inline_chat(text: str) -> list[tuple[str, Any]] | None:
    stripped = text.strip()
    if not (stripped.startswith("[") and stripped.endswith("]")):
        return None
    try:
        return _chat(json.loads(stripped))
    except ValueError:
        return None


def _content(content: Any) -> str | None:
    """A message's text: a string, or a list of text parts joined; None for images and such."""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(
        isinstance(p, Mapping) and p.get("type") == "text" and isinstance(p.get("text"), str)
        for p in content
    ):
        return "\n".join(p["text"] for p in content)
    return None


def _messages(
    turns: list[tuple[str, Any]], where: str, notes: Notes
) -> tuple[tuple[str, str], ...] | None:
    out = []
    for i, (role, content) in enumerate(turns):
        if role not in _ROLES:
            notes.add(
                "skipped",
                where,
                f"message {i + 1} has the role '{role}', which workbench does not send",
            )
            return None
        text = _content(content)
        if text is None:
            notes.add("skipped", where, f"message {i + 1} holds images or other non-text parts")
            return None
        jinja = to_jinja(text, f"{where} message {i + 1}" if len(turns) > 1 else where, notes)
        if jinja is None:
            return None
        out.append((_ROLES[role], jinja))
    return tuple(out)


def _one(
    text_or_chat: str | list[tuple[str, Any]],
    label: str,
    ids: tuple[str, ...],
    where: str,
    notes: Notes,
) -> Prompt | None:
    turns = _inline_chat(text_or_chat) if isinstance(text_or_chat, str) else text_or_chat
    if turns is None:
        assert isinstance(text_or_chat, str)
        turns = [("user", text_or_chat)]
    messages = _messages(turns, where, notes)
    return None if messages is None else Prompt(label, ids, messages, where)


def _from_file(
    ref: str, label: str | None, base: Path, where: str, notes: Notes
) -> Iterator[Prompt]:
    path_part = ref.split(":", 1)[0] if re.search(r"\.(py|js|ts):\w+$", ref) else ref
    if path_part.lower().endswith(_CODE):
        notes.add(
            "skipped",
            where,
            f"prompt functions ({ref}) cannot run in workbench; write the prompt out",
        )
        return
    for path in expand(path_part, base, where):
        at = f"{where} ({path.name})"
        loaded = load_file(path, at)
        name = label or path.stem
        if path.suffix.lower() == ".csv":
            for n, row in enumerate(loaded, start=2):
                text = row.get("prompt")
                if not isinstance(text, str):
                    notes.add("skipped", f"{at} row {n}", "no 'prompt' column")
                    continue
                row_label = row.get("label") or (f"{label}: {text[:40]}" if label else text[:40])
                found = _one(
                    text, str(row_label), (str(row_label), f"file://{ref}"), f"{at} row {n}", notes
                )
                if found:
                    yield found
            continue
        chat = _chat(loaded)
        if chat is not None:
            found = _one(chat, name, (name, f"file://{ref}"), at, notes)
            if found:
                yield found
            continue
        if not isinstance(loaded, str):
            notes.add("skipped", at, "not a prompt (expected text or a list of {role, content})")
            continue
        parts = _SEPARATOR.split(loaded)
        for k, part in enumerate(parts, start=1):
            piece = name if len(parts) == 1 else f"{name}-{k}"
            found = _one(part.strip("\n"), piece, (piece, f"file://{ref}"), at, notes)
            if found:
                yield found


def _entries(raw: Any, notes: Notes) -> Iterator[tuple[Any, str | None, str]]:
    """(text or reference, label, where) of each entry of ``prompts:``."""
    if isinstance(raw, str) or (isinstance(raw, Mapping) and ("raw" in raw or "id" in raw)):
        raw = [raw]
    elif isinstance(raw, Mapping):  # {text-or-path: label, ...}
        raw = [{k: v} for k, v in raw.items()]
    for i, entry in enumerate(raw if isinstance(raw, list) else [raw]):
        where = f"prompts[{i}]"
        if isinstance(entry, Mapping) and ("raw" in entry or "id" in entry):
            for key in sorted(set(entry) - {"raw", "id", "label"}):
                notes.add("skipped", f"{where}.{key}", "a prompt option workbench does not use")
            label = entry.get("label")
            yield entry.get("raw", entry.get("id")), str(label) if label else None, where
        elif isinstance(entry, Mapping) and len(entry) == 1:
            ((text, label),) = entry.items()
            yield text, str(label) if label else None, where
        else:
            yield entry, None, where


def read_prompts(raw: Any, base: Path, notes: Notes) -> list[Prompt]:
    """Every prompt of ``prompts:`` (promptfoo's ``{{prompt}}`` passthrough when there is none)."""
    if raw is None:
        raw = ["{{prompt}}"]
    ref = file_ref(raw)
    if (
        ref is not None
        and Path(ref).suffix.lower() in (".yaml", ".yml")
        and not re.search(r"[*?]", ref)
    ):
        loaded = load_file(expand(ref, base, "prompts")[0], "prompts")
        if _chat(loaded) is None:
            raw = loaded  # a file listing the prompts
    prompts: list[Prompt] = []
    for value, label, where in _entries(raw, notes):
        inner = file_ref(value)
        if inner is not None:
            prompts += _from_file(inner, label, base, where, notes)
        elif isinstance(value, str):
            if value.startswith(("exec:", "langfuse://", "portkey://", "helicone://")):
                notes.add(
                    "skipped", where, f"prompts from '{value.split(':')[0]}' cannot be loaded"
                )
                continue
            name = label or f"prompt{len(prompts) + 1}"
            found = _one(value, name, (name, value), where, notes)
            if found:
                prompts.append(found)
        else:
            notes.add("skipped", where, f"not a prompt: {value!r}")
    return prompts
