"""Load an exported prompt in production: verified, light, ready for the provider SDK.

::

    from workbench import load_prompt
    p = load_prompt("prompts/capital-answerer")            # latest; or "...@2", "...@production"
    client.chat.completions.create(**p.render(question="What is the capital of France?"))
    # exactly the body the evaluation sent; also p.render_responses(...), p.render_anthropic(...)
    p.eval["variants"]["friendly"]["scores"]               # the evaluation it shipped with
    p.render(conversation=[{"role": "user", "content": "Hi"}])   # a prompt with a history input

Imports no pandas, widgets, charts or provider SDKs: only PyYAML and Jinja2.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.artifact.files import write_prompt
from workbench.artifact.prompty import PromptFile, parse_prompty
from workbench.artifact.store import (
    EVAL_FILE,
    EVAL_SCHEMA,
    EVIDENCE_FILE,
    PROMPT_FILE,
    read_manifest,
    resolve,
)
from workbench.errors import ArtifactError, DatasetError, TemplateError
from workbench.prompts.conversation import parse_conversation
from workbench.prompts.render import Message, render_template, template_variables
from workbench.prompts.tools import ToolConfig
from workbench.providers.wire import (
    ANTHROPIC_CREATE_KEYS,
    OPENAI_CREATE_KEYS,
    anthropic_body,
    chat_body,
    responses_body,
    sdk_kwargs,
)

__all__ = ["LoadedPrompt", "load_prompt"]

_REQUIRED = (PROMPT_FILE, EVAL_FILE, EVIDENCE_FILE)


@dataclass(frozen=True)
class LoadedPrompt:
    """One verified version of an exported prompt."""

    name: str
    version: int
    path: Path
    """The version folder."""
    prompt: PromptFile
    eval: Mapping[str, Any]
    """The evaluation record (``eval.json``)."""
    label: str | None = None
    """The label it was loaded by (``latest``, ``production``), or None for ``@N``."""
    _evidence: bytes = field(default=b"", repr=False, compare=False)

    @property
    def model(self) -> str:
        """Full model id, ``provider/model``."""
        return self.prompt.model

    @property
    def params(self) -> dict[str, Any]:
        """Generation parameters (temperature, max_tokens, ...)."""
        return dict(self.prompt.params)

    @property
    def history(self) -> str | None:
        """The input taking the conversation so far (exported from ``Variant(history=...)``)."""
        return self.prompt.history

    @property
    def tools(self) -> ToolConfig | None:
        """The tools offered to the model (definitions, tool_choice, parallel_tool_calls)."""
        return self.prompt.tools

    @property
    def variables(self) -> frozenset[str]:
        """Inputs the prompt reads: its templates' and the conversation (:attr:`history`)."""
        names: set[str] = set()
        for role, source in self.prompt.messages:
            names |= template_variables(source, f"{self.name} {role} message")
        return frozenset(names | ({self.history} if self.history else set()))

    def messages(self, **inputs: Any) -> list[Message]:
        """The chat messages for these inputs (sandboxed Jinja2; a missing input is an error).

        With a :attr:`history` input, pass the conversation so far as that input: a list of
        ``{"role": "user" | "assistant", "content": str}`` turns or JSON text of one (``[]`` or
        None for none); turns may call the prompt's tools and hold their results (OpenAI's
        shape). Its turns are checked as in the evaluation and sent verbatim.
        """
        out = [
            Message(role=role, content=render_template(source, inputs, f"{self.name} {role}"))
            for role, source in self.prompt.messages
        ]
        name, at = self.history, self.prompt.history_at
        if name is None:
            return out
        if name not in inputs:
            raise TemplateError(
                f"{self.name} needs the conversation so far: pass {name}=[{{'role': 'user', "
                f"'content': ...}}, ...] (or {name}=[] for none)."
            )
        tools = self.tools
        try:
            turns = parse_conversation(
                inputs[name],
                f"{self.name}, input '{name}'",
                ends_with_user=at == len(out),
                tools=tools.names if tools is not None else (),
            )
        except DatasetError as exc:
            raise TemplateError(str(exc)) from None
        return out[:at] + turns + out[at:]

    def render(self, **inputs: Any) -> dict[str, Any]:
        """A Chat Completions request, exactly the body the evaluation sent
        (``client.chat.completions.create(**p.render(...))``): for ``openai/`` models
        ``max_tokens`` goes as ``max_completion_tokens`` (reasoning models refuse ``max_tokens``);
        an OpenAI-compatible server gets ``max_tokens`` and extra parameters as they are (those
        the SDK takes no keyword for, such as ``top_k``, in ``extra_body``, which it merges back);
        ``tools`` (and ``tool_choice``, ``parallel_tool_calls``) as the evaluation sent them.

        ``model`` is the provider's own model name (``gpt-6-luna``, not ``openai/gpt-6-luna``).
        A prompt evaluated through the Responses API (``params["api"] == "responses"``) is sent
        as :meth:`render_responses` gives it.
        """
        provider, bare = self._provider()
        body = chat_body(
            bare, self.messages(**inputs), self.params, self.tools, openai=provider == "openai"
        )
        return sdk_kwargs(body, OPENAI_CREATE_KEYS)

    def render_responses(self, **inputs: Any) -> dict[str, Any]:
        """An OpenAI Responses API request (``client.responses.create(**...)``), exactly the body
        the evaluation sent with ``params={"api": "responses"}``: messages as ``input``,
        ``max_output_tokens``, ``reasoning`` and ``text`` as that API takes them; tools, tool
        calls and results in that API's shape (``function_call`` / ``function_call_output``)."""
        body = responses_body(self._provider()[1], self.messages(**inputs), self.params, self.tools)
        return sdk_kwargs(body, OPENAI_CREATE_KEYS)

    def render_anthropic(self, **inputs: Any) -> dict[str, Any]:
        """An Anthropic Messages request for ``client.messages.create(**...)``, exactly the body
        the evaluation sent: system text apart, ``max_tokens`` as sent (required), tools
        converted (``input_schema``, ``tool_choice`` types, ``tool_use`` / ``tool_result``
        blocks), ``effort`` and a JSON Schema under ``output_config``; keys an SDK version may
        not take as keywords (sampling parameters, ``output_config``, ...) in ``extra_body``,
        which the SDK merges into the same JSON."""
        body = anthropic_body(self._provider()[1], self.messages(**inputs), self.params, self.tools)
        return sdk_kwargs(body, ANTHROPIC_CREATE_KEYS)

    def _provider(self) -> tuple[str, str]:
        """(provider, the provider's own model name)."""
        provider, _, bare = self.model.partition("/")
        return (provider, bare) if bare else ("", self.model)

    def evidence(self) -> list[dict[str, Any]]:
        """Per-row evidence (inputs, outputs, scores, labels) of the winner and the runner-up."""
        text = self._evidence.decode("utf-8")
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def files(self) -> dict[str, bytes]:
        """The version's verified files by name (re-read and checked against the manifest)."""
        return read_manifest(self.path)

    def export(self, to: str | Path, name: str | None = None, label: str | None = None) -> Path:
        """Write this version again, unchanged, as a new version of ``to/name`` (byte-identical
        files unless renamed); ``label`` is pointed at it. Returns the new version's folder."""
        self.files()  # verify again: a version tampered with since loading is not copied
        target = name or self.name
        record = dict(self.eval)
        source = self.prompt
        if target != self.name:
            record["name"] = target
            source = dataclasses.replace(source, name=target)
        return write_prompt(to, target, source, record, self.evidence(), label)

    def __repr__(self) -> str:
        return f"<LoadedPrompt {self.name}@{self.version} {self.model} ({self.path})>"


def load_prompt(ref: str | Path) -> LoadedPrompt:
    """Load and verify an exported prompt: ``"prompts/x"`` (latest), ``"prompts/x@2"``,
    ``"prompts/x@production"`` or a version folder ``"prompts/x/v2"``.

    Refuses, naming the file, an artifact whose files do not match its manifest, that misses a
    file, or whose schema version this workbench does not know.
    """
    ref_ = resolve(ref)
    files = read_manifest(ref_.path)
    for required in _REQUIRED:
        if required not in files:
            raise ArtifactError(f"{ref_.path} has no {required}; re-export the prompt.")
    try:
        record = json.loads(files[EVAL_FILE].decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{ref_.path / EVAL_FILE} is not valid JSON ({exc}).") from None
    found = record.get("schema_version") if isinstance(record, dict) else None
    if found != EVAL_SCHEMA:
        raise ArtifactError(
            f"{ref_.path / EVAL_FILE}: unknown schema_version {found!r} (this workbench reads "
            f"{EVAL_SCHEMA}); upgrade prompt-workbench or re-export the prompt."
        )
    prompt = parse_prompty(files[PROMPT_FILE].decode("utf-8"), str(ref_.path / PROMPT_FILE))
    return LoadedPrompt(
        name=prompt.name,
        version=ref_.version,
        path=ref_.path,
        prompt=prompt,
        eval=record,
        label=ref_.label,
        _evidence=files[EVIDENCE_FILE],
    )
