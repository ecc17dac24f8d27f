"""The scorer protocol: a scorer reads an output and its row and returns a Score.

Scorers are built by factories registered with :func:`scorer`, which records the factory's name
and arguments, so any scorer can be rebuilt from its spec (``{"name": ..., "args": {...}}``) —
in an experiment YAML, an exported record, or a CI check.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from workbench.errors import ScorerError, WorkbenchError
from workbench.functions import find_function
from workbench.prompts.render import template_variables
from workbench.prompts.tools import ToolConfig

__all__ = [
    "Planned",
    "PlannedCall",
    "Score",
    "ScoreContext",
    "Scorer",
    "add_cost",
    "build_scorer",
    "custom",
    "register_builder",
    "registered_scorers",
    "scorer",
]


@dataclass(frozen=True)
class Score:
    """One judgement of one output."""

    value: float | None
    """The raw measure (1.0/0.0 for checks, a similarity, a grade); None when not scored."""
    passed: bool | None
    """Pass/fail; None when the scorer could not judge (e.g. the call failed)."""
    reason: str = ""
    """Why, in words."""
    cost_usd: float | None = 0.0
    """What scoring itself cost (LLM judge calls); 0 for checks; None when a judge model has no
    price."""


@dataclass(frozen=True)
class ScoreContext:
    """What a scorer may know besides output and row: which cell it is, what was sent, the raw
    response; ``call`` makes model calls through the engine (judges); ``peer(variant)`` is the
    output another variant gave for the same row and repeat (pairwise judges); ``schema`` is the
    variant's structured-output schema."""

    variant: str = ""
    repeat: int = 0
    response: Any = None
    messages: tuple[Any, ...] = ()
    conversation: tuple[Any, ...] = ()
    """When the variant reads a history column: the conversation the output replies to (the
    row's turns and the final user message); empty otherwise."""
    call: Callable[..., Awaitable[Any]] | None = None
    peer: Callable[[str], str | None] | None = None
    tools: ToolConfig | None = None
    """The tools the request offered (None: no tools)."""
    trajectory: tuple[Any, ...] = ()
    """A tool loop's turns after the prompt (tool calls and their results); empty otherwise."""
    schema: Mapping[str, Any] | None = None
    """The JSON Schema the variant's ``response_format`` asked for (None: it asked for none);
    ``json_schema()`` without a schema checks against it."""

    @property
    def tool_calls(self) -> list[dict[str, Any]]:
        """The tools the model called (every step's, for a tool loop), normalized."""
        return list(getattr(self.response, "tool_calls", None) or [])


def add_cost(a: float | None, b: float | None) -> float | None:
    """Sum of two costs; unknown (None) when either is."""
    return None if a is None or b is None else a + b


ScoreFn = Callable[[str, Mapping[str, Any], ScoreContext], Score | Awaitable[Score]]


@dataclass(frozen=True)
class PlannedCall:
    """A model call a scorer will make for one output, known before the run (for estimates and
    budgets). ``unknown_outputs`` counts model outputs not yet known when planning, left out of
    ``messages``: each may add up to the graded variant's output tokens."""

    model: str
    messages: tuple[Any, ...]
    params: Mapping[str, Any]
    repeat: int = 0
    unknown_outputs: int = 0


Plan = Callable[[Mapping[str, Any], ScoreContext, "str | None"], list[PlannedCall]]
"""``plan(row, ctx, output)``: the calls a scorer makes for ``output`` (None: not known yet)."""


@dataclass(frozen=True)
class Planned:
    """A scoring function that also says which model calls it makes (LLM judges)."""

    fn: ScoreFn
    plan: Plan

    def __call__(self, output: str, row: Mapping[str, Any], ctx: ScoreContext) -> Any:
        return self.fn(output, row, ctx)


@dataclass(frozen=True)
class Scorer:
    """A named, rebuildable check. Call ``await scorer.score(output, row, ctx)``."""

    name: str
    spec: Mapping[str, Any]
    """``{"name": factory name, "args": {...}}`` — enough to rebuild it."""
    fn: ScoreFn = field(repr=False, compare=False)
    variables: frozenset[str] = frozenset()
    """Row values the scorer's templates read (checked against the dataset before a run)."""
    negate: bool = False
    models: tuple[str, ...] = ()
    """Models the scorer calls (LLM judges): checked for keys before a run starts."""
    plan: Plan | None = field(default=None, repr=False, compare=False)
    """The model calls it makes for one output, for estimates (see :class:`PlannedCall`)."""

    async def score(self, output: str, row: Mapping[str, Any], ctx: ScoreContext) -> Score:
        """Judge one output; exceptions become an unscored result with the reason."""
        try:
            result = self.fn(output, row, ctx)
            if inspect.isawaitable(result):
                result = await result
            score = _as_score(result)  # a wrong return type is a scorer bug too
        except Exception as exc:  # a scorer bug must not end the run
            return Score(None, None, f"scorer error: {type(exc).__name__}: {exc}")
        if self.negate and score.passed is not None:
            value = None if score.value is None else 1.0 - score.value
            return dataclasses.replace(
                score, value=value, passed=not score.passed, reason=f"not ({score.reason})"
            )
        return score

    def rename(self, name: str) -> Scorer:
        """The same scorer under another column name."""
        spec = {**self.spec, "args": {**self.spec.get("args", {}), "name": name}}
        return dataclasses.replace(self, name=name, spec=spec)


def _as_score(result: Any) -> Score:
    if isinstance(result, Score):
        return result
    if isinstance(result, bool):
        return Score(1.0 if result else 0.0, result, "")
    if isinstance(result, (int, float)):
        return Score(float(result), None, "")
    if isinstance(result, tuple) and len(result) in (2, 3):
        value, passed, *reason = result
        return Score(None if value is None else float(value), passed, reason[0] if reason else "")
    raise ScorerError(
        f"A scorer returned {type(result).__name__}; return a Score, a bool, a number, "
        f"or (value, passed, reason)."
    )


Factory = Callable[..., ScoreFn]
Builder = Callable[..., Scorer]
_REGISTRY: dict[str, Builder] = {}


def scorer(name: str, *, recorded_if_given: Collection[str] = ()) -> Callable[[Factory], Builder]:
    """Register a scorer factory under ``name``.

    The factory takes the scorer's arguments and returns ``fn(output, row, ctx) -> Score``.
    Every registered scorer also takes ``name=`` (its column name) and ``negate=``. The spec
    records every argument, defaults included, except those in ``recorded_if_given`` (arguments
    added after specs were exported): they are recorded only when passed, so older specs, and
    the records and cache keys built from them, stay the same.
    """

    registered_name = name

    def register(factory: Factory) -> Builder:
        signature = inspect.signature(factory)

        @functools.wraps(factory)
        def build(
            *args: Any, name: str | None = None, negate: bool = False, **kwargs: Any
        ) -> Scorer:
            if name is not None and not isinstance(name, str):
                raise ScorerError(f"Scorer '{registered_name}': name must be text, not {name!r}.")
            column = name or registered_name
            try:
                bound = signature.bind(*args, **kwargs)
            except TypeError as exc:
                raise ScorerError(
                    f"Scorer '{registered_name}': {exc}. Signature: {registered_name}{signature}"
                ) from exc
            given = set(bound.arguments)
            bound.apply_defaults()
            try:
                fn = factory(*bound.args, **bound.kwargs)
            except (TypeError, ValueError, AttributeError, LookupError, OverflowError) as exc:
                # Arguments of the wrong type (e.g. from YAML): the factory's own checks missed them.
                raise ScorerError(
                    f"Scorer '{registered_name}': unusable arguments ({type(exc).__name__}: "
                    f"{str(exc)[:200]}). Signature: {registered_name}{signature}"
                ) from exc
            variables: set[str] = set()
            for value in bound.arguments.values():
                for text in value if isinstance(value, (list, tuple)) else [value]:
                    if isinstance(text, str):
                        variables |= template_variables(text, f"scorer '{column}'")
                if isinstance(value, Mapping):  # e.g. tool_args' expected values
                    variables |= _nested_variables(value)
            args_spec = {
                k: v for k, v in bound.arguments.items() if k in given or k not in recorded_if_given
            }
            if negate:
                args_spec["negate"] = True
            if column != registered_name:
                args_spec["name"] = column
            spec = {"name": registered_name, "args": args_spec}
            model = bound.arguments.get("model")
            models = (model,) if isinstance(model, str) else ()
            plan = fn.plan if isinstance(fn, Planned) else None
            return Scorer(column, spec, fn, frozenset(variables), negate, models, plan)

        _REGISTRY[registered_name] = build
        return build

    return register


def _nested_variables(value: Any) -> set[str]:
    """Row values read by the templates inside a mapping (those that parse as templates)."""
    if isinstance(value, str):
        try:
            return set(template_variables(value))
        except WorkbenchError:
            return set()
    if isinstance(value, Mapping):
        return set().union(*(_nested_variables(v) for v in value.values()))
    if isinstance(value, (list, tuple)):
        return set().union(*(_nested_variables(v) for v in value))
    return set()


def register_builder(name: str, builder: Builder) -> Builder:
    """Register a scorer builder that makes its own Scorer (for wrappers such as ``not_``, whose
    spec nests another scorer's spec)."""
    _REGISTRY[name] = builder
    return builder


def registered_scorers() -> list[str]:
    """Names of every registered scorer."""
    return sorted(_REGISTRY)


def build_scorer(spec: str | Mapping[str, Any]) -> Scorer:
    """Rebuild a scorer from its spec: ``"contains"``, ``{"name": "contains", "args": {...}}``,
    or the YAML short form ``{"contains": "{{ expected }}"}`` / ``{"regex": {"pattern": ...}}``."""
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    if isinstance(spec, str):
        name = spec
    elif isinstance(spec, Mapping) and "name" in spec and set(spec) <= {"name", "args"}:
        name = str(spec["name"])
        kwargs = dict(spec.get("args") or {})
    elif isinstance(spec, Mapping) and len(spec) == 1:
        key, value = next(iter(spec.items()))
        name = str(key)
        if isinstance(value, Mapping):
            kwargs = dict(value)
        elif isinstance(value, list):
            args = list(value)
        elif value is not None:
            args = [value]
    else:
        raise ScorerError(
            f"Cannot read scorer spec {spec!r}: use a name ('contains'), "
            f"{{'contains': '{{{{ expected }}}}'}} or {{'name': 'regex', 'args': {{...}}}}."
        )
    if name == "custom":
        try:
            return _rebuild_custom(*args, **kwargs)
        except TypeError as exc:
            raise ScorerError(
                f"Scorer 'custom': {exc}. Spec: {{'custom': {{'function': 'module.name'}}}}."
            ) from exc
    if name not in _REGISTRY:
        raise ScorerError(
            f"Unknown scorer '{name}'. Known scorers: {', '.join(registered_scorers())}."
        )
    return _REGISTRY[name](*args, **kwargs)


def custom(fn: Callable[..., Any], name: str | None = None) -> Scorer:
    """Any function (sync or async) of ``(output, row)`` — or ``(output, row, ctx)`` — as a scorer.

    It may return a Score, a bool (pass/fail), a number (a value), or (value, passed, reason).
    Its spec names the function (``module.qualname``), so a module-level function rebuilds once
    its module is imported (``workbench check --import MODULE``); a lambda or a function defined
    inside another cannot be rebuilt.
    """
    params = len(inspect.signature(fn).parameters)
    column = str(name or getattr(fn, "__name__", "custom"))
    if column == "<lambda>":
        column = "custom"

    def call(output: str, row: Mapping[str, Any], ctx: ScoreContext) -> Any:
        return fn(output, row, ctx) if params >= 3 else fn(output, row)

    args = {"function": f"{fn.__module__}.{fn.__qualname__}"}
    if name is not None:
        args["name"] = column
    return Scorer(column, {"name": "custom", "args": args}, call)


def _rebuild_custom(function: str, name: str | None = None) -> Scorer:
    """A custom scorer from its spec: the function is looked up in modules already imported
    (never imported because a spec names it)."""
    where = f"custom scorer {function}"
    return custom(
        find_function(function, where, error=ScorerError, example="my_scorers"), name=name
    )
