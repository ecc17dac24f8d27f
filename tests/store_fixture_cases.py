"""The experiments in the upgrade fixture ``tests/data/store-0.1.0.dev0.sqlite``.

``tests/scripts/make_store_fixture.py`` ran them with workbench 0.1.0.dev0 to build that store;
``tests/test_migrations.py`` rebuilds them from here and reruns them on an upgraded copy. Change
nothing here without rebuilding the fixture with that old version: the requests (and so their
cache keys) must stay exactly those of the store.
"""

from __future__ import annotations

import json

import pandas as pd

import workbench as wb
from workbench.providers.fake import FakeProvider

FIXTURE_VERSION = "0.1.0.dev0"

JUDGE_REPLY = "GRADE: PASS\nREASON: It answers the question."

LABELS = [
    # (experiment, row_id, variant, label, comment, repeat)
    ("capitals", "b", "tuned", "down", "should say Tokyo", None),
    ("capitals", "a", "plain", "up", "", 1),
    ("support", "t1", "reply", "up", "polite", None),
]
"""Human labels set with ``res.set_label`` after the runs."""


def script_fakes() -> FakeProvider:
    """What the fake models answer (the judge always passes; ``wrong`` misnames one city),
    handed to every run of this session."""
    fake = FakeProvider()
    fake.script("judge", JUDGE_REPLY)
    fake.script("wrong", {"What is the capital of Japan?": "Kyoto"})
    wb.configure(providers=[fake])
    return fake


def capitals() -> wb.Experiment:
    """Three variants (params, few-shot messages), a judge, two repeats."""
    ds = wb.Dataset(
        pd.DataFrame(
            {
                "id": ["a", "b", "c"],
                "q": [
                    "What is the capital of France?",
                    "What is the capital of Japan?",
                    "What is the capital of Italy?",
                ],
                "expected": ["France", "Japan", "Italy"],
            }
        )
    )
    plain = wb.Variant("plain", model="fake/echo", system="Answer briefly.", user="{{ q }}")
    tuned = wb.Variant(
        "tuned",
        model="fake/wrong",
        system="Answer in one word.",
        user="{{ q }}",
        params={"temperature": 0, "max_tokens": 16, "seed": 7},
    )
    fewshot = wb.Variant(
        "fewshot",
        model="fake/echo",
        system="Answer like the example.",
        messages=[
            {"role": "user", "content": "What is the capital of Spain?"},
            {"role": "assistant", "content": "Madrid."},
        ],
        user="{{ q }}",
        params={"temperature": 0.2},
    )
    scorers = [
        wb.scorers.contains("{{ expected }}"),
        wb.scorers.judge("Does it answer {{ q }}?", model="fake/judge"),
    ]
    return wb.Experiment("capitals", ds, [plain, tuned, fewshot], scorers, repeats=2)


def support() -> wb.Experiment:
    """A reply to each row's conversation (``history=``), with a judge."""
    chats = [
        [{"role": "user", "content": "My order is late."}],
        [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello! How can I help?"},
            {"role": "user", "content": "Where is my refund?"},
        ],
    ]
    ds = wb.Dataset(
        pd.DataFrame({"id": ["t1", "t2"], "conversation": [json.dumps(c) for c in chats]})
    )
    reply = wb.Variant(
        "reply",
        model="fake/echo",
        system="You are a support agent.",
        history="conversation",
        params={"max_tokens": 40},
    )
    scorers = [wb.scorers.judge("Is the reply polite?", model="fake/judge")]
    return wb.Experiment("support", ds, [reply], scorers)


def experiments() -> list[wb.Experiment]:
    """Every experiment of the fixture, in the order they were run."""
    return [capitals(), support()]
