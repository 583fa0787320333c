"""Examples derived from the formats' specifications, not from any published dataset.

- Cards: each network's IIN ranges and lengths (ISO/IEC 7812 registrations as the networks
  publish them), a Luhn check digit, printed as the networks group them (4-4-4-4, Amex 4-6-5,
  Diners 4-6-4, 19 digits 4-4-4-4-3) or unbroken.
- IBANs: ISO 13616 (country code, mod-97 check digits over the BBAN, country length table),
  printed in groups of four or compact.
- Phones: national numbering plans through libphonenumber's metadata (phonenumbers' example
  numbers, their subscriber digits varied and re-validated), written nationally after a
  context word in the region's language, internationally (E.164 / E.123), dotted, dashed, with
  extensions (E.123 "ext.", "x").
- SSNs: the SSA's rules (area 001-665 / 667-899, group 01-99, serial 0001-9999), label before
  or after; and what the SSA never issues (area 000/666/9xx, group 00, serial 0000) as negatives.
- Negatives: street numbers, versions before addresses, file names without PII.

`rows()` is deterministic; build.py writes them after source.txt's hand-written lines.
"""

from __future__ import annotations

import random

import phonenumbers as pn

from pii.patterns.iban_lengths import IBAN_LENGTHS
from tests.pii.corpus import specs_phones

R = random.Random(13616)

CARD_NETWORKS = [  # (name, prefixes, lengths)
    ("Visa", ["4"], [13, 16, 19]),
    ("Mastercard", ["51", "52", "53", "54", "55", "2221", "2500", "2720"], [16]),
    ("Amex", ["34", "37"], [15]),
    ("Diners Club", ["300", "305", "36", "38"], [14]),
    ("JCB", ["3528", "3560", "3589"], [16]),
    ("JCB", ["3088", "3096", "3112", "3158", "3337"], [16]),
    ("JCB", ["2131", "1800"], [15]),
    ("Discover", ["6011", "644", "649", "65"], [16]),
    ("UnionPay", ["62"], [16, 17, 18, 19]),
    ("Maestro", ["5018", "5020", "5038", "6304", "6759", "6761"], [12, 13, 16, 19]),
    ("Mir", ["2200", "2204"], [16]),
    ("RuPay", ["60", "81", "82"], [16]),
]


def luhn_complete(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


def card_number(prefix: str, length: int) -> str:
    body = prefix + "".join(R.choice("0123456789") for _ in range(length - len(prefix) - 1))
    return luhn_complete(body)


def card_printed(d: str) -> str:
    n = len(d)
    if R.random() < 0.35:
        return d
    sep = R.choice([" ", "-"])
    if n == 15:
        return sep.join((d[:4], d[4:10], d[10:]))
    if n == 13:
        return sep.join((d[:4], d[4:8], d[8:]))
    if n == 14:
        return sep.join((d[:4], d[4:10], d[10:]))
    return sep.join(d[i : i + 4] for i in range(0, n, 4))


IBAN_LETTERS = {"GB": 4, "IE": 4, "NL": 4, "RO": 4, "BG": 4, "IT": 1, "SM": 1, "MT": 4, "PK": 4}


def iban(country: str) -> str:
    n = IBAN_LENGTHS[country] - 4
    letters = IBAN_LETTERS.get(country, 0)
    bban = "".join(R.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(letters))
    bban += "".join(R.choice("0123456789") for _ in range(n - letters))
    moved = bban + country + "00"
    check = 98 - int("".join(str(int(c, 36)) for c in moved)) % 97
    return f"{country}{check:02d}{bban}"


def iban_printed(value: str) -> str:
    if R.random() < 0.4:
        return value
    return " ".join(value[i : i + 4] for i in range(0, len(value), 4))


PHONE_REGIONS = {  # region: (context words as people write them, sentence templates)
    "US": (["phone", "call", "cell", "fax", "desk", "mobile", "Tel"], "{w}: {n}"),
    "GB": (["tel", "mobile", "ring me on", "phone"], "{w} {n}"),
    "DE": (["Telefon", "Handy", "Tel.", "Mobil", "Fax"], "{w}: {n}"),
    "AT": (["Tel.", "Handy"], "{w} {n}"),
    "CH": (["Tel.", "Natel", "Telefon"], "{w} {n}"),
    "PL": (["tel. kom.", "telefon", "tel.", "komórka"], "{w} {n}"),
    "FR": (["tél.", "portable", "téléphone"], "{w} : {n}"),
    "ES": (["móvil", "teléfono", "llámame al"], "{w} {n}"),
    "IT": (["cellulare", "tel", "chiamami al"], "{w} {n}"),
    "NL": (["telefoon", "mobiel", "bel"], "{w} {n}"),
    "SE": (["telefon", "mobil"], "{w} {n}"),
    "BE": (["tel", "gsm"], "{w} {n}"),
    "PT": (["telemóvel", "tel."], "{w} {n}"),
    "IE": (["mobile", "phone"], "{w} {n}"),
    "AU": (["mobile", "ph"], "{w} {n}"),
    "BR": (["celular", "telefone"], "{w} {n}"),
    "JP": (["電話", "携帯"], "{w}：{n}"),
}


def phone_variant(region: str, kind: int) -> pn.PhoneNumber | None:
    base = pn.example_number_for_type(region, kind)
    if base is None:
        return None
    for _ in range(20):
        nsn = str(base.national_number)
        tail = "".join(R.choice("0123456789") for _ in range(3))
        num = pn.PhoneNumber(country_code=base.country_code, national_number=int(nsn[:-3] + tail))
        if pn.is_valid_number_for_region(num, region):
            return num
    return base


def phone_rows() -> list[str]:
    rows = []
    for region, (words, template) in PHONE_REGIONS.items():
        for kind in (pn.PhoneNumberType.FIXED_LINE, pn.PhoneNumberType.MOBILE):
            num = phone_variant(region, kind)
            if num is None:
                continue
            national = pn.format_number(num, pn.PhoneNumberFormat.NATIONAL)
            intl = pn.format_number(num, pn.PhoneNumberFormat.INTERNATIONAL)
            rows.append(template.format(w=R.choice(words), n=f"[[PHONE|{national}]]"))
            rows.append(f"{R.choice(words)} [[PHONE|{intl}]]")
            if kind == pn.PhoneNumberType.MOBILE:  # typed without any grouping
                bare = "".join(c for c in national if c.isdigit())
                rows.append(f"{R.choice(words)} [[PHONE|{bare}]]")
    # NANP as people write it: dotted, dashed, parenthesised, with extensions (E.123, "x").
    for _ in range(8):
        area = R.choice(["202", "212", "312", "415", "617", "718", "305", "512"])
        line = f"{R.randint(200, 999)}"
        sub = f"{R.randint(0, 9999):04d}"
        shape = R.choice(
            [
                f"{area}.{line}.{sub}",
                f"({area}) {line}-{sub}",
                f"{area}-{line}-{sub}",
                f"({area}){line}-{sub}",
            ]
        )
        ext = R.choice(
            ["", f" x{R.randint(10, 99999)}", f" ext. {R.randint(1, 999)}", f"x{R.randint(100, 9999)}"]
        )
        word = R.choice(["phone", "call me at", "desk", "fax", "cell", "office"])
        rows.append(f"{word} [[PHONE|{shape}{ext}]] (after 5pm)")
    return rows


def ssn() -> str:
    area = R.choice([R.randint(1, 665), R.randint(667, 899)])
    return f"{area:03d}-{R.randint(1, 99):02d}-{R.randint(1, 9999):04d}"


def rows() -> list[str]:
    out: list[str] = []
    for name, prefixes, lengths in CARD_NETWORKS:
        for prefix in prefixes:
            d = card_printed(card_number(prefix, R.choice(lengths)))
            out.append(R.choice([
                f"{name} card [[CREDIT_CARD|{d}]] exp 08/29",
                f"pay with [[CREDIT_CARD|{d}]] please",
                f"Karte: [[CREDIT_CARD|{d}]]",
                f"name,card,exp\\nJan Nowak,[[CREDIT_CARD|{d}]],08/29",
            ]))  # fmt: skip
    for country in ("DE", "GB", "FR", "ES", "IT", "NL", "PL", "AT", "CH", "BE", "PT", "SE", "NO", "DK",
                    "FI", "IE", "LU", "CZ", "HU", "RO", "GR", "TR", "SA", "AE", "BR"):  # fmt: skip
        value = iban_printed(iban(country))
        out.append(
            R.choice(
                [f"IBAN: [[IBAN|{value}]]", f"wire to [[IBAN|{value}]] today", f"Konto [[IBAN|{value}]]"]
            )
        )
    out.extend(phone_rows())
    out.extend(specs_phones.rows())  # issue 21: local, grouped, labelled, trunk-noted; false alarms
    for _ in range(6):
        s = ssn()
        out.append(R.choice([
            f"SSN [[US_SSN|{s}]]",
            f"[[US_SSN|{s}]] is my SSN",
            f"employee,ssn\\nJan,[[US_SSN|{s}]]",
            f"attached scan_[[US_SSN|{s}]].pdf",
            f"[[US_SSN|{s.replace('-', '')}]] (SSN)",
        ]))  # fmt: skip
    out += [  # what the specs say is not PII, in the shapes above
        "SSN 000-12-3456 is never issued, nor 666-12-3456 or 912-12-3456",
        "placeholder 123-00-4567 and 123-45-0000 (SSA never issues group 00 or serial 0000)",
        "We moved to 1600 Amphitheatre Parkway, Mountain View, CA 94043",
        "Office: 221B Baker Street, London NW1 6XE",
        "Musterstraße 123, 10115 Berlin, 3. Stock",
        "upgrade to version 10.2.0.1 tonight",
        "firmware 2.1.0.3 released",
        "after the 2.0.1 upgrade host [[IP_ADDRESS|192.168.10.20]] stopped answering",
        "https://crm.example.com/lead?phone=[[PHONE|+442079460958]]&src=chat",
        "tél. [[PHONE|01.23.45.67.89]] ou portable [[PHONE|06.12.34.56.78]]",
        "Release 01.23.45 and build 10.4.2.1",
        "https://pay.example.com/checkout?card=[[CREDIT_CARD|4111111111111111]]&exp=1229",
        "https://forms.example.com/submit?ssn=[[US_SSN|536-22-8726]]",
        "https://example.com/orders/4111111111111111/details (an order id in a path)",
        "```\\ncurl -d 'email=[[EMAIL|ops@example.org]]' http://[[IP_ADDRESS|10.9.8.7]]:8080/api\\n```",
        "v1.2.3 deployed on [[IP_ADDRESS|10.20.30.40]]",
        "export_2024-03-15_final.csv is ready",
        "card 4111 1111 1111 1112 fails Luhn",
        "IIN 9999 9999 9999 9995 is no network's",
    ]
    return out
