"""Scorers: the protocol, the registry, and the built-in checks.

Each scorer gets the output and the row and returns a :class:`Score` (value, passed, reason).
"""

from workbench.scoring.base import (
    Score,
    ScoreContext,
    Scorer,
    build_scorer,
    custom,
    registered_scorers,
    scorer,
)
from workbench.scoring.checks import contains, exact, regex
from workbench.scoring.choices import choice_judge
from workbench.scoring.combine import weighted, when
from workbench.scoring.guards import blocklist, pii
from workbench.scoring.judges import judge, pairwise
from workbench.scoring.reducers import Reducer, at_least, pass_at_k, pass_hat_k
from workbench.scoring.semantic import Embedder, register_embedder, similarity
from workbench.scoring.strings import ends_with, levenshtein, starts_with
from workbench.scoring.structured import (
    all_of,
    any_of,
    contains_json,
    json_schema,
    json_valid,
    length,
    not_,
    numeric,
)
from workbench.scoring.tools import (
    no_tool_call,
    tool_args,
    tool_args_valid,
    tool_called,
    tool_sequence,
)

__all__ = [
    "Embedder",
    "Reducer",
    "Score",
    "ScoreContext",
    "Scorer",
    "all_of",
    "any_of",
    "at_least",
    "blocklist",
    "build_scorer",
    "choice_judge",
    "contains",
    "contains_json",
    "custom",
    "ends_with",
    "exact",
    "json_schema",
    "json_valid",
    "judge",
    "length",
    "levenshtein",
    "no_tool_call",
    "not_",
    "numeric",
    "pairwise",
    "pass_at_k",
    "pass_hat_k",
    "pii",
    "regex",
    "register_embedder",
    "registered_scorers",
    "scorer",
    "similarity",
    "starts_with",
    "tool_args",
    "tool_args_valid",
    "tool_called",
    "tool_sequence",
    "weighted",
    "when",
]
