"""Phone numbers as people write them, derived from the numbering plans (libphonenumber's
metadata and example numbers, subscriber digits varied and re-validated), not from a dataset.

- Local numbers without country or area code after a label or a verb (EN/DE/PL): the
  subscriber part of a valid fixed-line number, grouped as the region prints it.
- National numbers in groups of two (the Danish and Norwegian eight-digit plans) and with a
  short area code in parentheses (the German, Austrian and Swiss area codes).
- Contact blocks as address-book exports write them: "<number>-Office\\,<number>-Fax".
- E.123 international numbers with the trunk prefix in parentheses ("+44 (0)20 …") for the
  plans that dial a trunk "0", and E.164 digits regrouped ("+447911 123 456") or unbroken.
- What is not a phone though shaped like one: a house number before a street, an identifier
  after its name (licence, policy, booking …), a date in groups, order/invoice/version numbers.
"""

from __future__ import annotations

import random

import phonenumbers as pn

R = random.Random(21)
FIXED, MOBILE = pn.PhoneNumberType.FIXED_LINE, pn.PhoneNumberType.MOBILE

LABELS = {
    "en": ["Phone: {n}", "Mobile: {n}", "Tel: {n}", "ring me on {n}?", "call me on {n} after six",
           "nobody picks up at {n}", "Fax: {n}", "Home: {n}", "text me on {n}", "M: {n}"],
    "de": ["Telefon: {n}", "Handy: {n}", "ruf mich an unter {n}", "erreichbar unter {n}",
           "Festnetz: {n}", "Durchwahl {n}", "Tel. privat: {n}"],
    "pl": ["Tel.: {n}", "komórka: {n}", "zadzwoń pod {n}", "dzwoń na {n} po 18",
           "numer telefonu: {n}", "tel. stacjonarny {n}"],
}  # fmt: skip
LOCAL_REGIONS = {"US": ("en", 0), "GB": ("en", 0), "DE": ("de", 1), "CH": ("de", 0), "PL": ("pl", 0)}


def valid_variant(region: str, kind: pn.PhoneNumberType, extra: int = 0) -> pn.PhoneNumber:
    """The region's example number with its last four digits varied (and `extra` appended:
    Berlin's subscriber numbers run from five to eight digits), valid per the metadata."""
    base = pn.example_number_for_type(region, kind)
    assert base is not None, region
    nsn = str(base.national_number)
    for _ in range(50):
        tail = "".join(R.choice("0123456789") for _ in range(4 + extra))
        num = pn.PhoneNumber(country_code=base.country_code, national_number=int(nsn[:-4] + tail))
        if pn.is_valid_number_for_region(num, region):
            return num
    return base


def local_part(num: pn.PhoneNumber) -> str:
    """The subscriber number as the region prints it, without the area code: the national
    format's groups after the first (NANP "(512) 338-1234" → "338-1234")."""
    national = pn.format_number(num, pn.PhoneNumberFormat.NATIONAL)
    head, _, rest = national.partition(")") if national.startswith("(") else national.partition(" ")
    return rest.strip()


def local_rows() -> list[str]:
    rows = []
    for region, (lang, extra) in LOCAL_REGIONS.items():
        made = 0
        for _ in range(20):
            if made == 3:
                break
            num = valid_variant(region, FIXED, extra)
            # Poland's plan is closed (every call dials all nine digits): written whole.
            local = (
                pn.format_number(num, pn.PhoneNumberFormat.NATIONAL) if region == "PL" else local_part(num)
            )
            if sum(c.isdigit() for c in local) < 7:
                continue  # five- and six-digit subscriber numbers are not written alone here
            if R.random() < 0.4:
                local = local.replace(" ", "").replace("-", " ") if "-" in local else local
            rows.append(R.choice(LABELS[lang]).format(n=f"[[PHONE|{local}]]"))
            made += 1
    return rows


def pairs_and_area_rows() -> list[str]:
    rows = []
    for region, words in (("DK", ["Tlf.", "mobil", "ring på", "Phone:"]), ("NO", ["Tlf.", "mobil", "ring"])):
        for kind in (FIXED, MOBILE):
            d = str(valid_variant(region, kind).national_number)
            sep = R.choice([" ", "-"])  # dotted, four pairs are an IPv4 address
            rows.append(f"{R.choice(words)} [[PHONE|{sep.join(d[i : i + 2] for i in range(0, 8, 2))}]]")
    for region in ("DE", "AT", "CH"):
        for _ in range(2):
            national = pn.format_number(valid_variant(region, FIXED), pn.PhoneNumberFormat.NATIONAL)
            area, _, rest = national.partition(" ")
            written = f"({area}) {rest}" if R.random() < 0.5 else f"({area}) {rest.replace(' ', '')}"
            rows.append(R.choice(LABELS["de"]).format(n=f"[[PHONE|{written}]]"))
    return rows


def trunk_and_grouping_rows() -> list[str]:
    rows = []
    for region in ("GB", "DE", "FR", "CH", "AT", "NL", "BE"):
        num = valid_variant(region, R.choice([FIXED, MOBILE]))
        national = pn.format_number(num, pn.PhoneNumberFormat.NATIONAL)
        assert national.startswith("0"), national
        written = f"+{num.country_code} (0){national[1:]}"
        if R.random() < 0.3:
            written = written.replace(" (0)", "(0)")
        rows.append(
            R.choice(["Tel {n}", "call {n}", "{n}", "Kontakt: {n}", "Switchboard {n}"]).format(
                n=f"[[PHONE|{written}]]"
            )
        )
    for region in ("GB", "DE", "PL", "IE", "FR", "ES"):
        num = valid_variant(region, MOBILE)
        e164 = pn.format_number(num, pn.PhoneNumberFormat.E164)
        cut = len(str(num.country_code)) + 1 + R.choice([3, 4])
        written = R.choice([e164, f"{e164[:cut]} {e164[cut : cut + 3]} {e164[cut + 3 :]}"])
        rows.append(
            R.choice(["{n}", "mobile {n}", "WhatsApp {n}", "reach me on {n}"]).format(
                n=f"[[PHONE|{written}]]"
            )
        )
    return rows


def contact_block_rows() -> list[str]:
    rows = []
    for region in ("US", "GB", "CH"):  # field labels and lists of local numbers
        a, b = (local_part(valid_variant(region, FIXED)) for _ in range(2))
        if sum(c.isdigit() for c in a) >= 7 and sum(c.isdigit() for c in b) >= 7:
            rows.append(f"Home: [[PHONE|{a}]]\\nWork: [[PHONE|{b}]]")
            rows.append(f"Phone [[PHONE|{a}]] / [[PHONE|{b}]]")
            rows.append(f"call me on [[PHONE|{a}]] or [[PHONE|{b}]] after six")
    for region, other in (("GB", "FR"), ("US", "DE"), ("DE", "GB"), ("PL", "US")):
        a = pn.format_number(valid_variant(region, FIXED), pn.PhoneNumberFormat.NATIONAL)
        b = pn.format_number(valid_variant(other, FIXED), pn.PhoneNumberFormat.INTERNATIONAL)
        c = "".join(
            ch
            for ch in pn.format_number(valid_variant(region, MOBILE), pn.PhoneNumberFormat.NATIONAL)
            if ch.isdigit()
        )
        la, lb = R.choice([("Office", "Fax"), ("Work", "Home"), ("Büro", "Fax"), ("Main", "Mobile")])
        rows.append(f"Jan Nowak\\,[[PHONE|{a}]]-{la}\\,[[PHONE|{b}]]-{lb}")
        rows.append(f"TEL;TYPE=cell:[[PHONE|{c}]]-Mobile")
        g1, g2 = R.sample(["Office", "Fax", "Mobile", "Tel", "Büro", "Cell"], 2)
        rows.append(f"{g1}-[[PHONE|{c}]]\\,{g2}-[[PHONE|{a}]]")
        rows.append(f"Ann Lee, Acme Ltd — [[PHONE|{b}]] mobile, [[PHONE|{a}]] (office)")
    return rows


NEGATIVES = [
    "the depot is at 12045 3310 Oak St, behind the bakery",
    "we moved to 2210 4418 Maple Avenue last spring",
    "send it to 1500 2250 W Main St, Suite 300",
    "licence number 4471-02-8893 expires next year",
    "driver's license 551 203 8871 on file",
    "policy number 7712 4490 33 renews in May",
    "booking reference 612 334 9980, gate B12",
    "member no. 4471 0288 93, since 2019",
    "Passport 5512 3381 is scanned",
    "Führerscheinnummer 4471 0288 93 liegt vor",
    "Vertragsnummer 6218 4077 gültig ab Juli",
    "numer polisy 4471 0288 93 ważny do grudnia",
    "Faktura 6218 4077 z dnia 15.03.2024",
    "invoice 512 3381 was paid",
    "order 62-18-40-77 is in transit",
    "version 12 45 33 10 ships tomorrow",
    "Call booked for 15 03 2024 at 10:30",
    "see you on 2024 03 15, call first",
    "Kundennummer 401 22 719, bitte angeben",
    "Zamówienie 61 447 302 wysłane",
    "The call had 12 345 678 listeners",  # a phone word, but its verb is about something else
    "The mobile app has 1 234 567 downloads",
    "release 12 34 56 78 mobile app",  # a label word that goes on as a phrase
    "Build 20240315 home page fix",  # a compact date
    "Office hours 0900-1700, call ahead",  # a time range
    "We shipped 1 234 567 units, call it a win",
]


def rows() -> list[str]:
    return [
        *local_rows(),
        *pairs_and_area_rows(),
        *trunk_and_grouping_rows(),
        *contact_block_rows(),
        *NEGATIVES,
    ]
