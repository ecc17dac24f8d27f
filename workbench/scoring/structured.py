"""Checks on the shape of an output: one of several answers, JSON, numbers, length — and ``not_``.

Expected values are Jinja templates over the row, like the basic checks.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import math
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from workbench.errors import ScorerError
from workbench.prompts.render import render_template
from workbench.scoring.base import (
    Score,
    ScoreContext,
    ScoreFn,
    Scorer,
    build_scorer,
    register_builder,
    scorer,
)
from workbench.scoring.checks import require_flags
from workbench.tokens.estimate import estimate_text_tokens

__all__ = [
    "all_of",
    "any_of",
    "contains_json",
    "expected_options",
    "find_json",
    "json_schema",
    "json_valid",
    "length",
    "not_",
    "numeric",
    "parse_json_output",
    "parse_number",
]


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _fold(text: str, case_sensitive: bool) -> str:
    text = " ".join(text.split())
    return text if case_sensitive else text.casefold()


# -- several acceptable answers -------------------------------------------------------------


def expected_options(expected: list[str] | str, row: Mapping[str, Any], where: str) -> list[str]:
    """The acceptable answers: each item of a list is a template; a single template may render to
    a JSON list (``["a", "b"]``), a Python list literal (what ``{{ list_column }}`` renders), or a
    ``|``-separated string (``Paris|paris, France``)."""
    if not isinstance(expected, str):
        options = [render_template(str(item), row, where) for item in expected]
    else:
        text = render_template(expected, row, where).strip()
        parsed: Any = None
        if text.startswith("[") and text.endswith("]"):
            for parse in (json.loads, ast.literal_eval):
                try:
                    parsed = parse(text)
                    break
                except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                    continue
        if isinstance(parsed, list):
            options = ["" if item is None else str(item) for item in parsed]
        else:
            options = text.split("|")
    return [option.strip() for option in options if option.strip()]


_YAML_LIST_HINT = (
    "In YAML write {name}: {{expected: [a, b]}} or {name}: 'a|b': a bare list is read as the "
    "positional arguments."
)


def _check_flags(name: str, **flags: Any) -> None:
    require_flags(name, _YAML_LIST_HINT.format(name=name), **flags)


def _check_mode(mode: str, name: str) -> None:
    if mode not in ("contains", "exact"):
        raise ScorerError(
            f"Scorer '{name}': mode must be 'contains' or 'exact', not {mode!r}. "
            + _YAML_LIST_HINT.format(name=name)
        )


@scorer("any_of")
def any_of(
    expected: list[str] | str = "{{ expected }}",
    mode: Literal["contains", "exact"] = "contains",
    case_sensitive: bool = False,
) -> ScoreFn:
    """The output contains (or, with ``mode="exact"``, equals) at least one acceptable answer.

    ``expected`` is a list of templates, or one template rendering to a JSON list or a
    ``|``-separated string (use the list form when an answer itself contains ``|``). Whitespace
    runs are collapsed; case is ignored by default (``case_sensitive=True`` to match it). In YAML:
    ``any_of: {expected: [Paris, "paris, France"]}`` or ``any_of: "Paris|paris, France"``."""
    _check_mode(mode, "any_of")
    _check_flags("any_of", case_sensitive=case_sensitive)

    def check(output: str, row: Mapping[str, Any], ctx: ScoreContext) -> Score:
        options = expected_options(expected, row, "scorer 'any_of'")
        if not options:
            return Score(None, None, "no expected values")
        hay = _fold(output, case_sensitive)
        verb = "equals" if mode == "exact" else "contains"
        for option in options:
            needle = _fold(option, case_sensitive)
            if (hay == needle) if mode == "exact" else (needle in hay):
                return Score(1.0, True, f"{verb} {_short(option)!r} (1 of {len(options)} options)")
        shown = ", ".join(repr(_short(o, 30)) for o in options[:5])
        more = f" and {len(options) - 5} more" if len(options) > 5 else ""
        return Score(0.0, False, f"{verb} none of {shown}{more}")

    return check


@scorer("all_of")
def all_of(expected: list[str] | str = "{{ expected }}", case_sensitive: bool = False) -> ScoreFn:
    """The output contains every expected value (``expected`` read as in :func:`any_of`; case
    ignored by default, ``case_sensitive=True`` to match it). The value is the fraction found;
    it passes only when all are."""
    _check_flags("all_of", case_sensitive=case_sensitive)

    def check(output: str, row: Mapping[str, Any], ctx: ScoreContext) -> Score:
        options = expected_options(expected, row, "scorer 'all_of'")
        if not options:
            return Score(None, None, "no expected values")
        hay = _fold(output, case_sensitive)
        missing = [o for o in options if _fold(o, case_sensitive) not in hay]
        value = 1.0 - len(missing) / len(options)
        if not missing:
            return Score(value, True, f"contains all {len(options)}")
        shown = ", ".join(repr(_short(o, 30)) for o in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        found = len(options) - len(missing)
        return Score(value, False, f"missing {shown}{more} ({found} of {len(options)} found)")

    return check


# -- JSON ------------------------------------------------------------------------------------

_FENCE = re.compile(r"```[ \t]*(?:json|JSON|json5|jsonc)?[ \t]*\r?\n(.*?)\r?\n?[ \t]*```", re.S)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _loads(text: str) -> Any:
    return json.loads(text, parse_constant=_reject_constant)


def parse_json_output(output: str) -> tuple[Any, bool]:
    """Parse an output as JSON: the whole text, or else the first fenced block (```json ...```).

    Returns ``(value, fenced)``; raises ValueError saying why. NaN and Infinity are rejected."""
    text = output.strip()
    if not text:
        raise ValueError("output is empty")
    try:
        return _loads(text), False
    except ValueError as exc:  # JSONDecodeError is a ValueError
        error = exc
    match = _FENCE.search(output)
    if match:
        try:
            return _loads(match.group(1)), True
        except ValueError as exc:
            raise ValueError(f"{exc} (in the ```json fenced block)") from None
    raise ValueError(str(error)) from None


def _json_kind(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


@scorer("json_valid")
def json_valid() -> ScoreFn:
    """The output parses as JSON — the whole output, or a fenced ```json block inside it (the
    reason says when the fenced block was used). NaN/Infinity are not JSON and fail."""

    def check(output: str, row: Mapping[str, Any], ctx: ScoreContext) -> Score:
        try:
            value, fenced = parse_json_output(output)
        except ValueError as exc:
            return Score(0.0, False, f"invalid JSON: {_short(str(exc), 120)}")
        where = " in a ```json fenced block" if fenced else ""
        return Score(1.0, True, f"valid JSON ({_json_kind(value)}){where}")

    return check


def _load_schema(schema: Mapping[str, Any] | str) -> dict[str, Any]:
    if isinstance(schema, Mapping):
        return dict(schema)
    if not isinstance(schema, str):
        raise ScorerError(
            "Scorer 'json_schema': schema must be a dict, JSON text or a path to a .json file, "
            f"not {type(schema).__name__}."
        )
    text = schema.strip()
    source = "schema text"
    if not text.startswith(("{", "[")) and text not in ("true", "false"):
        path = Path(text).expanduser()
        if not path.is_file():
            raise ScorerError(
                f"Scorer 'json_schema': no schema file {str(path)!r} (give a dict, JSON text, "
                f"or the path of a .json file)."
            )
        text, source = path.read_text(encoding="utf-8"), f"schema file {str(path)!r}"
    try:
        loaded = json.loads(text)
    except ValueError as exc:
        raise ScorerError(f"Scorer 'json_schema': {source} is not valid JSON: {exc}.") from exc
    if isinstance(loaded, bool):  # true / false are valid (trivial) schemas
        return {} if loaded else {"not": {}}
    if not isinstance(loaded, dict):
        raise ScorerError(f"Scorer 'json_schema': {source} must be a JSON object.")
    return loaded


@scorer("json_schema")
def json_schema(schema: Mapping[str, Any] | str | None = None) -> ScoreFn:
    """The output is JSON (a fenced ```json block is accepted) valid against ``schema``
    (JSON Schema Draft 2020-12; ``format`` is an annotation, not checked). ``schema`` is a dict,
    JSON text, or the path of a .json file; an invalid schema fails when the scorer is built.
    Without one, each output is checked against its variant's ``response_format`` (a variant
    with none is left unscored). The reason names the most relevant failing path
    (``$.items[2].price``) and its error."""
    fixed = _validator(schema, "json_schema") if schema is not None else None
    by_variant: dict[str, Callable[[Any, str], Score]] = {}

    def check(output: str, row: Mapping[str, Any], ctx: ScoreContext) -> Score:
        validate = fixed
        if validate is None:
            if ctx.schema is None:
                return Score(
                    None,
                    None,
                    "no schema: the variant sets no response_format; pass json_schema(schema)",
                )
            key = json.dumps(ctx.schema, sort_keys=True)
            if key not in by_variant:
                by_variant[key] = _validator(ctx.schema, "json_schema")
            validate = by_variant[key]
        try:
            value, fenced = parse_json_output(output)
        except ValueError as exc:
            return Score(0.0, False, f"invalid JSON: {_short(str(exc), 120)}")
        return validate(value, " (from the ```json fenced block)" if fenced else "")

    return check


def _validator(schema: Mapping[str, Any] | str, name: str) -> Callable[[Any, str], Score]:
    """``validate(value, where)``: the Score of a parsed value against ``schema`` (checked now;
    an invalid schema raises naming the scorer)."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError, best_match

    loaded = _load_schema(schema)
    try:
        Draft202012Validator.check_schema(loaded)
    except SchemaError as exc:
        raise ScorerError(
            f"Scorer '{name}': invalid schema at {exc.json_path}: {exc.message}."
        ) from exc
    validator = Draft202012Validator(loaded)

    def validate(value: Any, where: str) -> Score:
        errors = list(validator.iter_errors(value))
        if not errors:
            return Score(1.0, True, f"matches the schema{where}")
        first = best_match(errors)
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        return Score(0.0, False, f"{first.json_path}: {_short(first.message, 120)}{more}{where}")

    return validate


def find_json(output: str) -> list[tuple[Any, int]]:
    """Every JSON object or array in ``output`` (outermost ones, in order) with where it starts."""
    decoder = json.JSONDecoder(parse_constant=_reject_constant)
    found: list[tuple[Any, int]] = []
    at = 0
    for match in re.finditer(r"[{\[]", output):
        if match.start() < at:
            continue  # inside a value already found
        try:
            value, at = decoder.raw_decode(output, match.start())
        except ValueError:
            continue
        found.append((value, match.start()))
    return found


@scorer("contains_json")
def contains_json(schema: Mapping[str, Any] | str | None = None) -> ScoreFn:
    """The output holds a JSON object or array somewhere (after a sentence, inside a fenced
    block...); with ``schema`` (as in :func:`json_schema`), one of them must be valid against
    it."""
    validate = _validator(schema, "contains_json") if schema is not None else None

    def check(output: str, row: Mapping[str, Any], ctx: ScoreContext) -> Score:
        found = find_json(output)
        if not found:
            return Score(0.0, False, "no JSON object or array in the output")
        if validate is None:
            value, at = found[0]
            return Score(1.0, True, f"contains JSON ({_json_kind(value)}) at character {at}")
        scores = [validate(value, f" (JSON at character {at})") for value, at in found]
        return next((score for score in scores if score.passed), scores[0])

    return check


# -- numbers ---------------------------------------------------------------------------------

_NUMBER = re.compile(
    r"(?:(?<![\w.])(?P<sign>[-+−]))?(?:[$€£¥₹₩₽¢]\s?(?P<sign2>[-+−])?)?"
    r"(?P<num>(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)"
    r"(?P<exp>[eE][-+]?\d+)?(?!\d)"
)


def parse_number(text: str) -> tuple[float, str] | None:
    """The first number in ``text`` and the text it was read from, or None.

    Currency symbols, units, ``%`` and thousands commas (in groups of three) are ignored:
    ``"$1,234.50 USD"`` → 1234.5, ``"-3.2e-4 m"`` → -0.00032, ``"45%"`` → 45.
    A decimal comma (``3,14``) is not understood: it reads as 3."""
    match = _NUMBER.search(text)
    if not match:
        return None
    digits = match["num"].replace(",", "") + (match["exp"] or "")
    value = float(digits)
    if not math.isfinite(value):  # 1e400
        return None
    if (match["sign"] or match["sign2"] or "+") in "-−":
        value = -value
    return value, match.group(0).strip()


def _fmt(x: float) -> str:
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else repr(x)


@scorer("numeric")
def numeric(
    expected: str | float = "{{ expected }}", tolerance: float = 0.0, relative: bool = False
) -> ScoreFn:
    """The first number in the output equals ``expected`` (a template, read the same way) within
    ``tolerance`` — absolute, or a fraction of ``expected`` when ``relative``. Currency symbols,
    units, ``%`` and thousands commas are ignored (see :func:`parse_number`)."""
    if not isinstance(tolerance, (int, float)) or tolerance < 0 or math.isnan(tolerance):
        raise ScorerError(f"Scorer 'numeric': tolerance must be a number >= 0, not {tolerance!r}.")

    def check(output: str, row: Mapping[str, Any], ctx: ScoreContext) -> Score:
        want_text = (
            render_template(expected, row, "scorer 'numeric'")
            if isinstance(expected, str)
            else str(expected)
        )
        want = parse_number(want_text)
        if want is None:
            return Score(None, None, f"expected value {_short(want_text)!r} is not a number")
        got = parse_number(output)
        if got is None:
            return Score(0.0, False, "no number in the output")
        value, seen = got
        limit = tolerance * abs(want[0]) if relative else float(tolerance)
        diff = abs(value - want[0])
        ok = diff <= limit or math.isclose(diff, limit, rel_tol=1e-9)
        bound = f" ± {tolerance:g}{' (relative)' if relative else ''}" if tolerance else ""
        return Score(
            1.0 if ok else 0.0,
            ok,
            f"parsed {_fmt(value)} from {_short(seen, 40)!r}; expected {_fmt(want[0])}{bound}",
        )

    return check


# -- length ----------------------------------------------------------------------------------

_UNITS = ("chars", "words", "tokens")


@scorer("length")
def length(
    min: int | None = None,
    max: int | None = None,
    unit: Literal["chars", "words", "tokens"] = "chars",
) -> ScoreFn:
    """The output's length is within ``[min, max]`` (either may be omitted) in characters,
    whitespace-separated words, or tokens — an estimate (~4 characters a token, see
    :func:`workbench.tokens.estimate_text_tokens`), not the model's tokenizer."""
    if unit not in _UNITS:
        raise ScorerError(
            f"Scorer 'length': unit must be one of {', '.join(_UNITS)}, not {unit!r}."
        )
    if min is None and max is None:
        raise ScorerError("Scorer 'length': give min=, max= or both.")
    if any(not isinstance(b, int) or isinstance(b, bool) for b in (min, max) if b is not None):
        raise ScorerError(
            f"Scorer 'length': min and max must be whole numbers, not {min!r}, {max!r}."
        )
    if min is not None and max is not None and min > max:
        raise ScorerError(f"Scorer 'length': min ({min}) is greater than max ({max}).")

    def check(output: str, row: Mapping[str, Any], ctx: ScoreContext) -> Score:
        if unit == "chars":
            n, what = len(output), f"{len(output)} chars"
        elif unit == "words":
            n = len(output.split())
            what = f"{n} words"
        else:
            n = estimate_text_tokens(output)
            what = f"~{n} tokens (estimated)"
        if min is not None and n < min:
            return Score(0.0, False, f"{what}, below min {min}")
        if max is not None and n > max:
            return Score(0.0, False, f"{what}, above max {max}")
        bounds = f"{'' if min is None else min}..{'' if max is None else max}"
        return Score(1.0, True, f"{what}, within {bounds}")

    return check


# -- negation of any scorer ------------------------------------------------------------------


def not_(
    scorer: Scorer | Mapping[str, Any] | str | None = None,
    *,
    name: str | None = None,
    negate: bool = False,
    **short: Any,
) -> Scorer:
    """The opposite of any scorer — built-in, registered or custom: passes when it fails.

    The value becomes ``1 - value`` and unscored results stay unscored. ``scorer`` is a Scorer or
    a spec; the spec nests the inner one, ``{"name": "not_", "args": {"scorer": <inner spec>}}``,
    so :func:`build_scorer` rebuilds both (a custom inner scorer when its module is imported).
    YAML may also say ``not_: {contains: "sorry"}``. The column is ``not_<inner name>``."""
    if scorer is None and len(short) == 1:
        scorer, short = dict(short), {}
    if short or scorer is None:
        raise ScorerError(
            "Scorer 'not_': give one scorer, e.g. not_(contains('sorry')) or "
            "{'name': 'not_', 'args': {'scorer': {'contains': 'sorry'}}}"
            + (f"; unexpected arguments {sorted(short)}" if short else "")
            + "."
        )
    inner = scorer if isinstance(scorer, Scorer) else build_scorer(scorer)
    default = f"not_{inner.name}"
    column = name or default
    args: dict[str, Any] = {"scorer": {**inner.spec, "args": dict(inner.spec.get("args") or {})}}
    if negate:
        args["negate"] = True
    if column != default:
        args["name"] = column

    async def check(output: str, row: Mapping[str, Any], ctx: ScoreContext) -> Score:
        return await inner.score(output, row, ctx)

    # Scorer.score flips pass and value and leaves an unscored inner result alone. The other
    # fields keep what the inner scorer declares (template variables, judge models).
    fields = {f.name: getattr(inner, f.name) for f in dataclasses.fields(Scorer) if f.init}
    fields.update(name=column, spec={"name": "not_", "args": args}, fn=check, negate=not negate)
    return Scorer(**fields)


register_builder("not_", not_)  # rebuilds nested specs; a plain @scorer would not nest them
