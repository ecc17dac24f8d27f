"""Token budget: where a rendered prompt's tokens go, against the context window.

::

    b = wb.budget(variant, row)       # segments, free tokens, overflow; b.table()
    truncate(variant, row, 2000, "drop_oldest_turns")   # what would be cut to fit
    dataset_budget(variant, ds)       # prompt sizes over every row, and the rows that overflow

Counts come from each model's provider (``Model.count_tokens``: exact where the model's
tokenizer is available, labelled estimates otherwise). Pure: no widgets, no calls (except
Anthropic's ``count_tokens`` API when a key is set).
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from workbench import figures
from workbench.config import Settings, get_settings
from workbench.errors import ConfigError
from workbench.models.resolved import resolve
from workbench.prompts.variant import Variant, units
from workbench.tokens.count import TokenCount
from workbench.tokens.reasoning import p95

__all__ = [
    "FIELD_MIN_TOKENS",
    "SEGMENT_COLOURS",
    "Budget",
    "DatasetBudget",
    "Segment",
    "Truncation",
    "budget",
    "dataset_budget",
    "truncate",
]

FIELD_MIN_TOKENS = 200
"""A row value with more tokens than this inside a message becomes its own ``field`` segment."""
Strategy = Literal["drop_oldest_turns", "trim_longest_field"]
_ERROR = "var(--jp-error-color1, #d62728)"
"""Overflow marks: the notebook theme's error colour."""
SEGMENT_COLOURS = {
    "inserted": "#9ecae9",
    "system": "#4c78a8",
    "example": "#f58518",
    "turn": "#eeca3b",
    "user": "#54a24b",
    "field": "#b279a2",
    "tools": "#72b7b2",
    "overhead": "#bab0ac",
    "reserved": "#8c8c8c",
    "free": "rgba(127, 127, 127, 0.22)",
}
"""The colour of each kind of budget segment, in the HTML bar and in ``charts.token_budget``
alike: mid tones that show on light and dark backgrounds (free space is a translucent grey)."""


@dataclass(frozen=True)
class Segment:
    """One part of the prompt and its tokens."""

    kind: str
    """system | inserted | example | turn | user | field | tools | overhead."""
    label: str
    """E.g. ``system``, ``example 1 (user)``, ``turn 2 (assistant)``, ``history 3 (user)`` (a turn
    of the row's conversation), ``field: document``."""
    tokens: int
    message: int | None = None
    """Index of the rendered message it belongs to (None: overhead, inserted text)."""
    parent: str | None = None
    """For a field: the label of the segment it sits in."""
    preview: str = ""


@dataclass(frozen=True)
class Budget:
    """A rendered prompt's tokens by segment, against the model's context window."""

    variant: str
    model: str
    segments: tuple[Segment, ...]
    prompt_tokens: int
    context_window: int | None
    reserved_output: int
    exact: bool
    method: str
    messages: tuple[dict[str, Any], ...] = field(repr=False, default=())
    reasoning_tokens: int | None = None
    """Reasoning tokens a call of this variant used, at the 95th percentile of the calls seen
    (``observed=``); None before any ran. Reserved within ``reserved_output``."""
    starves: bool = False
    """True when the reasoning seen alone fills the ``max_tokens`` the calls are sent with."""

    @property
    def free(self) -> int | None:
        """Tokens left after the prompt and the reserved output (negative: overflow)."""
        if self.context_window is None:
            return None
        return self.context_window - self.reserved_output - self.prompt_tokens

    @property
    def overflow(self) -> bool:
        """True when prompt + reserved output exceed the context window."""
        return self.free is not None and self.free < 0

    def table(self) -> pd.DataFrame:
        """One row per segment, then reserved output and free space."""
        rows = [
            {"segment": s.label, "kind": s.kind, "tokens": s.tokens, "in": s.parent or ""}
            for s in self.segments
        ]
        if self.reasoning_tokens:
            thought = min(self.reasoning_tokens, self.reserved_output)
            rows.append(
                {"segment": "reserved: reasoning (p95 seen)", "kind": "reserved", "tokens": thought}
            )
            answer = self.reserved_output - thought
            rows.append({"segment": "reserved: answer", "kind": "reserved", "tokens": answer})
        else:
            rows.append(
                {"segment": "reserved output", "kind": "reserved", "tokens": self.reserved_output}
            )
        if self.free is not None:
            rows.append({"segment": "free", "kind": "free", "tokens": self.free})
        df = pd.DataFrame(rows, columns=["segment", "kind", "tokens", "in"]).fillna("")
        window = self.context_window or (self.prompt_tokens + self.reserved_output)
        df["share"] = (df["tokens"] / max(1, window)).round(4)
        return df

    def summary(self) -> str:
        """One line: prompt, reserved, window, free, and how counts were made."""
        how = f"exact, {self.method}" if self.exact else self.method
        window = f"{self.context_window:,}" if self.context_window else "unknown"
        free = "unknown" if self.free is None else f"{self.free:,}"
        thought = (
            f" ({self.reasoning_tokens:,} of it reasoning, p95 seen)"
            if self.reasoning_tokens
            else ""
        )
        line = (
            f"{self.variant} on {self.model}: prompt {self.prompt_tokens:,} tokens ({how}) + "
            f"{self.reserved_output:,} reserved output{thought} of a {window}-token window; free "
            f"{free}"
        )
        if self.starves:
            line += " — REASONING ALONE FILLS max_tokens: replies come back empty; raise max_tokens"
        return line + (" — OVERFLOW" if self.overflow else "")

    def __repr__(self) -> str:
        return f"<Budget {self.summary()}>\n{self.table().to_string(index=False)}"

    def _repr_html_(self) -> str:
        window = self.context_window or (self.prompt_tokens + self.reserved_output)
        colour = SEGMENT_COLOURS
        parts = [(s.label, s.kind, s.tokens, colour.get(s.kind, "#999")) for s in self.segments]
        parts.append(("reserved output", "reserved", self.reserved_output, colour["reserved"]))
        bars = "".join(
            f'<div title="{html.escape(label)}: {n:,} tokens" style="width:'
            f"{100 * n / max(1, window, self.prompt_tokens + self.reserved_output):.3f}%;"
            f'background:{color};height:100%"></div>'
            for label, _, n, color in parts
            if n > 0
        )
        border = _ERROR if self.overflow else "#888"
        limit = ""
        if self.overflow and self.context_window:  # the bar spans the prompt: mark the window
            at = 100 * self.context_window / (self.prompt_tokens + self.reserved_output)
            limit = (
                f'<div title="context window" style="position:absolute;left:{at:.3f}%;top:-3px;'
                f'bottom:-3px;border-left:3px solid {_ERROR}"></div>'
            )
        bar = (
            f'<div style="position:relative;display:flex;width:100%;height:18px;'
            f'border:1px solid {border};background:{colour["free"]}">{bars}{limit}</div>'
        )
        warn = (
            f'<p style="color:{_ERROR}"><b>Overflow:</b> prompt + reserved output exceed the '
            "context window by "
            f"{-(self.free or 0):,} tokens.</p>"
            if self.overflow
            else ""
        )
        table = self.table().to_html(
            index=False, border=0, formatters={"tokens": figures.count, "share": figures.share}
        )
        return f"<p>{html.escape(self.summary())}</p>{bar}{warn}" + table


def reserved_output(variant: Variant, settings: Settings | None = None) -> int:
    """Output tokens reserved for ``variant``'s reply: its ``max_tokens``, else what its provider
    sends, else the model's max_output capped (the same number estimates and requests use)."""
    settings = settings or get_settings()
    return resolve(variant.model, settings).reserved_output(variant.request_params)


_KIND = {"history": "turn"}
"""Budget segment kinds by part origin: a conversation's turns show as turns."""


def _fields(row: Mapping[str, Any], content: str, count: TokenCount, i: int) -> list[Segment]:
    found: list[Segment] = []
    for name, value in row.items():
        text = value if isinstance(value, str) else None
        if not text or len(text) <= FIELD_MIN_TOKENS:
            continue
        at = content.find(text)
        if at < 0:
            continue
        n = count.span_tokens(i, at, at + len(text))
        if n > FIELD_MIN_TOKENS:
            found.append(Segment("field", f"field: {name}", n, i, preview=text[:80]))
    return found


def _seen(observed: Any, variant: str) -> tuple[int | None, int | None]:
    """(p95 reasoning tokens, p95 answer tokens) of ``variant``'s calls in ``observed`` (a run's
    Results, run table or DataFrame); (None, None) without one."""
    if observed is None:
        return None, None
    df = getattr(observed, "df", observed)
    if not isinstance(df, pd.DataFrame) or "reasoning_tokens" not in df:
        raise ConfigError("observed= takes the results of a run (res, res.table or res.df).")
    mine = df[(df["variant"] == variant) & df["error"].isna()]
    thought = pd.to_numeric(mine["reasoning_tokens"], errors="coerce")
    answers = pd.to_numeric(mine["output_tokens"], errors="coerce") - thought.fillna(0)
    if "starved" in mine:
        answers = answers[~mine["starved"].fillna(False).astype(bool)]
    return p95(thought.dropna()), p95(answers.dropna())


def _reserve(model: Any, variant: Variant, observed: Any) -> tuple[int, int | None, bool]:
    """(reserved output, p95 reasoning seen, whether reasoning alone fills what is sent): a
    variant without ``max_tokens`` reserves the reasoning and answers seen once calls ran."""
    params = variant.request_params
    sent = model.reserved_output(params)
    thought, answer = _seen(observed, variant.name)
    reserved = sent
    if thought and "max_tokens" not in params:
        reserved = max(sent, thought + (answer or 0))
    return reserved, thought, bool(thought and thought >= sent)


def budget(
    variant: Variant,
    row: Mapping[str, Any],
    *,
    settings: Settings | None = None,
    remote: bool | None = None,
    observed: Any = None,
) -> Budget:
    """The token budget of ``variant`` rendered over one dataset ``row``. ``observed`` (a run's
    results) adds the reasoning its calls used: the p95 is reserved (a variant without
    ``max_tokens`` reserves at least that plus the answers seen), and a ``max_tokens`` the
    reasoning alone fills is flagged."""
    settings = settings or get_settings()
    model = resolve(variant.model, settings)
    reserved, thought, starves = _reserve(model, variant, observed)
    messages = variant.render(row)
    count = model.count_tokens(messages, remote=remote)
    segments: list[Segment] = []
    if count.inserted:
        segments.append(
            Segment(
                "inserted",
                "system prompt inserted by the chat template",
                count.inserted,
                preview=count.inserted_text[:80],
            )
        )
    for i, part in enumerate(messages.parts):
        subs = _fields(row, part.content, count, i)
        own = count.per_message[i] - sum(s.tokens for s in subs)
        kind, label = _KIND.get(part.origin, part.origin), part.label
        segments.append(Segment(kind, label, own, i, preview=part.content[:80]))
        segments.extend(Segment(s.kind, s.label, s.tokens, i, label, s.preview) for s in subs)
    total, exact, method = count.total, count.exact, count.method
    tools = variant.tool_config
    if tools is not None:
        counted = model.count_tools(tools, remote=remote)
        label = f"tool definitions ({', '.join(tools.names)})"
        segments.append(Segment("tools", label, counted.total, preview=label[:80]))
        total += counted.total
        exact = exact and counted.exact
        method = f"{method}; tool definitions: {counted.method}"
    segments.append(Segment("overhead", "template overhead", count.overhead))
    return Budget(
        variant=variant.name,
        model=str(model),
        segments=tuple(segments),
        prompt_tokens=total,
        context_window=model.info.context_window,
        reserved_output=reserved,
        exact=exact,
        method=method,
        messages=tuple(dict(m) for m in messages),
        reasoning_tokens=thought,
        starves=starves,
    )


@dataclass(frozen=True)
class Truncation:
    """What a truncation strategy would cut to bring a prompt within ``target_tokens``."""

    strategy: str
    target_tokens: int
    before: Budget
    after: Budget
    cut: tuple[str, ...]
    """What was removed or trimmed, one line each."""
    row: dict[str, Any] = field(repr=False, default_factory=dict)
    """The row after trimming (``trim_longest_field``), or with the oldest turns of its
    conversation dropped (``drop_oldest_turns`` on a variant with ``history``)."""
    variant: Variant | None = field(repr=False, default=None)
    """The variant after dropping turns (``drop_oldest_turns``)."""

    @property
    def fits(self) -> bool:
        """True when the truncated prompt is within the target."""
        return self.after.prompt_tokens <= self.target_tokens

    def table(self) -> pd.DataFrame:
        """Segments before and after, with what changed."""
        after = {(s.label, s.message): s.tokens for s in self.after.segments}
        rows = [
            {"segment": s.label, "before": s.tokens, "after": after.get((s.label, s.message), 0)}
            for s in self.before.segments
        ]
        rows.append(
            {
                "segment": "prompt total",
                "before": self.before.prompt_tokens,
                "after": self.after.prompt_tokens,
            }
        )
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        state = "fits" if self.fits else "still over"
        cut = "; ".join(self.cut) or "nothing"
        return (
            f"<Truncation {self.strategy} to {self.target_tokens:,}: {self.before.prompt_tokens:,}"
            f" -> {self.after.prompt_tokens:,} tokens ({state}); cut: {cut}>"
        )

    def _repr_html_(self) -> str:
        return f"<p>{html.escape(repr(self)[1:-1])}</p>" + self.table().to_html(index=False)


def truncate(
    variant: Variant,
    row: Mapping[str, Any],
    target_tokens: int | None = None,
    strategy: Strategy = "drop_oldest_turns",
    *,
    settings: Settings | None = None,
) -> Truncation:
    """Preview a truncation: apply ``strategy`` until the prompt is within ``target_tokens``
    (default: the context window less the reserved output). Nothing is changed.

    ``drop_oldest_turns`` removes turns oldest first, a user turn with its reply: first those of
    the row's conversation (``history``; without a ``user`` template its last user turn stays),
    then the messages between system and user input (``messages``). ``trim_longest_field``
    shortens the row value with the most tokens, keeping its start.
    """
    settings = settings or get_settings()
    before = budget(variant, row, settings=settings)
    if target_tokens is None:
        if before.context_window is None:
            raise ConfigError(f"{before.model} has no known context window: pass target_tokens.")
        target_tokens = before.context_window - before.reserved_output
    if strategy == "drop_oldest_turns":
        return _drop_oldest(variant, row, target_tokens, before, settings)
    if strategy == "trim_longest_field":
        return _trim_longest(variant, row, target_tokens, before, settings)
    raise ConfigError(
        f"Unknown truncation strategy {strategy!r}: use 'drop_oldest_turns' or "
        f"'trim_longest_field'."
    )


def _drop_oldest(
    variant: Variant, row: Mapping[str, Any], target: int, before: Budget, settings: Settings
) -> Truncation:
    history = variant.history_turns(row)
    labels = {s.message: s.label for s in before.segments if s.kind != "field"}
    head = 1 if variant.system is not None else 0
    at = variant.history_at  # where the conversation's turns start
    tokens: dict[int, int] = {}
    for s in before.segments:
        if s.message is not None:
            tokens[s.message] = tokens.get(s.message, 0) + s.tokens
    # Oldest first: the conversation (keeping the user turn the model replies to), then messages.
    old_turns = units(history)[: None if variant.user is not None else -1]
    order = [(at, u) for u in old_turns] + [(head, u) for u in units(variant.messages)]
    current, cut, dropped = before, list[str](), set[int]()

    def shortened() -> tuple[Variant, dict[str, Any]]:
        kept = [m for i, m in enumerate(variant.messages) if head + i not in dropped]
        out = dict(row)
        if variant.history is not None:
            out[variant.history] = [dict(t) for i, t in enumerate(history) if at + i not in dropped]
        return variant.replace(messages=kept), out

    for start, unit in order:
        if current.prompt_tokens <= target:
            break
        dropped |= {start + i for i in unit}
        cut.extend(f"dropped {labels[start + i]} ({tokens[start + i]:,} tokens)" for i in unit)
        current = budget(*shortened(), settings=settings)
    index = [i for i in range(len(before.messages)) if i not in dropped]
    shorter, new_row = shortened()
    return Truncation(
        "drop_oldest_turns", target, before, _relabel(current, before, index), tuple(cut),
        new_row, shorter,
    )  # fmt: skip


def _relabel(after: Budget, before: Budget, index: list[int]) -> Budget:
    """Give the segments of a shortened prompt the labels they had before (numbering shifts)."""
    names = {s.message: s.label for s in before.segments if s.kind != "field"}
    segments = []
    for s in after.segments:
        if s.message is not None:
            orig = index[s.message]
            label, parent = (s.label, names[orig]) if s.kind == "field" else (names[orig], None)
            s = dataclasses.replace(s, label=label, message=orig, parent=parent)
        segments.append(s)
    return dataclasses.replace(after, segments=tuple(segments))


def _in_context(b: Budget, value: str, settings: Settings) -> int:
    """Tokens of a row value where it appears in the rendered prompt (0 if absent)."""
    count = resolve(b.model, settings).count_tokens(b.messages)
    spans = [(i, m["content"].find(value)) for i, m in enumerate(b.messages)] if value else []
    return sum(count.span_tokens(i, at, at + len(value)) for i, at in spans if at >= 0)


def _trim_longest(
    variant: Variant, row: Mapping[str, Any], target: int, before: Budget, settings: Settings
) -> Truncation:
    sizes = {k: _in_context(before, v, settings) for k, v in row.items() if isinstance(v, str)}
    if not any(sizes.values()) or before.prompt_tokens <= target:
        return Truncation("trim_longest_field", target, before, before, (), dict(row), variant)
    name = max(sizes, key=lambda k: sizes[k])
    text = str(row[name])

    def attempt(keep: int) -> Budget:
        return budget(variant, {**row, name: text[:keep]}, settings=settings)

    lo, hi = 0, len(text)  # largest prefix length that fits, by bisection
    best = attempt(0)
    if best.prompt_tokens <= target:
        while lo < hi:
            mid = (lo + hi + 1) // 2
            trial = attempt(mid)
            if trial.prompt_tokens <= target:
                lo, best = mid, trial
            else:
                hi = mid - 1
    kept = _in_context(best, text[:lo], settings)
    cut = (
        f"field: {name} trimmed from {sizes[name]:,} to {kept:,} tokens "
        f"({lo:,} of {len(text):,} characters kept)",
    )
    return Truncation(
        "trim_longest_field", target, before, best, cut, {**row, name: text[:lo]}, variant
    )


@dataclass(frozen=True)
class DatasetBudget:
    """Prompt sizes of one variant over every row of a dataset."""

    variant: str
    model: str
    df: pd.DataFrame
    """row_id, prompt_tokens, free, overflow."""
    context_window: int | None
    reserved_output: int
    exact: bool
    method: str

    @property
    def summary(self) -> dict[str, float]:
        """min / median / p95 / max prompt tokens."""
        s = self.df["prompt_tokens"]
        return {
            "min": float(s.min()),
            "median": float(s.median()),
            "p95": float(s.quantile(0.95)),
            "max": float(s.max()),
        }

    @property
    def overflowing(self) -> pd.DataFrame:
        """The rows whose prompt + reserved output exceed the context window."""
        return self.df[self.df["overflow"]].reset_index(drop=True)

    def __str__(self) -> str:
        s = self.summary
        how = f"exact, {self.method}" if self.exact else self.method
        return (
            f"{self.variant} on {self.model}: {len(self.df)} rows, prompt tokens min {s['min']:.0f}"
            f" / median {s['median']:.0f} / p95 {s['p95']:.0f} / max {s['max']:.0f} ({how}); "
            f"{len(self.overflowing)} row(s) overflow "
            f"(window {self.context_window or 'unknown'}, {self.reserved_output} reserved)"
        )

    def __repr__(self) -> str:
        return f"<DatasetBudget {self}>"

    def _repr_html_(self) -> str:
        over = self.overflowing
        body = over.to_html(index=False) if len(over) else "<p>No row overflows.</p>"
        return f"<p>{html.escape(str(self))}</p>{body}"


def _rows(dataset: Any) -> tuple[list[str], list[Mapping[str, Any]]]:
    """Row ids and rows as an experiment sees them: a DataFrame or a list of row dicts goes
    through :class:`Dataset`, so an ``id`` column names the rows."""
    from workbench.data.dataset import Dataset

    if hasattr(dataset, "row_ids") and hasattr(dataset, "rows"):
        return list(dataset.row_ids), list(dataset.rows)
    if not isinstance(dataset, pd.DataFrame):
        rows = list(dataset) if isinstance(dataset, Iterable) else []
        if not all(isinstance(r, Mapping) for r in rows):
            raise ConfigError("A dataset is a wb.Dataset, a DataFrame or a list of row dicts.")
        dataset = pd.DataFrame(rows)
    if dataset.empty:
        return [], []
    ds = Dataset(dataset)
    return list(ds.row_ids), list(ds.rows)


def dataset_budget(
    variant: Variant,
    dataset: Any,
    *,
    settings: Settings | None = None,
    remote: bool | None = False,
    observed: Any = None,
) -> DatasetBudget:
    """Prompt tokens of ``variant`` for every row of ``dataset`` (a Dataset, DataFrame or rows);
    ``observed`` reserves the reasoning seen, as in :func:`budget`."""
    settings = settings or get_settings()
    model = resolve(variant.model, settings)
    ids, rows = _rows(dataset)
    window = model.info.context_window
    reserved = _reserve(model, variant, observed)[0]
    counts = [
        model.count_tokens(variant.render(r, row_id=i), remote=remote)
        for i, r in zip(ids, rows, strict=True)
    ]
    tools = variant.tool_config
    extra = model.count_tools(tools, remote=remote) if tools is not None else None
    totals = [c.total + (extra.total if extra is not None else 0) for c in counts]
    free: Sequence[int | None] = [None if window is None else window - reserved - t for t in totals]
    df = pd.DataFrame(
        {
            "row_id": ids,
            "prompt_tokens": totals,
            "free": free,
            "overflow": [f is not None and f < 0 for f in free],
        }
    )
    return DatasetBudget(
        variant=variant.name,
        model=str(model),
        df=df,
        context_window=window,
        reserved_output=reserved,
        exact=all(c.exact for c in counts) and (extra is None or extra.exact),
        method=(counts[0].method if counts else "")
        + (f"; tool definitions: {extra.method}" if extra is not None else ""),
    )
