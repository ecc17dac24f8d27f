"""A Variant: one way of prompting — message templates, model id and generation parameters."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from workbench.errors import TemplateError
from workbench.prompts.conversation import parse_conversation
from workbench.prompts.render import Message, render_template, template_variables
from workbench.prompts.schema import response_format
from workbench.prompts.tools import ToolConfig, find_function, function_tool, tool_config

__all__ = ["Part", "Rendered", "Variant", "units"]

ROLES = ("system", "user", "assistant")


@dataclass(frozen=True)
class Part:
    """One rendered message and where it came from."""

    role: str
    content: str
    origin: str
    """``system``, ``example`` (a few-shot turn of fixed text), ``turn`` (a ``messages`` turn that
    reads the row), ``history`` (a turn of the row's conversation) or ``user``."""
    label: str
    """How a person names it: ``system``, ``example 1 (user)``, ``history 2 (assistant)``, ..."""
    tool_calls: tuple[Mapping[str, Any], ...] = ()
    """The tools an assistant turn of the conversation called (OpenAI's shape)."""
    tool_call_id: str | None = None
    """The call a ``tool`` turn of the conversation answers."""

    def message(self) -> Message:
        """The chat message it is."""
        out = Message(role=self.role, content=self.content)
        if self.tool_calls:
            out["tool_calls"] = [dict(c) for c in self.tool_calls]
        if self.tool_call_id is not None:
            out["tool_call_id"] = self.tool_call_id
        return out


class Rendered(list[Message]):
    """The chat messages for one row (a plain list of messages) and, in :attr:`parts`, the same
    messages with their origin: budgets, scorers and exports read the order from here."""

    parts: tuple[Part, ...]

    def __init__(self, parts: Sequence[Part]) -> None:
        super().__init__(p.message() for p in parts)
        self.parts = tuple(parts)


def units(turns: Sequence[Mapping[str, object]]) -> list[list[int]]:
    """Turns grouped oldest first: a user turn with the assistant turn after it (and the tool
    turns and assistant turns of the tool calls in between)."""
    grouped: list[list[int]] = []
    for i, turn in enumerate(turns):
        if grouped and (
            turn["role"] == "tool"
            or (turn["role"] == "assistant" and turns[grouped[-1][-1]]["role"] != "assistant")
        ):
            grouped[-1].append(i)
        else:
            grouped.append([i])
    return grouped


@dataclass(frozen=True)
class Variant:
    """One prompt variant.

    ``system`` and ``user`` are Jinja2 templates over a dataset row; ``messages`` holds further
    turns (few-shot examples, a conversation) placed between them::

        Variant("terse", model="local/smollm2", system="Answer in one word.",
                user="{{ question }}", params={"temperature": 0, "max_tokens": 32})

    ``history`` names a dataset column holding each row's conversation so far; its turns go
    after ``messages`` and before ``user`` (which may then be left out)::

        Variant("copilot", system="You are a helpful assistant.", history="conversation")
    """

    name: str
    model: str | None = None
    """``provider/model``; None uses the default model (the embedded one unless configured)."""
    system: str | None = None
    user: str | None = None
    messages: Sequence[Mapping[str, str]] = ()
    """Turns between the system message and the user message: ``[{"role": ..., "content": ...}]``."""
    params: Mapping[str, Any] = field(default_factory=dict)
    """Generation parameters: temperature, max_tokens, top_p, stop, seed, ..."""
    description: str = ""
    history: str | None = None
    """Dataset column holding the conversation so far: a list of ``{"role": "user" | "assistant",
    "content": str}`` turns, or JSON text of one. Its turns are sent verbatim (never rendered)
    after ``messages`` and before ``user``; without ``user`` the conversation must end with a user
    turn (or a tool result). A missing value is an empty conversation. Turns may call tools and
    hold their results, in OpenAI's shape (see :mod:`workbench.prompts.conversation`)."""
    tools: Sequence[Mapping[str, Any] | Callable[..., Any]] = ()
    """Tools the model may call: OpenAI function-tool definitions
    (``{"type": "function", "function": {"name", "description", "parameters"}}``) or Python
    functions (the definition made from the signature, type hints and docstring); in YAML a
    function is named ``module.function`` (imported with ``--import module``)."""
    tool_choice: str | Mapping[str, Any] | None = None
    """``"auto"``, ``"none"``, ``"required"``, a tool's name, or OpenAI's
    ``{"type": "function", "function": {"name": ...}}``; None sends none (the API's default)."""
    parallel_tool_calls: bool | None = None
    """Whether the model may call several tools at once; None sends none (the API's default)."""
    max_steps: int | None = None
    """Run a tool loop of up to this many model calls (model -> tool calls -> your functions ->
    results back -> model ...); every tool must then be a Python function."""
    response_format: Any = None
    """Structured output: a JSON Schema (dict) or a pydantic model class the reply must follow,
    sent natively per provider (OpenAI ``json_schema``, strict where the schema allows; Anthropic
    structured outputs); the parsed reply is the ``parsed`` column. Kept as the normalized
    ``{"type": "json_schema", "json_schema": {...}}``."""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise TemplateError("A Variant needs a non-empty name, e.g. Variant('terse', ...).")
        turns = tuple(dict(m) for m in self.messages)
        for i, turn in enumerate(turns):
            if set(turn) != {"role", "content"} or turn["role"] not in ROLES:
                raise TemplateError(
                    f"Variant '{self.name}': messages[{i}] must be "
                    f"{{'role': one of {ROLES}, 'content': str}}, got {turn!r}."
                )
            if not isinstance(turn["content"], str):
                raise TemplateError(f"Variant '{self.name}': messages[{i}].content must be text.")
        object.__setattr__(self, "messages", turns)
        object.__setattr__(self, "params", dict(self.params or {}))
        if _listish(self.tools):  # "module.function" (YAML): the function, from its imported module
            where = f"Variant '{self.name}': tools"
            found = [find_function(t, where) if isinstance(t, str) else t for t in self.tools]
            object.__setattr__(self, "tools", tuple(found))
        config = self.tool_config  # checks tools, tool_choice and parallel_tool_calls now
        if config is not None and config.choice is not None:
            object.__setattr__(self, "tool_choice", config.choice)
        self._check_loop()
        if self.response_format is not None:
            where = f"Variant '{self.name}'"
            if "response_format" in self.params:
                raise TemplateError(
                    f"{where}: give response_format once: as Variant(response_format=...) or in "
                    f"params, not both."
                )
            object.__setattr__(
                self, "response_format", response_format(self.response_format, where)
            )
        if not self.templates() and self.history is None:
            raise TemplateError(
                f"Variant '{self.name}' has no messages: give user=..., system=... or messages=[...]."
            )
        read = self._template_variables()  # parse every template now: syntax errors surface early
        if self.history is not None:
            self._check_history(read)

    def _check_history(self, read: frozenset[str]) -> None:
        name = self.history
        ok = isinstance(name, str) and name.isidentifier()
        try:
            ok = ok and template_variables(f"{{{{ {name} }}}}") == {name}
        except TemplateError:
            ok = False
        if not ok:
            raise TemplateError(
                f"Variant '{self.name}': history={name!r} must name a dataset column with a "
                f"plain identifier (letters, digits, _), e.g. history='conversation'; rename the "
                f"column if needed."
            )
        if name in read:
            raise TemplateError(
                f"Variant '{self.name}': a template reads {{{{ {name} }}}}, the history column; "
                f"its turns are added as messages on their own, so templates may not read it."
            )

    @cached_property
    def tool_config(self) -> ToolConfig | None:
        """The tools part of every request (definitions, choice, parallel); None without tools."""
        return tool_config(
            self.tools, self.tool_choice, self.parallel_tool_calls, f"Variant '{self.name}'"
        )

    @property
    def functions(self) -> dict[str, Callable[..., Any]]:
        """Tools given as Python functions, by tool name (what a tool loop calls)."""
        return {
            str(function_tool(t)["function"]["name"]): t
            for t in self.tools
            if callable(t) and not isinstance(t, Mapping)
        }

    def _check_loop(self) -> None:
        steps = self.max_steps
        if steps is None:
            return
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise TemplateError(
                f"Variant '{self.name}': max_steps must be a whole number >= 1, got {steps!r}."
            )
        config = self.tool_config
        if config is None:
            raise TemplateError(
                f"Variant '{self.name}': max_steps={steps} runs a tool loop, but there are no "
                f"tools; give tools=[python_function, ...]."
            )
        missing = [n for n in config.names if n not in self.functions]
        if missing:
            raise TemplateError(
                f"Variant '{self.name}': a tool loop (max_steps={steps}) calls the tools' Python "
                f"functions, and {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} "
                f"given as a definition only; pass the function itself in tools=[...]."
            )

    def templates(self) -> list[tuple[str, str, str]]:
        """(where, role, template) for every message, in order."""
        out: list[tuple[str, str, str]] = []
        if self.system is not None:
            out.append(("system", "system", self.system))
        for i, turn in enumerate(self.messages):
            out.append((f"messages[{i}]", turn["role"], turn["content"]))
        if self.user is not None:
            out.append(("user", "user", self.user))
        return out

    @property
    def history_at(self) -> int:
        """Where the history column's turns go among :meth:`templates`: before ``user``."""
        return len(self.templates()) - (1 if self.user is not None else 0)

    def _template_variables(self) -> frozenset[str]:
        names: set[str] = set()
        for where, _, source in self.templates():
            names |= template_variables(source, f"variant '{self.name}' {where}")
        return frozenset(names)

    @property
    def variables(self) -> frozenset[str]:
        """Names of the row values this variant reads: its templates' and the history column."""
        names = self._template_variables()
        return names | {self.history} if self.history is not None else names

    def history_turns(self, row: Mapping[str, Any], *, row_id: str | None = None) -> list[Message]:
        """The row's conversation so far, checked (``[]`` without ``history``); raises
        :class:`~workbench.errors.DatasetError` naming the variant, row and problem."""
        if self.history is None:
            return []
        where = f"Variant '{self.name}'" + (f", row {row_id!r}" if row_id is not None else "")
        if self.history not in row:
            raise TemplateError(
                f"{where}: the row has no column '{self.history}' (the history column). "
                f"Row columns: {', '.join(map(str, row))}."
            )
        config = self.tool_config
        return parse_conversation(
            row[self.history],
            f"{where}, column '{self.history}'",
            ends_with_user=self.user is None,
            tools=config.names if config is not None else (),
        )

    def render(self, row: Mapping[str, Any], *, row_id: str | None = None) -> Rendered:
        """The chat messages for one row: system, ``messages``, the history turns, user — with
        each message's origin in ``.parts``. ``row_id`` only names the row in error messages."""
        made = [
            Part(role, render_template(source, row, f"variant '{self.name}' {where}"), *kind)
            for (where, role, source), kind in zip(self.templates(), self._kinds(), strict=True)
        ]
        if self.history is not None:
            turns = [
                Part(
                    t["role"],
                    t["content"],
                    "history",
                    f"history {n} ({t['role']})",
                    tuple(t.get("tool_calls", ())),
                    t.get("tool_call_id"),
                )
                for n, t in enumerate(self.history_turns(row, row_id=row_id), start=1)
            ]
            made = made[: self.history_at] + turns + made[self.history_at :]
        return Rendered(made)

    def _kinds(self) -> list[tuple[str, str]]:
        """(origin, label) of each template, in order: a unit of ``messages`` (a user turn and
        the reply after it) of fixed text is a few-shot example, one that reads the row a turn."""
        middle: list[tuple[str, str]] = []
        numbers = {"example": 0, "turn": 0}
        for unit in units(self.messages):
            turns = [self.messages[i] for i in unit]
            kind = "turn" if any(template_variables(t["content"]) for t in turns) else "example"
            numbers[kind] += 1
            middle.extend((kind, f"{kind} {numbers[kind]} ({t['role']})") for t in turns)
        head = [("system", "system")] if self.system is not None else []
        tail = [("user", "user")] if self.user is not None else []
        return head + middle + tail

    @property
    def request_params(self) -> dict[str, Any]:
        """The parameters a request is sent with: ``params`` and the ``response_format``."""
        if self.response_format is None:
            return dict(self.params)
        return {**self.params, "response_format": self.response_format}

    def replace(self, **changes: Any) -> Variant:
        """A copy with some fields changed: ``a.replace(name="friendly", system="...")``."""
        return dataclasses.replace(self, **changes)

    def spec(self) -> dict[str, Any]:
        """Plain-data form, for YAML, records and fingerprints."""
        out: dict[str, Any] = {"name": self.name, "model": self.model}
        if self.system is not None:
            out["system"] = self.system
        if self.messages:
            out["messages"] = [dict(m) for m in self.messages]
        if self.history is not None:
            out["history"] = self.history
        if self.user is not None:
            out["user"] = self.user
        out["params"] = dict(self.params)
        config = self.tool_config
        if config is not None:  # only when set: a variant without tools keeps its fingerprint
            fields = config.request_fields()
            out["tools"] = fields["tools"]
            for key in ("tool_choice", "parallel_tool_calls"):
                if key in fields:
                    out[key] = fields[key]
        if self.max_steps is not None:
            out["max_steps"] = self.max_steps
        if self.response_format is not None:
            out["response_format"] = self.response_format
        if self.description:
            out["description"] = self.description
        return out

    @classmethod
    def spec_fields(cls) -> frozenset[str]:
        """The fields a spec (a YAML variant, ``defaults:``) may name."""
        return frozenset(f.name for f in dataclasses.fields(cls))

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> Variant:
        """Build from the plain-data form (as in an experiment YAML)."""
        allowed = cls.spec_fields()
        unknown = set(spec) - allowed
        if unknown:
            raise TemplateError(
                f"Variant {spec.get('name', '?')!r}: unknown field(s) {sorted(unknown)}; "
                f"allowed: {sorted(allowed)}."
            )
        return cls(**dict(spec))

    @property
    def fingerprint(self) -> str:
        """Short hash of everything that defines this variant except its name."""
        body = {k: v for k, v in self.spec().items() if k not in ("name", "description")}
        text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def _listish(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes, Mapping))
