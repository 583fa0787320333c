"""Phone candidates' shapes: what the digits and their layout alone say, before any context.

Dates (also spaced and compact), time ranges, dotted versions and IPs, amounts, ZIP+4 codes,
SSN-shaped and card-shaped blocks are not phone numbers whatever words stand around them.
A function of the candidate alone, so memoised (`pure_of`) like validity.
"""

from __future__ import annotations

import re

from pii.patterns import phone_validation as validation

DATE = re.compile(r"(\d{1,2})([./-])(\d{1,2})\2(\d{4}|\d{2})|(\d{4})([./-])(\d{1,2})\6(\d{1,2})")
DATE_PREFIX = re.compile(r"(?:(?:19|20)\d\d([-./])\d{1,2}\1\d{1,2}|\d{1,2}([-./])\d{1,2}\2(?:19|20)\d\d)\D")
DOTTED = re.compile(r"\d{1,3}(?:\.\d{1,3}){3,}")
PAIRS_DOTTED = re.compile(r"0\d(?:\.\d\d){4}")  # "01.23.45.67.89": how France writes numbers
THOUSANDS = re.compile(r"\d{1,3}(?:[.,]\d{3})+")
# "15 03 2024", "2024 03 15": a date written with spaces (a local number is never 4+2+2 or 2+2+4).
DATE_SPACED = re.compile(
    r"(\d{1,2})[ \u00a0](\d{1,2})[ \u00a0](?:19|20)\d\d|(?:19|20)\d\d[ \u00a0](\d{1,2})[ \u00a0](\d{1,2})"
)
COMPACT_DATE = re.compile(r"(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])")
TIME_RANGE = re.compile(r"([01]\d|2[0-3])[0-5]\d-([01]\d|2[0-4])[0-5]\d")
SSN_SHAPE = re.compile(r"\d{3}-\d{2}-\d{4}")
ZIP4 = re.compile(r"\d{5}-\d{4}")
CARDLIKE = re.compile(r"\d{4}(?:[ -]\d{4}){2,}(?:[ -]\d{1,4})?|\d{4}[ -]\d{6}[ -]\d{4,5}")
SPACES = re.compile(r"[ \u00a0]+")
GROUPS = re.compile(r"\D+")


PURE: dict[str, tuple[str, bool, bool] | None] = {}


_MISSING = ("", False, False)


def pure_of(raw: str) -> tuple[str, bool, bool] | None:
    known = PURE.get(raw, _MISSING)
    return _pure(raw) if known is _MISSING else known


def _pure(raw: str) -> tuple[str, bool, bool] | None:
    """(digits, plus, formatted) of a candidate, or None when its digits and shape alone say
    it is no phone number. A function of the candidate alone, so memoised like validity:
    number-dense text repeats its dates, amounts and numbers."""
    digits = validation.digits_of(raw)
    plus = raw.lstrip("(").startswith("+")
    value = None
    if 7 <= len(digits) <= 15 and not _shape_rejected(raw, digits, plus):
        value = (digits, plus, not raw.lstrip("+(").isdigit())
    if len(PURE) > 16384:
        PURE.clear()
    PURE[raw] = value
    return value


def _shape_rejected(raw: str, digits: str, plus: bool) -> bool:
    """Dates, dotted versions/IPs, amounts, ZIP+4 codes and card-like blocks are not phones."""
    if plus:
        return False
    if (DOTTED.fullmatch(raw) and not PAIRS_DOTTED.fullmatch(raw)) or THOUSANDS.fullmatch(raw):
        return True
    if any(_is_date(chunk) for chunk in SPACES.split(raw)):
        return True
    if COMPACT_DATE.fullmatch(raw) or _is_time_range(raw):
        return True  # "20240315" (a build, a file), "0900-1700" (office hours)
    spaced = DATE_SPACED.fullmatch(raw)
    if spaced:
        a, b = (int(x) for x in spaced.groups() if x)
        if 1 <= a <= 31 and 1 <= b <= 31 and min(a, b) <= 12:
            return True
    if DATE_PREFIX.match(raw):  # "2024-03-15-001": a lot or file number built on a date
        return True
    if ZIP4.fullmatch(raw) or CARDLIKE.fullmatch(raw) or SSN_SHAPE.fullmatch(raw):
        return True
    groups = [g for g in GROUPS.split(raw.replace("(0)", "")) if g]
    # "1 2 3 4 5 6 7" and OIDs: single digits only as a leading country/trunk code.
    return any(len(g) == 1 for g in groups[1:]) and len(groups) > 3


def _is_time_range(raw: str) -> bool:
    return TIME_RANGE.fullmatch(raw) is not None


def _is_date(chunk: str) -> bool:
    m = DATE.fullmatch(chunk)
    if not m:
        return False
    if m.group(1):
        a, b = int(m.group(1)), int(m.group(3))
        return 1 <= a <= 31 and 1 <= b <= 31 and min(a, b) <= 12
    return 1 <= int(m.group(7)) <= 12 and 1 <= int(m.group(8)) <= 31
