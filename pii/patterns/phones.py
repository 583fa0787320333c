"""Phone numbers: our own candidate scan for exact spans, `phonenumbers` for validity.

A span is the whole number as written: a leading "+", area-code parentheses ("(030) 123456",
"+44 (0)20 7946 0958"), inner spaces, dots, dashes and slashes, and its extension ("x4587",
"ext. 12"); never a parenthesis that wraps the whole number. Without "+" a number must be valid
in one of phone_validation.REGIONS (US, GB, DE, PL first), or have the North-American (NXX)
NXX-XXXX shape; bare digit runs count only next to a phone word ("tel", "Handy", "телефон" …).
"""

from __future__ import annotations

import re

from pii import prefilter
from pii.findings import Finding
from pii.patterns import context, phone_context
from pii.patterns import phone_shapes as shapes
from pii.patterns import phone_validation as validation

# Seven characters of digits and separators at least (the lookahead skips years, times and
# prices at C speed: number-dense text is mostly those).
CANDIDATE = re.compile(
    r"(?=[+(\d][\d \u00a0\-./–()+]{6})(?:\+[ \u00a0]?|\(\+?)?\d+(?:[ \u00a0\-./–()]{1,4}\d+)*"
)
NANP = re.compile(r"(?:\+?1[ .-]?)?(?:\(\d{3}\)[ \u00a0]?|\d{3}[ .-])\d{3}[ .-]\d{4}")
# An extension is part of the number as written ("(555) 123-4567 x4587", "ext. 12"), as
# phonenumbers' own matcher reads it: E.123 / RFC 3966 ";ext=" and the usual words.
EXTENSION = re.compile(
    r"[ \u00a0]?,?[ \u00a0]?(?:x|ext\.?|extn\.?|extension|доб\.?|wew\.?|Durchwahl|DW|poste)"
    r"[ \u00a0]?\.?[ \u00a0]?\d{1,6}|;ext=\d{1,6}",
    re.I,
)
CARDLIKE = shapes.CARDLIKE


NON_DIGIT = re.compile(r"\D")
JOINER = re.compile(r"[ \u00a0]*(?:/|,|;|\||or|oder|lub|und|and|i|ou|o)[ \u00a0]*", re.I)
SPACE_SPLIT = re.compile(r"([ \u00a0]+)")
GROUPS = shapes.GROUPS


_CURRENCY_MARKS = frozenset("$€£¥₹₽₩₺¢")
_CURRENCY_CODES = ("usd", "eur", "gbp", "pln", "chf", "jpy", "cny", "rub", "zł")  # context.CURRENCY_BEFORE
# Neighbours that context.left_ok / right_ok accept whatever stands beyond them ("" is the
# text's end): the common case, decided without the call.
_CLEAR = frozenset(["", " ", "\n", "\t", "(", ")", "[", "]", "<", ">", "|", ";", "!", "?", '"', "'"])
_LABEL_END = frozenset(":-–")  # phone_context.label_before needs the window to end with one
_NO_UNIT = frozenset(",.;:)!?\n|\"'(-/<>]")
_UNIT_AFTER = re.compile(context.CURRENCY_AFTER.pattern.lstrip("^"), re.I)
# Gates before the EXTENSION and unit patterns (each ~1 µs a call, run for most candidates):
# the characters their first letter can be, `re.I`'s case folding included (U+212A the Kelvin
# sign, "ſ" the long s, "ᲁ" a Cyrillic de; test_prefilter derives them again).
EXT_LETTERS = frozenset(";DEPWXdepwxДд\u1c81")
UNIT_FIRST = frozenset("$%CDEGJKMPRSTUYZcdegjkmprstuyz£¥ſРр‰₩€₹₺₽元円\u212a")
_DROP_DIGITS = str.maketrans("", "", "0123456789")


def _digit_count(raw: str) -> int:
    return len(raw) - len(raw.translate(_DROP_DIGITS)) if raw.isascii() else len(NON_DIGIT.sub("", raw))


def find(text: str, budget: validation.Budget | None = None, shape: bytes | None = None) -> list[Finding]:
    """Phone numbers in `text`; with its prefilter shape, candidates are found on the shape."""
    budget = budget or validation.Budget(len(text))
    out: list[Finding] = []
    for m in CANDIDATE.finditer(text) if shape is None else prefilter.PHONE_CANDIDATE.finditer(shape):
        if budget.left <= 0 or budget.calls <= 0:
            break  # a table of numbers: its first ones are found, the rest would only cost
        s, e = m.span()
        if e - s < 7:
            continue
        raw = text[s:e]
        if raw[0] == "(" and ")" not in raw:
            s += 1  # a parenthesis around the whole number is not part of it
            raw = raw[1:]
            if e - s < 7:
                continue
        pure = shapes.pure_of(raw)
        if pure is None:
            if len(raw) <= 12 or _digit_count(raw) <= 12:
                continue  # shaped as no number (a date, an amount …): no context makes it one
            budget.calls -= 1
            # A run that is not one number may hold one next to other digits.
            if (
                (" " in raw or "\u00a0" in raw)
                and context.boundary_ok(text, s, e)
                and not CARDLIKE.fullmatch(raw)
            ):
                out.extend(_split(text, s, e, budget))
            continue
        ext = EXTENSION.match(text, e) if text[e : e + 4].lstrip(" \u00a0,")[:1] in EXT_LETTERS else None
        if ext and not context.right_ok(text, ext.end()):
            ext = None
        # "071 233 5510-Office", "4412983305-Fax": the label names the number, and ends it.
        labelled = (
            ext is None
            and text[e : e + 4].lstrip(phone_context.LABEL_LEAD)[:1] in phone_context.LABEL_LETTERS
            and phone_context.label_after(text, e) >= 0
        )
        budget.calls -= 1
        # "…4567x4587": the x is no word; "…5510-Office": nor is the dash. A number listed right
        # after a found one ("Tel 512 3381 or 512 3382") has that one's label.
        listed = (
            bool(out)
            and 0 < len(text[out[-1].end : s].strip(" \u00a0")) <= 4  # JOINER's word: one to four letters
            and JOINER.fullmatch(text, out[-1].end, s) is not None
        )
        hit = _judge(text, s, e, budget, False, ext is not None or labelled, labelled or listed, pure)
        if hit:
            out.append(Finding(hit.type, hit.start, ext.end(), hit.score) if ext else hit)
        elif (
            len(raw) > 12
            and _digit_count(raw) > 12
            and (" " in raw or "\u00a0" in raw)
            and context.boundary_ok(text, s, e)
            and not CARDLIKE.fullmatch(text[s:e])
        ):
            out.extend(_split(text, s, e, budget))
    return out


def _judge(
    text: str,
    s: int,
    e: int,
    budget: validation.Budget,
    strict: bool = False,
    glued_ok: bool = False,
    labelled: bool = False,
    pure: tuple[str, bool, bool] | None = None,
) -> Finding | None:
    """The candidate text[s:e] judged as a phone number, or None. `pure` is its
    phone_shapes.pure_of when the caller has it (None: looked up here)."""
    raw = text[s:e]
    pure = pure or shapes.pure_of(raw)
    if pure is None:
        return None  # not shaped as a number at all: no context can make it one
    digits, plus, formatted = pure
    if not (glued_ok or text[e : e + 1] in _CLEAR or context.right_ok(text, e)):
        return None
    if not (not s or text[s - 1] in _CLEAR or context.left_ok(text, s) or raw[0] in "+("):
        if not phone_context.label_glued_before(text, s):
            return None
        labelled = True  # "Office-071 233 5510", "Fax-4412983305": the label, glued by a dash
    if raw[0] == "(" and s and text[s - 1].isalnum():
        return None
    # Validity first (memoised), context only for what could be a number.
    if plus or (digits.startswith("00") and len(digits) >= 10 and not digits.startswith("000")):
        bare = raw.lstrip("(")
        e164 = bare if plus else "+" + (bare[2:] if bare.startswith("00") else digits[2:])
        score = validation.memo("intl", e164, validation.international, budget)
        if score is None:
            return None
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
        if not score or (strict and score < 0.9):
            return None
    elif validation.memo("national", digits, validation.national, budget):
        score = 0.85
    elif not strict and len(digits) in (10, 11) and (NANP.fullmatch(raw) or not formatted):
        score = 0.7  # "(555) 123-4567", or ten digits right after "call me at"
    elif not strict and len(digits) <= 12 and _local(text, s, raw, budget, labelled):
        score = 0.75  # "Phone: 512 3381", "ring me on 8813 2240", "62-18-40-77 (Fax)"
    else:
        return None
    window = text[s - 32 if s > 32 else 0 : s]  # context.before(text, s, 32), inlined: one per number
    nl = window.rfind("\n")
    window = (window[nl + 1 :] if nl >= 0 else window).lower()
    words = phone_context.words_before(window)
    phone_at = words[0]
    if labelled or (window.rstrip(" \u00a0")[-1:] in _LABEL_END and phone_context.label_before(window) >= 0):
        phone_at = len(window)  # "…-Office", "M: …": the label is the closest context
    if not (plus or formatted) and (phone_at < 0 or len(digits) > 12):
        return None  # a bare digit run is a phone number only when someone says so
    if _context_rejected(text, e, window, phone_at, words):
        return None
    if not plus and not labelled and text[e : e + 1] == " " and phone_context.street_after(text, e):
        return None  # "the depot is at 12045 3310 Oak St": a house number
    return Finding("PHONE", s, e, min(score + (0.05 if phone_at >= 0 else 0), 1.0))


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
    groups = [g for g in GROUPS.split(raw.replace("(0)", "")) if g]
    if len(groups) > 5 or any(len(g) < 2 or len(g) > 5 for g in groups[1:]):
        return False
    return phone_context.possible_here(raw, lambda: phone_context.regions_for(text, s, word), budget)


def _context_rejected(text: str, e: int, window: str, phone_at: int, words: tuple[int, int, str]) -> bool:
    """An identifier's name closer than any phone word (`words` is words_before(window)), a
    currency before or a unit after."""
    _, at, word = words
    if at > phone_at and not (word in context.GENERIC and phone_at >= 0):
        return True  # phone_context.id_before: "licence number …"
    # A currency mark or code right before, a unit right after (searched near the number only,
    # and only when the characters next to it could start one).
    tail = window[-12:].rstrip()
    if tail and (tail[-1] in _CURRENCY_MARKS or tail.rstrip(".").endswith(_CURRENCY_CODES)):
        if context.CURRENCY_BEFORE.search(tail):
            return True
    j = e
    while j < len(text) and text[j] in " \u00a0\t":
        j += 1
    if j >= len(text) or text[j] in _NO_UNIT or not (text[j] in UNIT_FIRST or text[j].isspace()):
        return False
    return _UNIT_AFTER.match(text, e, e + 12) is not None


def _split(text: str, s: int, e: int, budget: validation.Budget) -> list[Finding]:
    """A run that is not one number may hold one next to other digits ("am 15.03. 030 123456",
    "601 234 567 602 345 678"): try whole space-separated chunks, longest first, strictly —
    unless a label or verb names the first ("Tel 512 3381 / 512 3382") or a joiner lists the
    next after a number found."""
    chunks, pos = [], s
    parts = SPACE_SPLIT.split(text[s:e], 11)  # twelve chunks are too many already: split no further
    for part in parts:
        if part and not part.isspace():
            chunks.append((pos, pos + len(part)))
        pos += len(part)
    out: list[Finding] = []
    i, n = 0, len(chunks)
    if n > 10:
        return out
    while i < n:
        # A chunk without digits ("/" in "512 3381 / 512 3382") divides. Strictly valid numbers
        # first; then, where a label names the first or a joiner lists the next after a number
        # found, what the label or the list makes of it.
        named = (not out and i == 0 and phone_context.cue_before(text, s)[0] >= 0) or (
            bool(out) and JOINER.fullmatch(text, out[-1].end, chunks[i][0]) is not None
        )
        hit = _split_at(text, chunks, i, budget, strict=True) or (
            _split_at(text, chunks, i, budget, strict=False) if named else None
        )
        if hit:
            out.append(hit[0])
            i = hit[1]
        else:
            i += 1
    return out


def _split_at(
    text: str, chunks: list[tuple[int, int]], i: int, budget: validation.Budget, strict: bool
) -> tuple[Finding, int] | None:
    """The longest run of whole chunks from chunk i that is a number, and where it ends."""
    n = len(chunks)
    for j in range(n, i, -1):
        if (i, j) == (0, n):
            continue
        cs, ce = chunks[i][0], chunks[j - 1][1]
        if ce - cs < 7 or not text[ce - 1].isdigit() or text[cs] not in "+(0123456789":
            continue
        if text[cs] == "(" and ")" not in text[cs:ce]:
            continue
        if any(not any(c.isdigit() for c in text[a:b]) for a, b in chunks[i:j]):
            continue
        hit = _judge(text, cs, ce, budget, strict=strict, labelled=not strict)
        if hit:
            return hit, j
    return None
