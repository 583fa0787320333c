"""Phone-number validity through phonenumbers (libphonenumber's metadata), within a budget.

Validation is the one costly step of the detector (~50-100 µs per new number), so it is
memoised, pre-checked against each region's length table and general pattern, and counted
per text (`Budget`), which keeps the detector linear on tables of numbers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar, cast

import phonenumbers

# Keep phonenumbers' compiled metadata patterns: with 25 regions they overflow the re module's
# 512-entry cache, and every validation would compile its regexes again (~10x the cost).
phonenumbers.enable_pattern_cache()

REGIONS = (
    "US",
    "GB",
    "DE",
    "PL",
    "FR",
    "ES",
    "IT",
    "NL",
    "AT",
    "CH",
    "BE",
    "PT",
    "IE",
    "SE",
    "FI",
    "CZ",
    "RU",
    "UA",
    "JP",
    "CN",
    "KR",
    "IN",
    "BR",
    "MX",
    "AU",
)


class Budget:
    """What one detect() call may still spend on phone candidates: `left` phonenumbers
    validations (~50-100 µs each when not memoised: 16 plus one per 800 characters) and
    `calls` judgements of any kind (64 plus one per 100 characters), so the cost stays linear
    in the text even when every line of a table looks like a number. Past either, the scan for
    phone numbers stops: a text with that many number-shaped values is a table, and its first
    numbers already mark it."""

    __slots__ = ("calls", "left")

    def __init__(self, length: int) -> None:
        self.left = 16 + length // 800
        self.calls = 64 + length // 100


_MEMO: dict[tuple[str, str], object] = {}
_MISSING = object()
T = TypeVar("T")


def memo(kind: str, arg: str, fn: Callable[[str], T], budget: Budget | None) -> T | None:
    """fn(arg), memoised process-wide (one get: safe while another worker thread clears it);
    None when the budget allows no new validation."""
    key = (kind, arg)
    value = _MEMO.get(key, _MISSING)
    if value is not _MISSING:
        return cast(T, value)  # each kind is memoised from one fn, so its values are fn's type
    if budget is not None:
        if budget.left <= 0:
            return None
        budget.left -= 1
    if len(_MEMO) > 16384:
        _MEMO.clear()
    result = _MEMO[key] = fn(arg)
    return result


def international(raw: str) -> float:
    try:
        num = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        return 0.0
    if phonenumbers.is_valid_number(num):
        return 0.95
    if phonenumbers.is_possible_number(num) and re.search(r"[ \u00a0\-./()]", raw):
        return 0.7
    return 0.0


def possible(e164: str) -> bool:
    try:
        return phonenumbers.is_possible_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return False


# Written domestically with a leading trunk "0": without it, digits are not a number there
# ("38 386 000" is a population, not a Frankfurt line).
NEEDS_TRUNK = frozenset({"GB", "DE", "FR", "NL", "AT", "CH", "BE", "IE", "SE", "FI", "UA", "JP", "KR", "AU"})


_GENERAL: dict[str, tuple[re.Pattern, frozenset[int], str, str]] = {}


def plausible_in(region: str, digits: str) -> bool:
    """The region's own length table and general number pattern (libphonenumber metadata),
    checked before the costly parse: random digit groups (a matrix, a CSV column) fail here
    for nearly every region, so 25 regions cost 25 regex matches, not 25 parses."""
    entry = _GENERAL.get(region)
    if entry is None:
        md = phonenumbers.PhoneMetadata.metadata_for_region(region)
        desc = md.general_desc if md is not None else None
        if md is None or desc is None or desc.national_number_pattern is None:
            raise ValueError(f"phonenumbers has no general number pattern for region {region!r}")
        entry = (
            re.compile(desc.national_number_pattern),
            frozenset(desc.possible_length),
            md.national_prefix or "",
            str(md.country_code),
        )
        _GENERAL[region] = entry
    pattern, lengths, trunk, cc = entry
    # As written, after the trunk prefix, or after the country code without "+" ("48 601 …"):
    # the three ways phonenumbers' parse reads a number for a region.
    for prefix in ("", trunk, cc):
        if prefix and not digits.startswith(prefix):
            continue
        nsn = digits[len(prefix) :]
        if nsn and len(nsn) in lengths and pattern.fullmatch(nsn):
            return True
    return False


def national(digits: str) -> bool:
    if not digits.isascii():  # fullwidth, Arabic-Indic …: the metadata patterns are ASCII
        digits = phonenumbers.normalize_digits_only(digits)
    for region in REGIONS:
        if region in NEEDS_TRUNK and digits[0] != "0":
            continue
        if not plausible_in(region, digits):
            continue
        try:
            num = phonenumbers.parse(digits, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(num):
            return True
    return False


_NON_DIGIT = re.compile(r"\D")


def digits_of(raw: str) -> str:
    """The digits of a number as written, without a "(0)" trunk notation."""
    return _NON_DIGIT.sub("", raw.replace("(0)", ""))
