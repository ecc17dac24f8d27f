"""The Dotprompt rendering (``prompt.prompt``) of an exported prompt: rendered by Google's
``dotpromptz`` it gives the same messages as workbench; a template it cannot say exactly is
skipped with the reason in ``eval.json``; the manifest covers the file."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from fakes import current_fake

import workbench as wb
from workbench.artifact import ArtifactError, load_prompt
from workbench.artifact.diff import diff_versions
from workbench.artifact.dotprompt import Untranslatable, write_dotprompt
from workbench.artifact.prompty import PromptFile
from workbench.checking import run_check
from workbench.engine.progress import NullProgress
from workbench.prompts.render import render_template
from workbench.providers.fake import last_user_text
from workbench.run_results import Results

DATA = (
    "question,expected,tone\n"
    "What is the capital of France?,Paris,briefly\n"
    "What is the capital of Spain?,Madrid,\n"
    "What is the capital of Italy?,Rome,kindly\n"
)
ANSWERS = {"France": "Paris", "Spain": "Madrid", "Italy": "Rome"}
FEW_SHOT = [
    {"role": "user", "content": "What is the capital of Peru?"},
    {"role": "assistant", "content": "Lima"},
]


def variants(**changes: Any) -> list[wb.Variant]:
    """``terse`` on fake/echo and ``friendly`` (with ``changes``) on fake/good."""
    terse = wb.Variant(
        "terse",
        model="fake/echo",
        system="Answer in one word{% if tone %}, {{ tone }}{% endif %}.",
        messages=FEW_SHOT,
        user="Question: {{ question }}",
        params={"temperature": 0.2, "max_tokens": 32, "top_p": 0.9, "stop": ["\n"], "seed": 7},
    )
    return [terse, terse.replace(name="friendly", model="fake/good", **changes)]


def run(tmp_path: Path, **changes: Any) -> Results:
    current_fake().script(
        "good",
        lambda req: next((c for k, c in ANSWERS.items() if k in last_user_text(req)), "?"),
    )
    (tmp_path / "q.csv").write_text(DATA, encoding="utf-8")
    exp = wb.Experiment(
        "capitals",
        dataset="q.csv",
        variants=variants(**changes),
        scorers=[wb.scorers.contains("{{ expected }}")],
    )
    return exp.run(progress=NullProgress())


def dotprompt_messages(text: str, inputs: Mapping[str, Any]) -> list[dict[str, str]]:
    """Render a .prompt file with Google's dotpromptz, as workbench-style messages."""
    dotpromptz = pytest.importorskip("dotpromptz")
    data = dotpromptz.DataArgument(input=dict(inputs))
    rendered = asyncio.run(dotpromptz.Dotprompt().render(text, data))
    roles = {"model": "assistant"}
    return [
        {
            "role": roles.get(m.role.value, m.role.value),
            "content": "".join(p.text for p in m.content),
        }
        for m in rendered.messages
    ]


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


# -- an exported prompt ----------------------------------------------------------------------


def test_dotprompt_renders_the_same_messages_as_the_variant(tmp_path: Path) -> None:
    res = run(tmp_path)
    p = res.export("friendly", name="capital-answerer", to="prompts")
    assert "dotprompt" not in p.eval
    text = (p.path / "prompt.prompt").read_text(encoding="utf-8")
    variant = variants()[1]
    for row in wb.Dataset.from_file("q.csv").rows:
        ours = [dict(m) for m in variant.render(row)]
        assert dotprompt_messages(text, row) == ours == p.messages(**row)
        assert [m["role"] for m in ours] == ["system", "user", "assistant", "user"]
    assert dotprompt_messages(text, {"tone": "", "question": "Q?"})[0] == {
        "role": "system",
        "content": "Answer in one word.",
    }


def test_front_matter_has_model_config_and_input_schema(tmp_path: Path) -> None:
    dotpromptz = pytest.importorskip("dotpromptz")
    p = run(tmp_path).export("friendly", name="capital-answerer", to="prompts")
    text = (p.path / "prompt.prompt").read_text(encoding="utf-8")
    parsed = dotpromptz.Dotprompt().parse(text)
    assert parsed.name == "capital-answerer"
    assert parsed.model == "fake/good"  # our provider/model id, verbatim
    assert parsed.config == {
        "maxOutputTokens": 32,
        "seed": 7,
        "stopSequences": ["\n"],
        "temperature": 0.2,
        "topP": 0.9,
    }
    assert parsed.input.schema == {"question": "string", "tone": "string"}
    assert '{{role "system"~}}\nAnswer in one word{{#if tone}}, {{{tone}}}{{/if}}.\n' in text
    assert text.endswith('{{~role "user"~}}\nQuestion: {{{question}}}\n')


def test_round_trip_stays_byte_identical_and_the_manifest_covers_the_file(tmp_path: Path) -> None:
    first = run(tmp_path).export("friendly", name="x", to="prompts")
    again = load_prompt("prompts/x").export("elsewhere")
    assert "prompt.prompt" in files_of(again)
    assert files_of(again) == files_of(first.path)
    manifest = json.loads((first.path / "MANIFEST.json").read_text())
    assert sorted(manifest["files"]) == [
        "eval.json",
        "evidence.jsonl",
        "prompt.prompt",
        "prompt.prompty",
    ]


def test_an_edited_dotprompt_file_is_refused(tmp_path: Path) -> None:
    p = run(tmp_path).export("friendly", name="x", to="prompts")
    path = p.path / "prompt.prompt"
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match=r"prompt\.prompt does not match its sha256"):
        load_prompt("prompts/x")
    path.unlink()
    with pytest.raises(ArtifactError, match=r"prompt\.prompt is missing"):
        load_prompt("prompts/x")


def test_handlebars_syntax_in_the_prompt_is_escaped(tmp_path: Path) -> None:
    system = (
        'Reply as JSON: {% raw %}{{ {"city": ...} }}, not {{#each x}}{{/each}} or '
        "{{!-- a note --}}{% endraw %}, for {{ tone }}; paths like C:\\{{ tone }}."
    )
    res = run(tmp_path, system=system)
    p = res.export("friendly", name="x", to="prompts")
    text = (p.path / "prompt.prompt").read_text(encoding="utf-8")
    assert '\\{{ {"city": ...} }}, not \\{{#each x}}\\{{/each}} or \\{{!-- a note --}}' in text
    row = {"question": "Q?", "tone": "kindly"}
    content = dotprompt_messages(text, row)[0]["content"]
    assert content == p.messages(**row)[0]["content"]
    assert content.startswith('Reply as JSON: {{ {"city": ...} }}, not {{#each x}}')
    assert content.endswith("paths like C:\\kindly.")


# -- a template Handlebars cannot say exactly ------------------------------------------------


def test_untranslatable_template_skips_the_file_and_records_why(tmp_path: Path) -> None:
    res = run(tmp_path)
    good = res.export("friendly", name="x", to="prompts")
    res2 = run(tmp_path, user="Question: {{ question | trim }}")
    p = res2.export("friendly", name="x", to="prompts")
    assert p.version == 2
    assert sorted(files_of(p.path)) == [
        "MANIFEST.json",
        "eval.json",
        "evidence.jsonl",
        "prompt.prompty",
    ]
    assert p.eval["dotprompt"] == "skipped: the user message 2 uses the filter 'trim'"
    assert p.eval["schema_version"] == 1
    loaded = load_prompt("prompts/x")
    assert loaded.files().keys() == {"eval.json", "evidence.jsonl", "prompt.prompty"}
    assert loaded.messages(question=" Q ", tone="")[-1]["content"] == "Question: Q"
    # Round trip: same bytes, reason included.
    assert files_of(loaded.export("elsewhere")) == files_of(p.path)
    # diff and check still read both kinds of version.
    assert "+Question: {{ question | trim }}" in diff_versions("prompts/x@1", "prompts/x@2")
    report = run_check("prompts/x@2")
    assert not report.regressed, report
    assert "dotprompt" not in good.eval


def test_a_version_that_becomes_translatable_drops_the_reason(tmp_path: Path) -> None:
    p = run(tmp_path, user="{{ question | trim }}").export("friendly", name="x", to="prompts")
    assert "dotprompt" in p.eval
    fixed = dataclasses.replace(p.prompt, messages=(("user", "{{ question }}"),))
    again = load_prompt(dataclasses.replace(p, prompt=fixed).export("elsewhere"))
    assert "dotprompt" not in again.eval
    assert (again.path / "prompt.prompt").is_file()


# -- templates, one by one -------------------------------------------------------------------


def prompt_of(*messages: tuple[str, str], **examples: Any) -> PromptFile:
    return PromptFile(name="t", model="local/smollm2", messages=messages, examples=examples)


ROW = {
    "q": "What is 2 + 2?",
    "flag": True,
    "empty": "",
    "n": 0,
    "missing": None,
    "obj": {"name": "Ada", "city": "London"},
    "role": "R",
    "null": "N",
    "each": "E",
    "undefined": "U",
    "html": "<b>&\"'</b>",
}


@pytest.mark.parametrize(
    "messages",
    [
        [("user", "{{ q }}")],
        [("system", "Be brief."), ("user", "Q: {{ q }}\nA:")],
        [("user", "{% if flag %}yes {{ q }}{% else %}no{% endif %}")],
        [
            (
                "user",
                "{% if empty %}a{% elif missing %}b{% elif n %}c{% else %}d {{ html }}{% endif %}.",
            )
        ],
        [("user", "{% if not empty %}none{% endif %}, {% if not flag %}x{% else %}y{% endif %}")],
        [("user", "Intro\nMaybe: {% if flag %}yes{% endif %}\n{% if missing %}-{% endif %}End")],
        [("user", "{{ obj.name }} lives in {{ obj.city }}")],
        [("user", "{{ role }} and {{ null }}, {{ each }}, {{ undefined }}: not helpers")],
        [("user", "{{ '{{' }} {{ q }} }} {{ '{' }}x{{ '}}}' }}")],
        [("user", "{% raw %}{{{{raw}}}} {{> partial}} \\ {{ }}{% endraw %}{{ q }}")],
        [("user", "one \\{{ q }}, two \\\\{{ q }}, three \\\\\\{{ q }}")],
        [("system", "  indented and trailing  "), ("assistant", "ok "), ("user", "{{ q }}")],
        [("system", "{{ q }}\n\n"), ("user", "\n{{ html }}")],
        [("user", "{# a comment #}{{ q }}{#- trimmed -#}  ")],
    ],
)
def test_translated_templates_render_exactly_as_jinja(messages: list[tuple[str, str]]) -> None:
    text = write_dotprompt(prompt_of(*messages))
    ours = [{"role": r, "content": render_template(s, ROW)} for r, s in messages]
    assert dotprompt_messages(text, ROW) == ours


@pytest.mark.parametrize(
    ("messages", "reason"),
    [
        ([("system", "{{ q | upper }}")], "the system message uses the filter 'upper'"),
        ([("user", "{{ q ~ '!' }}")], "the user message uses an expression (Concat)"),
        ([("user", "{{ n + 1 }}")], "an expression (Add)"),
        ([("user", "{% if q is string %}s{% endif %}")], "the test 'is string'"),
        ([("user", "{% for x in q %}{{ x }}{% endfor %}")], "a {% for %} loop"),
        ([("user", "{% set y = q %}{{ y }}")], "{% set %}"),
        ([("user", "{{ obj['name'] }}")], "a subscript"),
        ([("user", "{{ obj.items }}")], "the attribute '.items'"),
        ([("user", "{{ range(3) }}")], "an expression (Call)"),
        ([("user", "{{ self }}")], "'self', which is not a row value"),
        ([("user", "{{ this }}")], "the name 'this', which Handlebars reserves"),
        ([("user", "{% if flag %}\nyes\n{% endif %}")], "a {% if %} tag alone on its line"),
        ([("user", "a\n  {%- if flag %} x\n{% else %}\ny{% endif %}")], "{% else %} tag alone"),
        ([("user", "{ {{- q }}")], "a '{' right before"),
        ([("user", "{% raw %}\\{{{% endraw %}")], "a backslash before '{{'"),
        ([("user", "<<<dotprompt:role:system>>> {{ q }}")], "which Dotprompt reads as a marker"),
        ([("system", "s"), ("user", "{{ q }} ")], "the user message ends with whitespace"),
        ([("system", "{# nothing #}"), ("user", "{{ q }}")], "the system message is empty"),
        ([("developer", "d"), ("user", "u")], "Dotprompt has no 'developer' role"),
        ([("user", "a"), ("user", "{{ q | e }}")], "the user message 2 uses the filter 'e'"),
    ],
)
def test_untranslatable_templates_say_why(messages: list[tuple[str, str]], reason: str) -> None:
    with pytest.raises(Untranslatable) as info:
        write_dotprompt(prompt_of(*messages))
    assert reason in str(info.value)


def test_schema_types_come_from_the_examples() -> None:
    dotpromptz = pytest.importorskip("dotpromptz")
    prompt = prompt_of(
        ("user", "{{ q }} {{ n }} {% if flag %}{{ obj.name }}{% endif %}"),
        q="Q",
        n=3,
        flag=False,
        obj=None,
    )
    parsed = dotpromptz.Dotprompt().parse(write_dotprompt(prompt))
    assert parsed.input.schema == {"flag": "boolean", "n": "number", "obj": "any", "q": "string"}
    assert parsed.model == "local/smollm2" and parsed.config is None
