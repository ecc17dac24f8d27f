"""Guards: checks that pass when something is absent — personal data, secrets, banned words."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from workbench.errors import ScorerError
from workbench.prompts.render import render_template
from workbench.scoring.base import Score, ScoreContext, ScoreFn, scorer

__all__ = ["PII_KINDS", "blocklist", "find_pii", "pii"]

PII_KINDS = ("email", "phone", "card", "key", "ssn", "iban")

# Digits may not touch other word characters, so hashes, UUIDs and ids like "A1234" stay quiet.
_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}(?![\w-])"
)
_CARD = re.compile(r"(?<![\w.,-])(?:\d[ -]?){12,18}\d(?![\w-]|[.,]\d)")
_SSN = re.compile(r"(?<![\w-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\w-])")
_IBAN = re.compile(
    r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![A-Za-z0-9])"
)
_PHONES = (
    # International: +<country code> and groups, 8–15 digits in all (E.164).
    re.compile(r"(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,5}\)?){1,6}(?![\w])"),
    # North American: (415) 555-2671, 415-555-2671, 415.555.2671, 1-415-555-2671.
    re.compile(
        r"(?<![\w+.-])(?:1[ .-])?(?:\([2-9]\d{2}\) ?|[2-9]\d{2}[ .-])\d{3}[ .-]\d{4}(?![\w]|[.-]\d)"
    ),
    # European national numbers with a trunk 0: 020 7946 0958, 06 12 34 56 78, 030-12345678.
    re.compile(
        r"(?<![\w+.,/-])0[1-9]\d{0,3}(?P<sep>[ -])\d{2,8}(?:(?P=sep)\d{2,8}){0,4}(?![\w]|[.,/-]\d)"
    ),
)
# Well-known secret formats only. Generic long random-looking tokens are NOT flagged: they are
# far more often hashes, UUIDs, ids or base64 data than secrets.
# Each with how many leading characters (the public prefix) may be shown.
_KEYS = (
    (7, re.compile(r"(?<![\w-])sk-ant-[A-Za-z0-9_-]{20,}")),  # Anthropic
    (3, re.compile(r"(?<![\w-])sk-(?!ant-)[A-Za-z0-9_-]{20,}")),  # OpenAI
    (4, re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![A-Za-z0-9])")),  # AWS
    (4, re.compile(r"(?<!\w)gh[pousr]_[A-Za-z0-9]{30,}")),  # GitHub
    (11, re.compile(r"(?<!\w)github_pat_[A-Za-z0-9_]{30,}")),
    (5, re.compile(r"(?<![\w-])xox[abprs]-[A-Za-z0-9-]{10,}")),  # Slack
    (4, re.compile(r"(?<![\w-])AIza[0-9A-Za-z_-]{35}")),  # Google
    (8, re.compile(r"(?<!\w)[sr]k_live_[0-9A-Za-z]{16,}")),  # Stripe
    (0, re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----")),  # PEM
)


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _luhn(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card_ok(text: str) -> bool:
    number = _digits(text)
    groups = re.split(r"[ -]", text)
    if len(groups) > 1 and any(len(g) < 4 for g in groups[:-1]):
        return False  # real cards print as 4-4-4-4 or 4-6-5, not 1 2 3 ...
    # Issuer prefixes (Visa 4, Mastercard 2/5, Amex/Diners/JCB 3, Discover/UnionPay/Maestro 6).
    return 13 <= len(number) <= 19 and number[0] in "23456" and _luhn(number)


def _iban_ok(text: str) -> bool:
    code = text.replace(" ", "")
    if not 15 <= len(code) <= 34:
        return False
    moved = code[4:] + code[:4]
    return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1


def _phone_ok(text: str) -> bool:
    n = len(_digits(text))
    if text.startswith("+"):
        return 8 <= n <= 15
    if text.startswith("0"):
        return 9 <= n <= 12
    return n in (10, 11)


def _mask_tail(text: str, keep: int) -> str:
    digits = _digits(text)
    return "*" * 4 + digits[-keep:]


def _mask_key(text: str, shown: int) -> str:
    return f"{text[:shown]}…[{len(text)} chars]" if shown else "PEM private key block"


def _always(text: str) -> bool:
    return True


def _mask_email(text: str) -> str:
    local, _, domain = text.partition("@")
    return f"{local[0]}***@{domain}"


_Finder = tuple[str, re.Pattern[str], Callable[[str], bool], Callable[[str], str]]


def _table() -> list[_Finder]:
    # Order matters: a span claimed by an earlier kind is not reported again as a later one.
    table: list[_Finder] = [
        ("key", pattern, _always, functools.partial(_mask_key, shown=shown))
        for shown, pattern in _KEYS
    ]
    table += [
        ("iban", _IBAN, _iban_ok, lambda t: t[:2] + "**…" + t[-2:]),
        ("card", _CARD, _card_ok, lambda t: _mask_tail(t, 4)),
        ("ssn", _SSN, _always, lambda t: "***-**-**" + t[-2:]),
        ("email", _EMAIL, _always, _mask_email),
    ]
    table += [("phone", p, _phone_ok, lambda t: _mask_tail(t, 2)) for p in _PHONES]
    return table


_TABLE = _table()


def find_pii(text: str, kinds: Iterable[str] = PII_KINDS) -> list[tuple[str, int, str]]:
    """``(kind, offset, masked value)`` of each piece of personal data or secret in ``text``."""
    found: list[tuple[str, int, str]] = []
    taken: list[tuple[int, int]] = []
    wanted = set(kinds)
    for kind, pattern, valid, mask in _TABLE:
        if kind not in wanted:
            continue
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(start < e and s < end for s, e in taken) or not valid(match.group(0)):
                continue
            taken.append((start, end))
            found.append((kind, start, mask(match.group(0))))
    return sorted(found, key=lambda f: f[1])


@scorer("pii")
def pii(kinds: list[str] | None = None) -> ScoreFn:
    """Passes when the output holds no personal data or secrets of the given kinds.

    - ``email``: addresses.
    - ``phone``: international (``+44 20 7946 0958``), North American (``(415) 555-2671``) and
      European national formats with a trunk 0 (``06 12 34 56 78``). Bare digit runs, years,
      prices and short numbers are not phones.
    - ``card``: 13–19 digit card numbers with an issuer prefix that pass the Luhn check.
    - ``key``: well-known secret formats — ``sk-…`` (OpenAI), ``sk-ant-…`` (Anthropic),
      ``AKIA…`` (AWS), ``ghp_…``/``github_pat_…`` (GitHub), ``xoxb-``/``xoxp-…`` (Slack),
      ``AIza…`` (Google), ``sk_live_…`` (Stripe), PEM private keys. Generic high-entropy tokens
      are deliberately not flagged: they are mostly hashes, UUIDs and ids (false positives).
    - ``ssn``: US social security numbers written ``123-45-6789`` (invalid ranges skipped).
    - ``iban``: IBANs with a valid mod-97 check digit.

    ``kinds`` defaults to all of :data:`PII_KINDS`. The reason lists each kind and offset with
    the value masked; a secret is never echoed whole.
    """
    chosen = (
        list(PII_KINDS) if kinds is None else [kinds] if isinstance(kinds, str) else list(kinds)
    )
    unknown = sorted(set(chosen) - set(PII_KINDS))
    if unknown or not chosen:
        raise ScorerError(
            f"Scorer 'pii': unknown kind(s) {unknown or chosen}; choose from {', '.join(PII_KINDS)}."
        )

    def check(output: str, row: Mapping[str, Any], ctx: ScoreContext) -> Score:
        found = find_pii(output, chosen)
        if not found:
            return Score(1.0, True, f"no PII found ({', '.join(chosen)})")
        shown = ", ".join(f"{kind} at {at} ({masked})" for kind, at, masked in found[:5])
        more = f" and {len(found) - 5} more" if len(found) > 5 else ""
        return Score(0.0, False, f"found {shown}{more}")

    return check


@scorer("blocklist")
def blocklist(
    words: list[str] | str, whole_words: bool = True, case_sensitive: bool = False
) -> ScoreFn:
    """Passes when none of ``words`` (templates over the row) appear in the output. With
    ``whole_words`` a word must not touch other letters or digits (``ass`` is not in ``class``);
    it may hold spaces or symbols (``"c++"``, ``"as an AI"``)."""
    for key, flag in (("whole_words", whole_words), ("case_sensitive", case_sensitive)):
        if not isinstance(flag, bool):
            raise ScorerError(
                f"Scorer 'blocklist': {key} must be true or false, not {flag!r}. In YAML write "
                f"blocklist: {{words: [a, b]}}: a bare list is read as the positional arguments."
            )
    items = [words] if isinstance(words, str) else list(words)
    if not items or not all(isinstance(w, str) for w in items):
        raise ScorerError("Scorer 'blocklist': give a non-empty list of words (strings).")
    flags = 0 if case_sensitive else re.IGNORECASE

    def check(output: str, row: Mapping[str, Any], ctx: ScoreContext) -> Score:
        hits: list[tuple[int, str]] = []
        for item in items:
            word = render_template(item, row, "scorer 'blocklist'").strip()
            if not word:
                continue
            body = re.escape(word)
            pattern = rf"(?<!\w){body}(?!\w)" if whole_words else body
            match = re.search(pattern, output, flags)
            if match:
                hits.append((match.start(), word))
        if not hits:
            return Score(1.0, True, f"none of {len(items)} blocked words found")
        hits.sort()
        shown = ", ".join(f"{w!r} at {at}" for at, w in hits[:5])
        more = f" and {len(hits) - 5} more" if len(hits) > 5 else ""
        return Score(0.0, False, f"found {shown}{more}")

    return check
