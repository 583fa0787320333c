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
from pii.patterns import phone_judge as judge
from pii.patterns import phone_shapes as shapes
from pii.patterns import phone_validation as validation

# Seven characters of digits and separators at least (the lookahead skips years, times and
# prices at C speed: number-dense text is mostly those).
CANDIDATE = re.compile(
    r"(?=[+(\d][\d \u00a0\-./–()+]{6})(?:\+[ \u00a0]?|\(\+?)?\d+(?:[ \u00a0\-./–()]{1,4}\d+)*"
)
# An extension is part of the number as written ("(555) 123-4567 x4587", "ext. 12"), as
# phonenumbers' own matcher reads it: E.123 / RFC 3966 ";ext=" and the usual words.
EXTENSION = re.compile(
    r"[ \u00a0]?,?[ \u00a0]?(?:x|ext\.?|extn\.?|extension|доб\.?|wew\.?|Durchwahl|DW|poste)"
    r"[ \u00a0]?\.?[ \u00a0]?\d{1,6}|;ext=\d{1,6}",
    re.I,
)
CARDLIKE = shapes.CARDLIKE
# The gate before EXTENSION (~1 µs a call, run for most candidates): the characters its first
# letter can be, `re.I`'s case folding included ("ᲁ" a Cyrillic de; test_prefilter derives it).
EXT_LETTERS = frozenset(";DEPWXdepwxДд\u1c81")


NON_DIGIT = re.compile(r"\D")
JOINER = re.compile(r"[ \u00a0]*(?:/|,|;|\||or|oder|lub|und|and|i|ou|o)[ \u00a0]*", re.I)
SPACE_SPLIT = re.compile(r"([ \u00a0]+)")

_DROP_DIGITS = str.maketrans("", "", "0123456789")


def _digit_count(raw: str) -> int:
    return len(raw) - len(raw.translate(_DROP_DIGITS)) if raw.isascii() else len(NON_DIGIT.sub("", raw))


def find(text: str, budget: validation.Budget | None = None, shape: bytes | None = None) -> list[Finding]:
    """Phone numbers in `text`; with its prefilter shape, candidates are found on the shape.
    Number-dense text holds a few candidates per line, most of them numbers: each step below
    is one C call or a set lookup where it can be, the shape verdict one dict lookup."""
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
        pure = KINDS.get(raw)
        if pure is None:
            pure = _kind(raw)
        if isinstance(pure, int):
            # Shaped as no number (a date, an amount …): no context makes it one. A run of more
            # than twelve digits counts as a judgement, and may hold numbers side by side.
            if pure:
                budget.calls -= 1
                if pure == SPLIT and context.boundary_ok(text, s, e):
                    out.extend(_split(text, s, e, budget))
            continue
        after = text[e : e + 4]
        gates = AFTER.get(after)
        if gates is None:
            gates = _after_gates(after)
        ext = EXTENSION.match(text, e) if gates & 1 else None
        if ext and not context.right_ok(text, ext.end()):
            ext = None
        # "071 233 5510-Office", "4412983305-Fax": the label names the number, and ends it.
        labelled = ext is None and gates & 2 != 0 and phone_context.label_after(text, e) >= 0
        budget.calls -= 1
        # "…4567x4587": the x is no word; "…5510-Office": nor is the dash. A number listed right
        # after a found one ("Tel 512 3381 or 512 3382") has that one's label.
        listed = (
            bool(out)
            and 0 < len(text[out[-1].end : s].strip(" \u00a0")) <= 4  # JOINER's word: one to four letters
            and JOINER.fullmatch(text, out[-1].end, s) is not None
        )
        score = judge.judge(
            text, s, e, raw, pure, budget, False, ext is not None or labelled, labelled or listed
        )
        if score:
            out.append(Finding("PHONE", s, ext.end() if ext else e, score))
        elif (
            len(raw) > 12
            and _digit_count(raw) > 12
            and _spaced_not_card(raw)
            and context.boundary_ok(text, s, e)
        ):
            out.extend(_split(text, s, e, budget))
    return out


# What the four characters after a candidate allow: 1 an extension (EXTENSION's first letter
# after its lead), 2 a label (phone_context.label_after's). A function of those characters,
# memoised (bounded): dense text follows its numbers with the same few separators, and one
# lookup replaces two strips and two set tests per candidate.
AFTER: dict[str, int] = {}


def _after_gates(after: str) -> int:
    gates = (after.lstrip(" \u00a0,")[:1] in EXT_LETTERS) | (
        after.lstrip(phone_context.LABEL_LEAD)[:1] in phone_context.LABEL_LETTERS
    ) << 1
    if len(AFTER) > 4096:
        AFTER.clear()
    AFTER[after] = gates
    return gates


# What a candidate is, as written: its phone_shapes.pure_of, or for one shaped as no number
# SKIP (twelve digits or fewer), LONG (more) or SPLIT (more, spaced, not grouped as a card: it
# may hold numbers side by side). A function of the candidate alone, so memoised (bounded, in
# entries and in key length): number-dense text repeats its dates, amounts and cards, and each
# then costs one lookup.
SKIP, LONG, SPLIT = 0, 1, 2
KINDS: dict[str, tuple[str, bool, bool] | int] = {}


def _kind(raw: str) -> tuple[str, bool, bool] | int:
    pure = shapes.pure_of(raw)
    kind: tuple[str, bool, bool] | int
    if pure is not None:
        kind = pure
    elif len(raw) <= 12 or _digit_count(raw) <= 12:
        kind = SKIP
    else:
        kind = SPLIT if _spaced_not_card(raw) else LONG
    if len(raw) <= 64:  # a longer run (a table's row, "1 1 1 …") is no number: not kept
        if len(KINDS) > 16384:
            KINDS.clear()
        KINDS[raw] = kind
    return kind


def _spaced_not_card(raw: str) -> bool:
    return ("\u00a0" in raw or " " in raw) and not CARDLIKE.fullmatch(raw)


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
    # How many chunks without a digit come before each: a run of chunks holds one when the
    # counts at its ends differ (one subtraction per run tried, not a scan of its characters).
    bare = [0]
    for a, b in chunks:
        bare.append(bare[-1] + (not any(c.isdigit() for c in text[a:b])))
    while i < n:
        # A chunk without digits ("/" in "512 3381 / 512 3382") divides. Strictly valid numbers
        # first; then, where a label names the first or a joiner lists the next after a number
        # found, what the label or the list makes of it.
        named = (not out and i == 0 and phone_context.cue_before(text, s)[0] >= 0) or (
            bool(out) and JOINER.fullmatch(text, out[-1].end, chunks[i][0]) is not None
        )
        hit = _split_at(text, chunks, bare, i, budget, strict=True) or (
            _split_at(text, chunks, bare, i, budget, strict=False) if named else None
        )
        if hit:
            out.append(hit[0])
            i = hit[1]
        else:
            i += 1
    return out


def _split_at(
    text: str, chunks: list[tuple[int, int]], bare: list[int], i: int, budget: validation.Budget, strict: bool
) -> tuple[Finding, int] | None:
    """The longest run of whole chunks from chunk i that is a number, and where it ends
    (`bare` counts the chunks without a digit before each, see _split)."""
    n = len(chunks)
    for j in range(n, i, -1):
        if (i, j) == (0, n):
            continue
        cs, ce = chunks[i][0], chunks[j - 1][1]
        if ce - cs < 7 or not text[ce - 1].isdigit() or text[cs] not in "+(0123456789":
            continue
        if text[cs] == "(" and ")" not in text[cs:ce]:
            continue
        if bare[j] != bare[i]:
            continue  # a chunk without digits ("/") divides
        pure = shapes.pure_of(text[cs:ce])
        score = (
            judge.judge(text, cs, ce, text[cs:ce], pure, budget, strict, labelled=not strict) if pure else 0.0
        )
        if score:
            return Finding("PHONE", cs, ce, score), j
    return None
