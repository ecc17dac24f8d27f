"""Write the Dotprompt file (``prompt.prompt``) of an exported prompt, when it says the same.

Dotprompt (Google's format, run by Genkit and the ``dotpromptz`` package) is YAML front matter
(``model``, ``config``, ``input.schema`` in Picoschema) and a Handlebars body split into messages
by ``{{role "..."}}`` markers::

    ---
    name: capital-answerer
    model: openai/gpt-4o-mini
    config:
      maxOutputTokens: 32
      temperature: 0
    input:
      schema:
        question: string
    ---
    {{role "system"~}}
    Answer in one word.

    {{~role "user"~}}
    {{{question}}}

A template is translated only when Handlebars renders it exactly as workbench's Jinja2 does: text
(``{{`` escaped as ``\\{{``), ``{{ name }}`` and ``{{ name.attr }}`` (written ``{{{...}}}``, never
HTML-escaped) and ``{% if %}`` / ``{% elif %}`` / ``{% else %}`` on such a name or its ``not``,
with each tag sharing its line with text (Handlebars drops a line holding only a block tag).
Anything else (filters, expressions, loops, ``{% set %}`` ...) raises :class:`Untranslatable`
naming it; the export then writes no ``.prompt`` file.

Values render alike when they are text or integers: Handlebars writes ``true`` for ``True``, lists
joined by commas, and takes an empty mapping as true.

Tools become ``toolDefs`` (name, description, ``inputSchema``: the parameters' JSON Schema as
sent). Dotprompt has no ``tool_choice`` nor ``parallel_tool_calls``: a prompt that sets either
(other than ``tool_choice="auto"``, the default) is not translated.

A ``response_format`` (structured output) becomes ``output: {format: json, schema: <its JSON
Schema>}``.

A conversation column (``Variant(history="conversation")``) becomes Dotprompt's ``{{history}}``
marker where its turns go; Dotprompt takes those turns from the render's ``messages`` (not from
an input), with ``model`` for an assistant turn::

    await Dotprompt().render(source, DataArgument(input={...}, messages=[
        Message(role="user", content=[TextPart(text="Hi")]), ...]))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from jinja2 import TemplateSyntaxError, meta, nodes

from workbench.artifact.prompty import PromptFile, params_to_options
from workbench.prompts.render import parse_template
from workbench.prompts.schema import schema_of
from workbench.prompts.tools import ToolConfig

__all__ = ["DOTPROMPT_FILE", "SKIP_KEY", "Untranslatable", "write_dotprompt"]

DOTPROMPT_FILE = "prompt.prompt"
SKIP_KEY = "dotprompt"
"""Key of ``eval.json`` saying why a version has no ``prompt.prompt`` (absent when it has one)."""

_ROLES = {"system": "system", "user": "user", "assistant": "model"}
# Handlebars and Dotprompt built-in helpers and literals: such a variable is read as `this.name`.
_RESERVED = frozenset(
    [
        "if",
        "unless",
        "each",
        "with",
        "lookup",
        "log",
        "helperMissing",
        "blockHelperMissing",
        "json",
        "role",
        "history",
        "section",
        "media",
        "ifEquals",
        "unlessEquals",
        "this",
        "true",
        "false",
        "null",
        "undefined",
    ]
)
_STATEMENTS = {
    "For": "a {% for %} loop",
    "Assign": "{% set %}",
    "AssignBlock": "{% set %}",
    "Macro": "a {% macro %}",
    "CallBlock": "{% call %}",
    "FilterBlock": "a {% filter %} block",
    "With": "{% with %}",
}


class Untranslatable(Exception):
    """The prompt has no exact Dotprompt form; the message says why."""


@dataclass(frozen=True)
class _Var:
    path: str


@dataclass(frozen=True)
class _Tag:
    text: str
    jinja: str


_Token = str | _Var | _Tag


def _describe(node: nodes.Node) -> str:
    found = node if isinstance(node, (nodes.Filter, nodes.Test)) else None
    found = found or node.find(nodes.Filter) or node.find(nodes.Test)
    if isinstance(found, nodes.Filter):
        return f"the filter '{found.name}'"
    if isinstance(found, nodes.Test):
        return f"the test 'is {found.name}'"
    if isinstance(node, nodes.Name):
        return f"'{node.name}', which is not a row value"
    if isinstance(node, nodes.Getitem):
        return "a subscript ([...]); write name.attr instead"
    kind = type(node).__name__
    return _STATEMENTS.get(
        kind, f"{'a construct' if isinstance(node, nodes.Stmt) else 'an expression'} ({kind})"
    )


class _Message:
    """One message template as Handlebars tokens; raises Untranslatable."""

    def __init__(self, source: str) -> None:
        try:
            tree = parse_template(source)
        except TemplateSyntaxError as exc:
            raise Untranslatable(f"invalid syntax ({exc.message})") from None
        self.names = frozenset(meta.find_undeclared_variables(tree))
        self.dotted: set[str] = set()
        self.tokens: list[_Token] = []
        self._body(tree.body)

    def _body(self, body: Sequence[nodes.Node]) -> None:
        for node in body:
            if isinstance(node, nodes.Output):
                for child in node.nodes:
                    if isinstance(child, nodes.TemplateData):
                        self._text(child.data)
                    elif isinstance(child, nodes.Const) and isinstance(child.value, str):
                        self._text(child.value)
                    else:
                        self.tokens.append(_Var(self._path(child)))
            elif isinstance(node, nodes.If):
                self._if(node)
            else:
                raise Untranslatable(_describe(node))

    def _text(self, text: str) -> None:
        if self.tokens and isinstance(self.tokens[-1], str):
            self.tokens[-1] += text
        elif text:
            self.tokens.append(text)

    def _path(self, node: nodes.Node) -> str:
        attrs: list[str] = []
        while isinstance(node, nodes.Getattr):
            if node.attr.startswith("_") or node.attr in _RESERVED or hasattr(dict, node.attr):
                raise Untranslatable(f"the attribute '.{node.attr}'")
            attrs.insert(0, node.attr)
            node = node.node
        if not isinstance(node, nodes.Name) or node.name not in self.names:
            raise Untranslatable(_describe(node))
        if node.name == "this":
            raise Untranslatable("the name 'this', which Handlebars reserves")
        if attrs:
            self.dotted.add(node.name)
        head = f"this.{node.name}" if node.name in _RESERVED else node.name
        return ".".join([head, *attrs])

    def _test(self, test: nodes.Node) -> tuple[str, str]:
        if isinstance(test, nodes.Not):
            return "unless", self._path(test.node)
        return "if", self._path(test)

    def _if(self, node: nodes.If) -> None:
        helper, path = self._test(node.test)
        self.tokens.append(_Tag(f"{{{{#{helper} {path}}}}}", "{% if %}"))
        self._body(node.body)
        for branch in node.elif_:
            other, path = self._test(branch.test)
            self.tokens.append(_Tag(f"{{{{else {other} {path}}}}}", "{% elif %}"))
            self._body(branch.body)
        if node.else_:
            self.tokens.append(_Tag("{{else}}", "{% else %}"))
            self._body(node.else_)
        self.tokens.append(_Tag(f"{{{{/{helper}}}}}", "{% endif %}"))

    def edges(self) -> tuple[bool, bool]:
        """Whether the message starts / ends with whitespace text."""
        first, last = self.tokens[0], self.tokens[-1]
        return (
            isinstance(first, str) and first[:1].isspace(),
            isinstance(last, str) and last[-1:].isspace(),
        )

    def handlebars(self) -> str:
        """The Handlebars text; checks escapes and that no block tag stands alone on a line."""
        out: list[str] = []
        for i, token in enumerate(self.tokens):
            before = self.tokens[i - 1] if i else None
            after = self.tokens[i + 1] if i + 1 < len(self.tokens) else None
            if isinstance(token, _Var):
                out.append(f"{{{{{{{token.path}}}}}}}")
            elif isinstance(token, _Tag):
                if not (_shares_line(before, last=True) or _shares_line(after, last=False)):
                    raise Untranslatable(
                        f"a {token.jinja} tag alone on its line (Handlebars would drop the line)"
                    )
                out.append(token.text)
            else:
                out.append(_escape(token, before_tag=after is not None))
        return "".join(out)


def _shares_line(token: _Token | None, *, last: bool) -> bool:
    """Whether a neighbour keeps a block tag from standing alone on its line."""
    if isinstance(token, _Var):
        return True
    if not isinstance(token, str):
        return False  # another block tag or the message's edge: assume the worst
    line = token.rsplit("\n", 1)[-1] if last else token.split("\n", 1)[0]
    return bool(line.strip())


def _escape(text: str, *, before_tag: bool) -> str:
    if "<<<dotprompt:" in text:
        raise Untranslatable("the text '<<<dotprompt:', which Dotprompt reads as a marker")
    if "\\{{" in text:
        raise Untranslatable("a backslash before '{{', which Handlebars cannot write")
    out = text.replace("{{", "\\{{")
    if before_tag and out.endswith("{"):
        raise Untranslatable("a '{' right before a '{{ ... }}' or '{% ... %}'")
    if before_tag and out.endswith("\\"):
        out += "\\"  # \\{{ is one backslash and then the tag
    return out


def _where(messages: Sequence[tuple[str, str]], index: int) -> str:
    role = messages[index][0]
    same = [i for i, (r, _) in enumerate(messages) if r == role]
    return f"the {role} message" + (f" {same.index(index) + 1}" if len(same) > 1 else "")


def _kind(value: Any, dotted: bool) -> str:
    if dotted or isinstance(value, (Mapping, list, tuple)):
        return "any"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return "string"


def _config(params: Mapping[str, Any]) -> dict[str, Any]:
    options = params_to_options(params)
    extra = dict(options.pop("additionalProperties", {}))
    if isinstance(extra.get("stop"), str):
        options["stopSequences"] = [extra.pop("stop")]
    return dict(sorted({**options, **extra}.items()))


def _tool_defs(tools: ToolConfig) -> list[dict[str, Any]]:
    """The tools as Dotprompt ``toolDefs``; raises :class:`Untranslatable` for a tool_choice or
    parallel_tool_calls Dotprompt cannot say."""
    if tools.choice not in (None, "auto"):
        raise Untranslatable(f"tool_choice {tools.choice!r}, which Dotprompt has no field for")
    if tools.parallel is not None:
        raise Untranslatable("parallel_tool_calls, which Dotprompt has no field for")
    out = []
    for definition in tools.definitions:
        function = definition["function"]
        if "strict" in function:
            raise Untranslatable(
                f"strict on the tool {function['name']!r}, which Dotprompt cannot say"
            )
        tool: dict[str, Any] = {"name": function["name"]}
        if function.get("description") is not None:
            tool["description"] = function["description"]
        tool["inputSchema"] = dict(
            function.get("parameters") or {"type": "object", "properties": {}}
        )
        out.append(tool)
    return out


def write_dotprompt(prompt: PromptFile) -> str:
    """The ``.prompt`` text (same PromptFile, same text); raises :class:`Untranslatable`."""
    messages: list[tuple[str, _Message, str]] = []
    for i, (role, source) in enumerate(prompt.messages):
        where = _where(prompt.messages, i)
        if role not in _ROLES:
            raise Untranslatable(f"{where}: Dotprompt has no '{role}' role")
        try:
            message = _Message(source)
            text = message.handlebars()
        except Untranslatable as exc:
            raise Untranslatable(f"{where} uses {exc}") from None
        if not any(not isinstance(t, str) or t.strip() for t in message.tokens):
            raise Untranslatable(f"{where} is empty, and Dotprompt drops empty messages")
        if i == len(prompt.messages) - 1 and message.edges()[1]:
            raise Untranslatable(f"{where} ends with whitespace, which Dotprompt trims")
        messages.append((_ROLES[role], message, text))

    names = sorted(set().union(*(m.names for _, m, _ in messages)) - {prompt.history})
    dotted = set().union(*(m.dotted for _, m, _ in messages))
    front: dict[str, Any] = {"name": prompt.name}
    if prompt.description:
        front["description"] = prompt.description
    front["model"] = prompt.model
    schema = schema_of(prompt.params)
    params = {k: v for k, v in prompt.params.items() if not (schema and k == "response_format")}
    config = _config(params)
    if config:
        front["config"] = config
    if prompt.tools is not None:
        front["toolDefs"] = _tool_defs(prompt.tools)
    if names:
        front["input"] = {"schema": {n: _kind(prompt.examples.get(n), n in dotted) for n in names}}
    if schema:
        front["output"] = {"format": "json", "schema": schema}
    head = yaml.safe_dump(
        front, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100
    )
    # `~` trims the newlines around a marker, unless the message's own text starts or ends there.
    # The conversation's marker stands between messages like a role marker, trimmed alike.
    parts: list[str] = []
    glue = False
    for i in range(len(messages) + 1):
        if prompt.history is not None and i == prompt.history_at:
            parts.append("\n\n{{~history}}" if glue else "{{history}}")
            glue = True
        if i == len(messages):
            break
        role, message, text = messages[i]
        starts_blank, ends_blank = message.edges()
        left, right = ("~" if glue else ""), ("" if starts_blank else "~")
        parts.append(("\n\n" if glue else "") + f'{{{{{left}role "{role}"{right}}}}}')
        parts.append(("\n" if right else "") + text)
        glue = not ends_blank
    return f"---\n{head}---\n" + "".join(parts) + "\n"
