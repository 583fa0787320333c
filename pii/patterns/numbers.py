"""Payment cards, IBANs and US Social Security numbers: digits that carry their own proof
(Luhn, mod-97, the SSA's allocation rules), so the check decides and the layout only helps."""

from __future__ import annotations

import re

from pii import prefilter
from pii.findings import Finding
from pii.patterns import context
from pii.patterns.iban_lengths import IBAN_LENGTHS

# Digit groups joined by single spaces or dashes: "4111 1111 1111 1111", "3782-822463-10005".
# The lookaheads and lookbehinds skip, at C speed, what the checks below would refuse anyway:
# runs too short to be a card, SSN shapes inside longer digit runs.
CARD_RUN = re.compile(r"(?=[\d \u00a0-]{12})\d+(?:[ \u00a0-]\d+)*")
IBAN_RUN = re.compile(r"[A-Za-z]{2}\d{2}(?:[ \u00a0-]?[A-Za-z0-9]){8,40}")
SSN_DASHED = re.compile(r"(?<!\d)(\d{3})([- ])(\d{2})\2(\d{4})(?!\d)")
SSN_PLAIN = re.compile(r"(?<!\d)\d{9}(?!\d)")


def luhn(digits: str) -> bool:
    total, double = 0, False
    for ch in reversed(digits):
        d = ord(ch) - 48
        if double:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
        double = not double
    return total % 10 == 0


# Issuer prefixes and lengths from the networks' IIN tables (ISO/IEC 7812 registrations).
JCB_LEGACY = ((3088, 3094), (3096, 3102), (3112, 3120), (3158, 3159), (3337, 3349))


def card_brand_ok(d: str) -> bool:
    """Issuer prefixes in use and their lengths: random Luhn-valid runs are 1 in 10, a known
    IIN with its network's length far fewer. Visa 4 (13/16/19); Mastercard 51-55 and 2221-2720
    (16); Mir 2200-2204 (16-19); Amex 34/37 (15); Diners 300-305/36/38/39 (14-19); JCB
    35 (16-19; issued 3528-3589), the legacy 3088-3349 blocks (16) and 1800/2131 (15); Discover
    6011/644-649/65 and UnionPay 62, Maestro 50/56-69 and the UK 0604 (12-19); RuPay 60/65/81/82/508."""
    n, p2, p4 = len(d), int(d[:2]), int(d[:4])
    first = d[0]
    if n == 15 and p4 in (1800, 2131):
        return True  # JCB's 15-digit cards
    if first == "4":
        return n in (13, 16, 19)
    if first == "5":
        return n == 16 if 51 <= p2 <= 55 else 12 <= n <= 19
    if first == "2":
        return (2221 <= p4 <= 2720 and n == 16) or (2200 <= p4 <= 2204 and 16 <= n <= 19)
    if first == "3":
        if p2 in (34, 37):
            return n == 15
        if 300 <= int(d[:3]) <= 305 or p2 in (36, 38, 39):
            return 14 <= n <= 19
        if any(lo <= p4 <= hi for lo, hi in JCB_LEGACY):
            return n == 16
        return p2 == 35 and 16 <= n <= 19  # JCB: 3528-3589 issued, the 35 block is its IIN range
    if first == "6":
        return 12 <= n <= 19
    if first == "8":
        return p2 in (81, 82) and n == 16
    if first == "0":
        return p4 == 604 and 12 <= n <= 19
    return False


def find_cards(text: str, shape: bytes | None = None) -> list[Finding]:
    """Cards in `text`; with its prefilter shape, the runs are found on the shape (same spans).
    A run's verdict (which of its leading groups make a card) is a function of the run as
    written, memoised on it: dense text repeats its numbers, so most runs cost a slice and a
    lookup; the words and characters around it are checked at each occurrence."""
    out = []
    for m in CARD_RUN.finditer(text) if shape is None else prefilter.CARD_RUN.finditer(shape):
        s, e = m.span()
        if e - s < 12:
            continue
        # A card lies in the run's first 40 characters: they hold 20 digits at least (groups
        # are split by single separators), and the groups are cut at 19 (see _card_ends).
        run = text[s:e] if e - s <= 40 else text[s : s + 40]
        ends = CARD_MEMO.get(run)
        if ends is None:
            if len(CARD_MEMO) >= MEMO_SIZE:
                CARD_MEMO.clear()
            ends = CARD_MEMO[run] = _card_ends(run)
        if not ends or (s and text[s - 1] == "+"):
            continue  # "+4915112345678" is a phone number
        if text[s - 1 : s] not in _CLEAR and not context.left_ok(text, s, loose=True):
            continue
        for k in ends:
            if s + k == e and text[e : e + 1] not in _CLEAR and not context.right_ok(text, e, loose=True):
                continue
            out.append(Finding("CREDIT_CARD", s, s + k, 0.95))
            break
    return out


_RUN_SEPARATOR = re.compile(r"[ \u00a0-]")


def _card_ends(run: str) -> tuple[int, ...]:
    """Where the cards a run of digit groups starts with end (offsets in the run), longest
    first. A run may carry an expiry or CVV after the number ("4111 1111 1111 1111 12 25"), so
    windows of its leading groups are tried, not just the whole run; only the first groups can
    start a card, and a card has at most 19 digits: the groups are cut there, so a 40 kB line
    of "1 1 1 …" costs the same as one card."""
    parts = _RUN_SEPARATOR.split(run)
    first = len(parts[0])
    if first != 4 and not 12 <= first <= 19:
        return ()  # printed cards start with a group of four, or are one unbroken run
    groups: list[str] = []
    offsets: list[int] = []  # each group's end in the run
    total = pos = 0
    for part in parts:
        groups.append(part)
        pos += len(part)
        offsets.append(pos)
        pos += 1
        total += len(part)
        if total > 19:
            break
    if total < 12:
        return ()  # no window of the run holds a card's twelve digits
    return tuple(offsets[j - 1] for j in _card_windows(tuple(groups)))


# Verdicts per run of digit groups (cards) and per IBAN run: number-dense text repeats its
# numbers, and a verdict is a function of the run alone (the characters around it are checked
# at each occurrence). Bounded: emptied past MEMO_SIZE.
MEMO_SIZE = 4096
CARD_MEMO: dict[str, tuple[int, ...]] = {}
IBAN_MEMO: dict[str, int] = {}


def _card_windows(groups: tuple[str, ...]) -> tuple[int, ...]:
    """How many leading groups make a card (12-19 digits grouped as cards are printed, Luhn,
    an issuer's prefix and length, not one digit repeated), longest first."""
    out = []
    for j in range(len(groups), 0, -1):  # windows start at the run's first group
        window = groups[:j]
        digits = "".join(window)
        if not 12 <= len(digits) <= 19:
            continue
        if len(window) > 1 and (
            len(window[0]) != 4 or any(not 4 <= len(g) <= 6 for g in window[1:-1]) or len(window[-1]) < 2
        ):
            continue  # printed cards group as 4-4-4-4, 4-6-5, 4-6-4 …
        if luhn(digits) and card_brand_ok(digits) and len(set(digits)) > 1:
            out.append(j)
    return tuple(out)


def iban_valid(compact: str) -> bool:
    code = compact[:2].upper()
    if IBAN_LENGTHS.get(code) != len(compact) or not compact[2:4].isdigit():
        return False
    moved = (compact[4:] + compact[:4]).upper()
    if not moved.isascii() or not moved.isalnum():
        return False
    return int(moved.translate(_LETTER_VALUES)) % 97 == 1


# ISO 13616's mod-97: A=10 … Z=35, digits as they are.
_LETTER_VALUES = str.maketrans({chr(65 + i): str(10 + i) for i in range(26)})


def find_ibans(text: str, shape: bytes | None = None) -> list[Finding]:
    """IBANs in `text`; with its prefilter shape, the runs are found on the shape (same spans).
    How much of a run its IBAN takes is a function of the run as written, memoised on it; the
    characters on either side are checked at each occurrence."""
    out: list[Finding] = []
    if shape is not None and b"aa00" not in shape:
        return out
    for m in IBAN_RUN.finditer(text) if shape is None else prefilter.IBAN_RUN.finditer(shape):
        start, stop = m.span()
        if start and text[start - 1].isalnum():
            continue
        run = text[start:stop]
        size = IBAN_MEMO.get(run)
        if size is None:
            if len(IBAN_MEMO) >= MEMO_SIZE:
                IBAN_MEMO.clear()
            size = IBAN_MEMO[run] = _iban_size(run)
        end = start + size
        if size and not (end < len(text) and text[end].isalnum()):
            out.append(Finding("IBAN", start, end, 1.0))
    return out


def _iban_size(run: str) -> int:
    """How many characters of an IBAN run its IBAN takes (0: none is valid): exactly its
    country's length of letters and digits, separators between, in one case, mod-97 valid."""
    length = IBAN_LENGTHS.get(run[:2].upper())
    if not length:
        return 0
    count = end = 0
    for c in run:
        end += 1
        if c.isalnum():
            count += 1
            if count == length:
                break
    else:
        return 0
    value = run[:end].translate(_NO_SEPARATORS)
    if not (value[:2].isupper() or value[:2].islower()):
        return 0
    return end if iban_valid(value) else 0


# An IBAN run's separators (IBAN_RUN's): the rest of it is the compact IBAN.
_NO_SEPARATORS = str.maketrans("", "", " \u00a0-")


def ssn_valid(area: str, group: str, serial: str) -> bool:
    a = int(area)
    if a == 0 or a == 666 or a >= 900 or group == "00" or serial == "0000":
        return False
    return len(set(area + group + serial)) > 1


def _dashed(text: str, shape: bytes | None) -> list[re.Match[str]]:
    """SSN_DASHED's matches; with a shape, only where the shape says one can start."""
    if shape is None:
        return list(SSN_DASHED.finditer(text))
    out = []  # (find_ssns calls this only where the shape holds "00-00-0000" or "00 00 0000")
    for c in prefilter.SSN_DASHED.finditer(shape):
        if c.start() and shape[c.start() - 1] == 48:
            continue  # the lookbehind: a longer digit run
        m = SSN_DASHED.match(text, c.start())
        if m is not None:  # None where a no-break space separates
            out.append(m)
    return out


def _plain(text: str, shape: bytes | None) -> list[tuple[int, int]]:
    """SSN_PLAIN's spans; with a shape, the nine-digit runs found by bytes.find (a run that goes
    on is skipped whole, as the pattern's lookarounds do)."""
    if shape is None:
        return [m.span() for m in SSN_PLAIN.finditer(text)]
    out, pos = [], 0
    while (i := shape.find(b"000000000", pos)) >= 0:
        run = prefilter.DIGITS.match(shape, i)
        assert run is not None  # nine digits start here
        pos = run.end()
        if pos - i == 9:
            out.append((i, pos))
    return out


_CLEAR = context.CLEAR


def _bounded(text: str, s: int, e: int, loose: bool) -> bool:
    """context.boundary_ok, a set lookup first on each side."""
    return (text[s - 1 : s] in _CLEAR or context.left_ok(text, s, loose)) and (
        text[e : e + 1] in _CLEAR or context.right_ok(text, e, loose)
    )


def find_ssns(text: str, shape: bytes | None = None) -> list[Finding]:
    out: list[Finding] = []
    dashed = plain = True
    if shape is not None:  # what the shape says can start: scans at C speed instead of calls
        dashed = b"00-00-0000" in shape or b"00 00 0000" in shape
        plain = b"000000000" in shape
    for m in _dashed(text, shape) if dashed else ():
        s, e = m.start(), m.end()
        if not _bounded(text, s, e, True) or not ssn_valid(m.group(1), m.group(3), m.group(4)):
            continue
        window = context.before(text, s, 40)
        ssn_ctx = context.last_match_end(context.SSN_WORDS, window)
        glued = (s and text[s - 1] == "-") or (e < len(text) and text[e] == "-")
        if glued and not context.directly_before(context.SSN_WORDS, text, s):
            continue  # "INV-123-45-6789", "123-45-6789-01": a reference, unless "SSN-" says so
        if ssn_ctx < 0 and context.label_after(context.SSN_WORDS, text, e):
            ssn_ctx = len(window)  # "123-45-6789 (SSN)": the label follows
        if m.group(2) == " ":
            # "123 45 6789" is also how some phone numbers are written: need the word.
            if ssn_ctx < 0 or context.last_match_end(context.PHONE_WORDS, window) > ssn_ctx:
                continue
        elif ssn_ctx < 0 and context.last_match_end(context.NEGATIVE_WORDS, context.before(text, s, 16)) >= 0:
            continue
        out.append(Finding("US_SSN", s, e, 0.95 if ssn_ctx >= 0 else 0.85))
    for s, e in _plain(text, shape) if plain else ():
        if not _bounded(text, s, e, False):
            continue
        d = text[s:e]
        if not ssn_valid(d[:3], d[3:5], d[5:]):
            continue
        window = context.before(text, s, 40)
        ssn_ctx = context.last_match_end(context.SSN_WORDS, window)
        if ssn_ctx >= 0 and ssn_ctx > context.last_match_end(context.PHONE_WORDS, window):
            out.append(Finding("US_SSN", s, e, 0.8))
        elif context.label_after(context.SSN_WORDS, text, e):
            out.append(Finding("US_SSN", s, e, 0.8))
    return out
