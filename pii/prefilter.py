"""A one-byte-per-character shape of a text, so the recognizers' scans run on bytes.

`shape_of(text)` maps ASCII digits to "0", ASCII letters to "a", the no-break space to " ",
every other non-ASCII character to "?" and keeps the rest of ASCII: the
offsets are the text's. The recognizers' run patterns, rewritten over this alphabet, match
exactly the spans their text patterns match (each class of the text pattern maps onto a class
of the shape that nothing else maps into), and they run several times faster on bytes, many
from a literal that `re` finds at C speed ("aa00" for an IBAN, "000-00-" for an SSN) instead of
trying a lookbehind at every position. Text holding digits of other scripts (fullwidth,
Arabic-Indic …) has no shape (None): their digits are not ASCII, so the text patterns run; so
has text with an en dash, a phone number's separator but not a card's (rare in chat).
"""

from __future__ import annotations

import re

SHAPE = bytes(48 if 48 <= i <= 57 else 97 if 65 <= i <= 90 or 97 <= i <= 122 else i for i in range(256))
# A digit outside ASCII: a non-ASCII character first (a range test), then the digit test
# behind it (a category lookup): ~40% faster than one class holding both on Cyrillic or CJK text.
_OTHER_DIGIT = re.compile(r"[^\x00-\x7f](?<=\d)")

# The text patterns' counterparts (numbers.IBAN_RUN, phones.CANDIDATE and network.IPV4; CARD_RUN below),
# same spans. SSN_DASHED also matches where a no-break space separates (the text's does not):
# it starts from a literal, and the caller checks its lookbehind and matches the text's pattern
# there (an SSN shape cannot overlap another, so finditer loses none).
# Each starts from a literal or a branch of literals, which `re` finds at C speed; the text
# patterns' leading lookahead (seven or twelve characters of the run) moves after that first
# character, which is the same condition (a lookahead first is tried at every position).
# CARD_RUN keeps, of the text pattern's runs, those with twelve digits (a card's fewest) whose
# first group has four digits at least (numbers._card_ends refuses the others: printed cards
# start with a group of four, or are one unbroken run). So it starts from the literal "0000"
# (a single "0" made `re` try the lookaheads at every digit of dense text: twice the time);
# the lookbehinds refuse a start inside a run (after a digit, or a digit and one separator),
# where the text pattern never starts either. The lookaheads count, from the run's second
# digit as before, eleven characters and eleven digits (three of each are the literal's).
CARD_RUN = re.compile(rb"0000(?<!00000)(?<!0[ -]0000)(?=[0 -]{8})(?=(?:[ -]?0){8})0*(?:[ -]0+)*")
IBAN_RUN = re.compile(rb"aa00(?:[ -]?[a0]){8,40}")
SSN_DASHED = re.compile(rb"000([- ])00\1(?=0000(?!0))")
DIGITS = re.compile(rb"0+")
# "00{0,2}" is "0{1,3}" led by a literal: `re` searches for a pattern's leading literal at C
# speed, and tries a leading repeat at every position.
IPV4 = re.compile(rb"00{0,2}\.0{1,3}\.0{1,3}\.0{1,3}")
_SIX = rb"(?=[0 \-./()+]{6})"
PHONE_CANDIDATE = re.compile(
    rb"(?:\+" + _SIX + rb" ?0|\(" + _SIX + rb"\+?0|0" + _SIX + rb")0*(?:[ \-./()]{1,4}0+)*"
)
# Gates: what a recognizer needs before its scan is worth running. IPv4 ".d.d.d" (a date's
# ".03.2024" has two); IPv6 two colons with at most one group between; the numeric types seven
# digits with at most four other characters between two (on one line).
V4_HINT = re.compile(rb"\.0{1,3}\.0{1,3}\.0")
V6_HINT = re.compile(rb":[0a]{0,4}:")
CLUSTER = re.compile(rb"0(?:[^0\n]{0,4}+0){6,}+")  # possessive: a digit ends each gap, no retries


def shape_of(text: str) -> bytes | None:
    """The text's shape (see the module's docstring), or None when it holds non-ASCII digits
    or an en dash."""
    if text.isascii():
        return text.encode().translate(SHAPE)
    if "–" in text or _OTHER_DIGIT.search(text):
        return None
    if "\u00a0" in text:
        text = text.replace("\u00a0", " ")
    return text.encode("ascii", "replace").translate(SHAPE)
