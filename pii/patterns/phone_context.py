"""What the words around a number say about it: a phone label or verb right before it, a label
right after it ("-Office", "-Fax", " mobile"), a street after it, an identifier's name before it,
and which regions the text suggests.

A number with no country code and no area code ("Phone: 512 3381", "ring me on 8813 2240") is
valid nowhere, only *possible*: such numbers count when a label or a verb says so and
phonenumbers' own matcher reads the digits, as written, as a possible number of a region the
context suggests (`possible_here`). Without that context the stricter rules of phones.py apply.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

import phonenumbers
from phonenumbers import Leniency, PhoneNumberMatcher

from pii.patterns import context
from pii.patterns import phone_validation as validation
from pii.patterns.context import Keywords

# The words people put before a number, in English, German and Polish at least (labels,
# verbs, phrases), beside context.PHONE_WORDS' other languages. Used by phones only: the SSN
# recognizer's "a phone word wins" rule keeps its own, narrower list.
PHONE_CUES = Keywords(
    " ".join(context.PHONE_WORDS.prefixes)
    + " tlf tfn reachable whatsapp viber voicemail landline pager festnetz durchwahl anrufen "
    "erreichen erreichst telefonisch rufnummer zadzwon zadzwoń dzwoń dzwon telefoniczn "
    "stacjonarn infolini",
    " ".join(context.PHONE_WORDS.exact) + " fon melde meld",
    (
        *context.PHONE_WORDS.phrases,
        "pick up",
        "picks up",
        "picked up",
        "get me on",
        "get hold of me",
        "try me",
        "reach us",
        "text us",
        "ring us",
        "ring me",
        "numer telefonu",
        "pod numer",
        "pod numerem",
        "unter der nummer",
        "unter nummer",
    ),
)
# What may stand between a phone word and its number: pronouns, prepositions, "number", "is".
FILLER = frozenset(
    "me us him her them on at to under via is are was my our his the this new number no nr "
    "please pls now back anytime directly direct mobile cell home work office or private fax "
    "privat mobil festnetz büro geschäftlich dienstlich prywatny służbowy domowy stacjonarny "
    "komórka kom telefonu numeru "
    "unter an mich uns mir ist die der meine unsere nummer bitte auf "
    "pod na mnie nas do mój moj nasz numer numerem to jest tel "
    "au le mon al il mi el op".split()
)
_WORD = re.compile(r"[^\W\d_]+")
# A contact block's field label right before the number: "Work: …", "Home - …", "Cell #: …",
# "Phone (home): …" (the window is lower-cased). A single letter needs its colon.
LABEL_BEFORE = re.compile(
    r"(?:^|[\s,;|(\\])(?:[mtfhw]\.?[ \u00a0]?:|(?:"
    + context.trie("work home office main direct private privat büro biuro praca dom fax cell mobile".split())
    + r")\.?[ \u00a0]?(?:\([^()\n]{1,15}\)[ \u00a0]?)?(?:#[ \u00a0]?)?[:\-–])[ \u00a0]*$"
)

# What an identifier is called: the number after it is that identifier, not a phone. A superset
# of context.NEGATIVE_WORDS, used by phones only (the SSN rules keep theirs).
ID_WORDS = Keywords(
    " ".join(context.NEGATIVE_WORDS.prefixes)
    + " licen lizenz licenc führerschein fuehrerschein permit passport reisepass paszport dowod "
    "dowód ausweis personalaus policy polic polis polizz versicherungsnummer claim member "
    "mitglied contract vertrag umow "
    "booking reservation buchung rezerwac confirmation bestätigung receipt quittung paragon "
    "parcel paket shipment lieferung przesył customer client klient patient employee "
    "personalnummer matrikel student badge plate kennzeichen rejestrac vin imei iccid "
    "postcode plz zip routing sort swift model modell artikelnummer part item catalog katalog "
    "batch charge lot serien case sprawa aktenzeichen sygn",
    " ".join(context.NEGATIVE_WORDS.exact) + " pin puk kod code az.",
    context.NEGATIVE_WORDS.phrases,
)

# A label right after the number, as address-book exports and signatures write it:
# "071 233 5510-Office", "4412983305-Fax", "+1 512 338 1234 mobile", "0171 2345678 (privat)".
LABELS = (
    "office fax mobile mob cell cellular home work main direct pager voice landline private "
    "business büro buero privat handy mobil festnetz geschäftlich dienstlich zentrale komórka "
    "komorka kom służbowy sluzbowy prywatny domowy stacjonarny biuro bureau domicile portable "
    "tel phone telefon"
).split()
LABEL_AFTER = re.compile(
    r"(?:[ \u00a0]?[-–/][ \u00a0]?|[ \u00a0]\(?|\()(?i:" + context.trie(LABELS) + r")(?![^\W\d_])"
)
_NEXT_WORD = re.compile(r"[ \u00a0]+([a-zß-ÿąćęłńóśźż]+)")
_JOINERS = frozenset("or and oder und lub i et y o".split())
LABEL_LEAD = " \u00a0-–/("
# The first letters of LABELS under re.I's case folding (U+212A the Kelvin sign, "ſ" the long s).
LABEL_LETTERS = frozenset("BCDFGHKLMOPSTVWZbcdfghklmopstvwzſK\u212a")
# A street after the number: it is a house number ("12045 3310 Oak St", "at 1200 5th Avenue"):
# one to three capitalised name words, then the street type (USPS / Royal Mail abbreviations).
STREET_AFTER = re.compile(
    r"[ \u00a0]+(?:[A-Z0-9][\w'.-]*[ \u00a0]+){1,3}(?i:st|street|ave|avenue|rd|road|blvd|"
    r"boulevard|ln|lane|dr|drive|way|ct|court|pl|place|sq|square|ter|terrace|pkwy|parkway|hwy|"
    r"highway|cres|crescent|close|row|cir|circle|trl|trail|aly|alley)(?![^\W\d_])"
)

# Languages' phone words → the regions whose national formats they suggest (first tried).
_REGION_WORDS = (
    (("handy", "telef", "festnetz", "ruf", "anruf", "erreichbar", "durchwahl", "mobil"), ("DE", "AT", "CH")),
    (("komórk", "zadzwo", "dzwo", "kom.", "numer", "stacjonarn"), ("PL",)),
    (("tél", "portable", "appel"), ("FR", "BE", "CH")),
    (("móvil", "movil", "llám", "llam"), ("ES",)),
    (("cellulare", "chiama"), ("IT",)),
    (("mobiel", "bel"), ("NL", "BE")),
    (("телефон", "тел", "моб", "звон"), ("RU", "UA")),
)
ENGLISH = ("US", "GB", "IE", "AU", "CA")
# Regions where a number as written may be only possible, when the context says it is a phone:
# the 25 of phone_validation.REGIONS and the Nordic and other eight-digit plans.
LOCAL_REGIONS = (*validation.REGIONS, "DK", "NO", "SG", "HK", "NZ", "ZA", "IL", "GR", "HU", "RO")
_PLUS_CC = re.compile(r"\+[ \u00a0]?(\d{1,3})")


def cue_before(text: str, s: int) -> tuple[int, str]:
    """(distance, word) of a phone label or verb right before `s` ("Phone: ", "ring me on ",
    "nobody picks up at "), with at most three short words and no digits between; (-1, "")."""
    return cue_in(context.before(text, s, 40))


@functools.lru_cache(maxsize=4096)
def cue_in(window: str) -> tuple[int, str]:
    """cue_before's answer from its window alone, memoised like the keyword scans it runs."""
    label = label_before(window)
    if label >= 0:
        return len(window) - label, "m"
    end, word = PHONE_CUES.last(window)
    if end < 0:
        return -1, ""
    gap = window[end:]
    if len(gap) > 18 or any(c.isdigit() for c in gap) or len(gap.split()) > 3:
        return -1, ""
    if any(w not in FILLER for w in _WORD.findall(gap)):
        return -1, ""  # "the call had 12 345 678 listeners": the verb is about something else
    at, idw = ID_WORDS.last(gap)
    if at >= 0 and idw not in context.GENERIC:
        return -1, ""  # "phone order no. …"
    return len(gap), word


def label_before(window: str) -> int:
    """End of a field label ending `window` ("Work: ", "M: "), or -1."""
    if not window.rstrip(" \u00a0").endswith((":", "-", "–")):
        return -1
    m = LABEL_BEFORE.search(window)
    return m.end() if m else -1


_GLUED_BEFORE = re.compile(
    r"(?<![^\W\d_])(?i:"
    + context.trie(
        "office fax mobile mob cell cellular tel phone telefon handy mobil festnetz büro buero "
        "zentrale komórka komorka biuro pager landline".split()
    )
    + r")[-–]"
)


def label_glued_before(text: str, s: int) -> bool:
    """A label glued to the number by a dash, as exports write it: "Office-071 233 5510"."""
    return s > 1 and text[s - 1] in "-–" and _GLUED_BEFORE.search(text, max(0, s - 16), s) is not None


def label_after(text: str, e: int) -> int:
    """End of a phone label right after the number ("-Office", " mobile", " (Fax)"), or -1."""
    if text[e : e + 1] not in LABEL_LEAD or text[e : e + 4].lstrip(LABEL_LEAD)[:1] not in LABEL_LETTERS:
        return -1  # no label can start here: the pattern's lead is one to three of these
    m = LABEL_AFTER.match(text, e)
    if not m or not context.right_ok(text, m.end()):
        return -1
    # The label ends the item: "… mobile, …", "…-Fax\\,", "… (office)"; not "… mobile app".
    nxt = _NEXT_WORD.match(text, m.end())
    return m.end() if nxt is None or nxt.group(1) in _JOINERS else -1


def street_after(text: str, e: int) -> bool:
    nxt = text[e + 1 : e + 2]
    return (
        text[e : e + 1] == " "
        and (nxt.isupper() or nxt.isdigit())
        and STREET_AFTER.match(text, e) is not None
    )


def id_before(window: str, cue_at: int) -> bool:
    """An identifier's name closer to the number than any phone word: "licence number …"."""
    _, at, word = words_before(window)
    return at > cue_at and not (word in context.GENERIC and cue_at >= 0)


_BOTH = re.compile(
    context.trie([*PHONE_CUES.prefixes, *PHONE_CUES.exact, *ID_WORDS.prefixes, *ID_WORDS.exact])
)


@functools.lru_cache(maxsize=4096)
def words_before(window: str) -> tuple[int, int, str]:
    """(end of the last phone cue, end of the last identifier word, that word) in `window`:
    PHONE_CUES.last and ID_WORDS.last in one pass over the window."""
    cue, at, word = -1, -1, ""
    for j, tok in context.tokens(_BOTH, window):
        if PHONE_CUES.hit(tok):
            cue = j
        if ID_WORDS.hit(tok):
            at, word = j, tok
    for m in PHONE_CUES._phrases.finditer(window):
        cue = max(cue, m.end())
    for m in ID_WORDS._phrases.finditer(window):
        if m.end() > at:
            at, word = m.end(), m.group(0)
    return cue, at, word


def regions_for(text: str, s: int, word: str) -> tuple[str, ...]:
    """Regions the context suggests: the country code of another "+CC" number on the line,
    the language of the phone word, then English-speaking and the default regions."""
    out: list[str] = []
    line_start = text.rfind("\n", 0, s) + 1
    line_end = text.find("\n", s)
    for m in _PLUS_CC.finditer(text, line_start, line_end if line_end >= 0 else len(text)):
        for cc_len in (1, 2, 3):
            regions = phonenumbers.region_codes_for_country_code(int(m.group(1)[:cc_len]))
            if regions and regions[0] != "001":
                out.extend(regions[:1])
                break
    for prefixes, regions in _REGION_WORDS:
        if word.startswith(prefixes):
            out.extend(regions)
    out.extend(ENGLISH)
    return tuple(dict.fromkeys(out + list(LOCAL_REGIONS)))


def possible_here(raw: str, regions: Callable[[], tuple[str, ...]], budget: validation.Budget) -> bool:
    """phonenumbers' matcher, at its POSSIBLE leniency, reads all of `raw` as one number of
    one of `regions` (national or local-only length, brackets and groups as written). The
    regions the context suggests come first, so they cost least; every region list ends with
    LOCAL_REGIONS, so the answer is memoised per number."""
    known = _POSSIBLE.get(raw)
    if known is not None:
        return known
    for region in regions():
        hit = validation.memo("matcher:" + region, raw, _matches_all(region), budget)
        if hit is None:
            return False  # out of budget: not remembered
        if hit:
            break
    else:
        hit = False
    if len(_POSSIBLE) > 16384:
        _POSSIBLE.clear()
    _POSSIBLE[raw] = hit
    return hit


_POSSIBLE: dict[str, bool] = {}


_MATCHERS: dict = {}


def _matches_all(region: str):
    fn = _MATCHERS.get(region)
    if fn is None:

        def fn(raw: str, region: str = region) -> bool:
            if not _length_possible(region, raw):
                return False
            for m in PhoneNumberMatcher(raw, region, leniency=Leniency.POSSIBLE, max_tries=2):
                return m.start == 0 and m.end == len(raw)
            return False

        _MATCHERS[region] = fn
    return fn


def _length_possible(region: str, raw: str) -> bool:
    """The metadata's length table first (national and local-only lengths, after the trunk
    prefix): a region whose lengths cannot fit costs no matcher run."""
    md = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if md is None or md.general_desc is None:
        return False
    digits = validation.digits_of(raw)
    lengths = set(md.general_desc.possible_length) | set(md.general_desc.possible_length_local_only)
    trunk = md.national_prefix or ""
    return len(digits) in lengths or bool(
        trunk and digits.startswith(trunk) and len(digits) - len(trunk) in lengths
    )
