"""A phone candidate judged: its neighbours, its validity, then the words before it and what
follows it. phones.py finds the candidates (and splits runs of several); this decides each.

Number-dense text (contact blocks, address-book exports, long chat lines) holds a few
candidates per line, most of them numbers, so every step a number passes is counted: the
validity verdicts are memoised per number (phone_validation), and what the 32 characters before
a number say (a phone word, an identifier's name, a field label, a currency) is one memoised
function of that window (`window_words`), not four scans of it.
"""

from __future__ import annotations

import functools
import re
from typing import cast

from pii.patterns import context, phone_context
from pii.patterns import phone_shapes as shapes
from pii.patterns import phone_validation as validation

NANP = re.compile(r"(?:\+?1[ .-]?)?(?:\(\d{3}\)[ \u00a0]?|\d{3}[ .-])\d{3}[ .-]\d{4}")
GROUPS = shapes.GROUPS
CURRENCY_MARKS = frozenset("$€£¥₹₽₩₺¢")
CURRENCY_CODES = ("usd", "eur", "gbp", "pln", "chf", "jpy", "cny", "rub", "zł")  # context.CURRENCY_BEFORE
CLEAR = context.CLEAR
LABEL_END = frozenset(":-–")  # phone_context.label_before needs the window to end with one
NO_UNIT = frozenset(",.;:)!?\n|\"'(-/<>]")
UNIT_AFTER = re.compile(context.CURRENCY_AFTER.pattern.lstrip("^"), re.I)
# The gate before UNIT_AFTER (~1 µs a call): the characters its first letter can be, `re.I`'s
# case folding included (U+212A the Kelvin sign, "ſ" the long s; test_prefilter derives them).
UNIT_FIRST = frozenset("$%CDEGJKMPRSTUYZcdegjkmprstuyz£¥ſРр‰₩€₹₺₽元円\u212a")
SPACES = frozenset(" \u00a0\t")
PUNCT = frozenset(".,:")  # right_ok refuses these only before a digit
# What a currency code or mark before the number can end with (the window is lower-cased;
# "usd." as written): a window ending otherwise needs no CURRENCY_BEFORE search.
MONEY_LAST = CURRENCY_MARKS | {code[-1] for code in CURRENCY_CODES} | {"."}
_VALIDITY = validation._MEMO  # read first: a number seen before costs one dict lookup


def judge(
    text: str,
    s: int,
    e: int,
    raw: str,
    pure: tuple[str, bool, bool],
    budget: validation.Budget,
    strict: bool = False,
    glued_ok: bool = False,
    labelled: bool = False,
) -> float:
    """The score of the candidate raw = text[s:e] as a phone number (0.0: none); `pure` is its
    phone_shapes.pure_of."""
    digits, plus, formatted = pure
    c = text[e : e + 1]
    # context.right_ok, its common cases first: a clear neighbour, or ".,:" not before a digit.
    if not (
        glued_ok
        or c in CLEAR
        or (c in PUNCT and not text[e + 1 : e + 2].isdigit())
        or context.right_ok(text, e)
    ):
        return 0.0
    if s and not (text[s - 1] in CLEAR or raw[0] in "+(" or context.left_ok(text, s)):
        if not phone_context.label_glued_before(text, s):
            return 0.0
        labelled = True  # "Office-071 233 5510", "Fax-4412983305": the label, glued by a dash
    if raw[0] == "(" and s and text[s - 1].isalnum():
        return 0.0
    # Validity first (memoised), context only for what could be a number.
    if plus or (digits.startswith("00") and len(digits) >= 10 and not digits.startswith("000")):
        score = _international(text, s, e, raw, digits, plus, budget, strict, labelled)
        if not score:
            return 0.0
    elif _VALIDITY.get(("national", digits)) or validation.memo(
        "national", digits, validation.national, budget
    ):
        score = 0.85
    elif not strict and len(digits) in (10, 11) and (NANP.fullmatch(raw) or not formatted):
        score = 0.7  # "(555) 123-4567", or ten digits right after "call me at"
    elif not strict and len(digits) <= 12 and _local(text, s, raw, budget, labelled):
        score = 0.75  # "Phone: 512 3381", "ring me on 8813 2240", "62-18-40-77 (Fax)"
    else:
        return 0.0
    phone_at, at, word, label, money, width = number_window(text[s - 32 if s > 32 else 0 : s])
    if labelled or label:
        phone_at = width  # "…-Office", "M: …": the label is the closest context
    if not (plus or formatted) and (phone_at < 0 or len(digits) > 12):
        return 0.0  # a bare digit run is a phone number only when someone says so
    if at > phone_at and not (word in context.GENERIC and phone_at >= 0):
        return 0.0  # phone_context.id_before: "licence number …"
    if money or (c and c not in NO_UNIT and _unit_after(text, e)):
        return 0.0  # "$ 1 234 567", "1 234 567 kg"
    if not plus and not labelled and text[e : e + 1] == " " and phone_context.street_after(text, e):
        return 0.0  # "the depot is at 12045 3310 Oak St": a house number
    return score + 0.05 if phone_at >= 0 else score  # scores are at most 0.95


@functools.lru_cache(maxsize=4096)
def number_window(raw: str) -> tuple[int, int, str, bool, bool, int]:
    """window_words of the 32 characters before a number as written (context.before(text, s,
    32): cut at the last line break, lower-cased), and that window's length. Keyed on the
    characters as written, so a window seen before costs one lookup instead of a cut, a
    lower-casing and a lookup: dense text puts its numbers after the same few labels."""
    nl = raw.rfind("\n")
    window = (raw[nl + 1 :] if nl >= 0 else raw).lower()
    return (*window_words(window), len(window))


@functools.lru_cache(maxsize=4096)
def window_words(window: str) -> tuple[int, int, str, bool, bool]:
    """What the (lower-cased, one-line) window before a number says: (end of the last phone
    cue, end of the last identifier word, that word, a field label ends it, a currency ends it).
    A function of the window alone, memoised like the keyword scans it replaces
    (phone_context.words_before, label_before and the currency search)."""
    cue, at, word = phone_context.words_before.__wrapped__(window)
    label = window.rstrip(" \u00a0")[-1:] in LABEL_END and phone_context.label_before(window) >= 0
    tail = window[-12:].rstrip()
    money = bool(tail) and tail[-1] in MONEY_LAST
    if money:
        money = (tail[-1] in CURRENCY_MARKS or tail.rstrip(".").endswith(CURRENCY_CODES)) and bool(
            context.CURRENCY_BEFORE.search(tail)
        )
    return cue, at, word, label, money


def _unit_after(text: str, e: int) -> bool:
    """A unit right after the number ("12 345 678 kg", "1 234 567 USD"), searched only when the
    first character after the spaces could start one."""
    c = text[e : e + 1]
    if c in SPACES:
        j, n = e + 1, len(text)
        while j < n and text[j] in SPACES:
            j += 1
        c = text[j : j + 1]
    if not c or c in NO_UNIT or not (c in UNIT_FIRST or c.isspace()):
        return False
    return UNIT_AFTER.match(text, e, e + 12) is not None


def _international(
    text: str,
    s: int,
    e: int,
    raw: str,
    digits: str,
    plus: bool,
    budget: validation.Budget,
    strict: bool,
    labelled: bool,
) -> float:
    """The score of a number with a country code ("+44 …", "0044 …"): valid, or possible
    where someone says it is a phone (or it ends a contact line as E.164 writes it)."""
    bare = raw.lstrip("(")
    e164 = bare if plus else "+" + (bare[2:] if bare.startswith("00") else digits[2:])
    known = _VALIDITY.get(("intl", e164))
    score = (
        cast(float, known)
        if known is not None
        else validation.memo("intl", e164, validation.international, budget)
    )
    if score is None:
        return 0.0
    if not score and validation.memo("possible", "+" + digits, validation.possible, budget):
        if text[max(0, s - 4) : s].lower() == "tel:":
            score = 0.9  # Slack's <tel:+15551234567> markup says what it is
        elif not strict and (
            labelled or context.last_match_end(phone_context.PHONE_CUES, context.before(text, s, 32)) >= 0
        ):
            score = 0.7  # "+441632960423" after "my number": possible, and someone says so
        elif not strict and plus and len(digits) >= 10 and len(set(digits)) >= 4 and _ends_item(text, e):
            # "+447911123456" as E.164 writes it, ending a contact line or list item: a "+",
            # a country, its length ("+15000000000 views" goes on as a sentence: refused).
            score = 0.6
    if strict and score < 0.9:
        return 0.0
    return score


def _ends_item(text: str, e: int) -> bool:
    """Nothing or a list's punctuation follows: end of text or line, "," ";" ")" "|" or "."
    closing the sentence, or a capitalised next item ("… +447911123456 Jan Kowalski")."""
    rest = text[e : e + 3].lstrip(" \u00a0\t")
    return (
        not rest
        or rest[0] in "\n,;)|]>\"'"
        or rest[0] == "."
        and not rest[1:2].isdigit()
        or rest[0].isupper()
    )


def _local(text: str, s: int, raw: str, budget: validation.Budget, labelled: bool) -> bool:
    """A number without country or area code: possible only, so a label or verb must say it
    is a phone, its digits be grouped as people group numbers, and phonenumbers' matcher read
    it as a possible number of a region the context suggests."""
    gap, word = phone_context.cue_before(text, s)
    if gap < 0 and not labelled:
        return False
    if not _grouped(raw):
        return False
    known = _POSSIBLE.get(raw)  # possible_here's memo, read first: no closure to build
    if known is not None:
        return known
    return phone_context.possible_here(raw, lambda: phone_context.regions_for(text, s, word), budget)


_POSSIBLE = phone_context._POSSIBLE


@functools.lru_cache(maxsize=4096)
def _grouped(raw: str) -> bool:
    """Digits grouped as people group a local number: at most five groups, each after the
    first of two to five digits. A function of the candidate alone, so memoised."""
    groups = [g for g in GROUPS.split(raw.replace("(0)", "")) if g]
    return len(groups) <= 5 and all(2 <= len(g) <= 5 for g in groups[1:])
