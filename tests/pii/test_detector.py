"""The built-in detector: exact spans, validation, Slack markup, hard negatives, the corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

from pii.detector import BuiltinDetector, detect, get_detector, redact
from pii.evaluation import load, mistakes, score

CORPUS = Path(__file__).parent / "corpus" / "corpus.jsonl"


def spans(text: str) -> list[tuple[str, str]]:
    return [(f.type, text[f.start : f.end]) for f in detect(text)]


@pytest.mark.parametrize(
    "text,expected",
    [
        ("mail jan.kowalski@example.pl.", [("EMAIL", "jan.kowalski@example.pl")]),
        ("<mailto:a@b.com|a@b.com>", [("EMAIL", "a@b.com"), ("EMAIL", "a@b.com")]),
        ("メールはtaro@example.jpです", [("EMAIL", "taro@example.jp")]),
        ("Почта: иван@пример.рф!", [("EMAIL", "иван@пример.рф")]),
        ("Jörg.Müller@bücher.de", [("EMAIL", "Jörg.Müller@bücher.de")]),
        ("https://x.com/u?email=john@doe.com&a=1", [("EMAIL", "john@doe.com")]),
        ("(555) 123-4567", [("PHONE", "(555) 123-4567")]),
        ("call +44 (0)20 7946 0958.", [("PHONE", "+44 (0)20 7946 0958")]),
        ("(tel 030 1234567)", [("PHONE", "030 1234567")]),
        ("Mój numer: 601 234 567", [("PHONE", "601 234 567")]),
        ("am 15.03.2024 0171 2345678 erreichbar", [("PHONE", "0171 2345678")]),
        ("nums 601 234 567 602 345 678", [("PHONE", "601 234 567"), ("PHONE", "602 345 678")]),
        ("電話は03-1234-5678です", [("PHONE", "03-1234-5678")]),
        ("4111 1111 1111 1111 12/27", [("CREDIT_CARD", "4111 1111 1111 1111")]),
        ("MC 2223-0031-2200-3222", [("CREDIT_CARD", "2223-0031-2200-3222")]),
        ("amex 378282246310005", [("CREDIT_CARD", "378282246310005")]),
        ("DE89 3704 0044 0532 0130 00 bitte", [("IBAN", "DE89 3704 0044 0532 0130 00")]),
        ("NO9386011117947", [("IBAN", "NO9386011117947")]),
        ("SSN 123-45-6789", [("US_SSN", "123-45-6789")]),
        ("host 192.168.0.1:8080", [("IP_ADDRESS", "192.168.0.1")]),
        (
            "at [2001:db8::1]:443 and ::ffff:192.0.2.1.",
            [("IP_ADDRESS", "2001:db8::1"), ("IP_ADDRESS", "::ffff:192.0.2.1")],
        ),
    ],
)
def test_exact_spans(text, expected):
    assert spans(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "<@U123ABC> see <#C123|general>",
        "ts 1712345678.123456",
        "version 1.2.3 and v2.10.4.1",
        "1.2.3.4.5",
        "Release 10.4.2.1",
        "2024-03-15, 15.03.2024, 03/15/2024 at 10:30",
        "Order #123456789",
        "uuid 123e4567-e89b-12d3-a456-426614174000",
        "ISBN 978-3-16-148410-0",
        "OID 1.3.6.1.4.1.311.21.7",
        "§ 4.2.1",
        "zip 90210 or 10001-1234",
        "total $1,234,567.89",
        "4111 1111 1111 1112",
        "1234 5678 9012 3456",
        "DE89 3704 0044 0532 0130 01",
        "000-12-3456 666-12-3456 900-12-3456 123-00-4567 123-45-0000",
        "https://example.com/orders/4111111111111111",
        "https://user:pw@host.example.com/",
        "icon@2x.png",
        "git@github.com:org/repo.git",
        "MAC 00:1A:2B:3C:4D:5E",
        "std::vector",
        "Population 38 386 000",
        "NIP 123-456-32-18",
        "Lot 2024-03-15-001",
    ],
)
def test_hard_negatives(text):
    assert detect(text) == []


def test_luhn_checked_for_every_length_and_grouping():
    assert spans("maestro 675964982643") == []  # 12 digits, Luhn fails
    assert spans("visa 4222222222222") == [("CREDIT_CARD", "4222222222222")]  # 13
    assert spans("diners 3056 9309 0259 04") == [("CREDIT_CARD", "3056 9309 0259 04")]  # 14


def test_redact_replaces_each_finding_with_its_type():
    text = "mail a@b.com, card 4111-1111-1111-1111"
    assert redact(text, detect(text)) == "mail [EMAIL], card [CREDIT_CARD]"


def test_detector_is_chosen_in_settings(settings):
    assert isinstance(get_detector(), BuiltinDetector)
    settings.PII_DETECTOR = "tests.pii.engines.OnlyDigits"
    engine = get_detector()
    assert type(engine).__name__ == "OnlyDigits"
    assert [f.type for f in engine.detect("a1")] == ["PHONE"]


def test_corpus_exact_span_f1_is_at_least_097_for_every_type():
    rows = load(CORPUS)
    assert len(rows) >= 150
    result = score(rows, detect)
    assert all(result[t]["tp"] > 0 for t in result), result
    low = {t: round(r["f1"], 3) for t, r in result.items() if r["f1"] < 0.97}
    assert not low, (low, mistakes(rows, detect)[:20])


def test_corpus_is_built_from_its_source():
    from tests.pii.corpus.build import build

    assert build() == load(CORPUS)


def test_fullwidth_digits_still_take_the_full_path():
    # The fast pre-checks count ASCII digits; other scripts' digits must not slip past them.
    found = detect("電話 ＋４８ ６０１ ２３４ ５６７ まで")
    assert [(f.type, f.start, f.end) for f in found] == [("PHONE", 4, 18)]


def test_the_fast_cluster_scan_on_the_shape_agrees_with_the_regex():
    import random

    from pii.detector import _CLUSTER
    from pii.prefilter import CLUSTER, shape_of

    rnd, alphabet = random.Random(7), "0123456789 -.\n\t/()ab:+\u00a0é"
    for _ in range(20_000):
        t = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 40)))
        shape = shape_of(t)
        assert shape is not None and len(shape) == len(t)
        assert [m.span() for m in CLUSTER.finditer(shape)] == [m.span() for m in _CLUSTER.finditer(t)], repr(
            t
        )


@pytest.mark.parametrize(
    "text,expected",
    [
        ("call (555)123-4567x4587 now", [("PHONE", "(555)123-4567x4587")]),
        ("Tel: 020 7946 0958 ext. 123", [("PHONE", "020 7946 0958 ext. 123")]),
        ("call 001-202-555-0143x12", [("PHONE", "001-202-555-0143x12")]),
        ("desk: 415.555.0132", [("PHONE", "415.555.0132")]),
        ("My number is 0612345678", [("PHONE", "0612345678")]),
        ("<tel:+15551234567|call>", [("PHONE", "+15551234567")]),
        ("jcb 213112345678904 ok", [("CREDIT_CARD", "213112345678904")]),
        ("jcb 3088 0000 0000 0009", [("CREDIT_CARD", "3088 0000 0000 0009")]),
        ("scan_123-45-6789.pdf", [("US_SSN", "123-45-6789")]),
        ("123456789 (SSN)", [("US_SSN", "123456789")]),
        ("contacts_jan@example.pl.csv", [("EMAIL", "contacts_jan@example.pl")]),
        ("after the 2.0.1 upgrade host 10.2.0.1 died", [("IP_ADDRESS", "10.2.0.1")]),
        ("https://x.example/?card=4111111111111111&a=1", [("CREDIT_CARD", "4111111111111111")]),
        ("42,4111 1111 1111 1111,12/29", [("CREDIT_CARD", "4111 1111 1111 1111")]),
    ],
)
def test_real_world_formats(text, expected):
    assert spans(text) == expected


@pytest.mark.parametrize(
    "text,expected",
    [
        ("upgrade to version 10.2.0.1 tonight", []),
        ("https://example.com/orders/4111111111111111/details", []),  # a path segment is an id
        (
            "see https://example.com/path?id=123456789|the dashboard>, ssn:078051121",
            [("US_SSN", "078051121")],
        ),
        ("1600 Amphitheatre Parkway, Mountain View, CA 94043", []),  # street numbers are not phones
        ("call count 5551234567890 this quarter", []),
    ],
)
def test_real_world_negatives_stay_negative(text, expected):
    assert spans(text) == expected


@pytest.mark.parametrize(
    "text,expected",
    [
        # Issue 21: local numbers (no country or area code) right after a label or a verb.
        ("Phone: 512 3381", ["512 3381"]),
        ("Mobile: 401 22 719", ["401 22 719"]),
        ("ring me on 8813 2240?", ["8813 2240"]),
        ("nobody picks up at 61 447 302", ["61 447 302"]),
        ("erreichbar unter 234 78 65", ["234 78 65"]),
        # National groupings: pairs, a short area code in parentheses.
        ("Tlf. 62-18-40-77", ["62-18-40-77"]),
        ("tel (41) 377-902", ["(41) 377-902"]),
        # A label after the number ends it, as address-book exports write contact blocks.
        ("071 233 5510-Office\\,+33 (0)1 44 55 66 77-Fax", ["071 233 5510", "+33 (0)1 44 55 66 77"]),
        ("4412983305-Fax", ["4412983305"]),
        ("TEL;TYPE=cell:07400124966-Mobile", ["07400124966"]),
        ("+1 512 338 1234-Mobile", ["+1 512 338 1234"]),
        ("Handy: 0171 2345678-privat", ["0171 2345678"]),
        ("Office-071 233 5510", ["071 233 5510"]),  # glued by a dash before the number
        ("Fax-4412983305", ["4412983305"]),
    ],
)
def test_phone_numbers_as_people_write_them(text, expected):
    assert spans(text) == [("PHONE", n) for n in expected]


@pytest.mark.parametrize(
    "text",
    [
        "the depot is at 12045 3310 Oak St",  # a house number before a street
        "licence number 4471-02-8893",  # an identifier introduced as one
        "driver's license 551 203 8871 on file",
        "policy number 7712 4490 33 renews in May",
        "Führerscheinnummer 4471 0288 93 liegt vor",
        "numer polisy 4471 0288 93 ważny do grudnia",
        "Office hours 0900-1700, call ahead",  # a time range
    ],
)
def test_numbers_the_context_names_as_something_else_are_no_phones(text):
    assert detect(text) == []


def test_a_local_number_needs_its_label_or_verb():
    # The same digits without a phone word are valid nowhere: not reported.
    assert spans("nobody picks up at 61 447 302") == [("PHONE", "61 447 302")]
    assert spans("we counted 61 447 302") == []
    assert spans("Kundennummer 401 22 719, bitte angeben") == []


def test_an_e164_number_ending_a_contact_line_needs_no_word():
    # Possible (not valid) and unformatted: counted where it ends an item, not mid-sentence.
    assert spans("Jane Doe, 12 Oak Road, +44837533740") == [("PHONE", "+44837533740")]
    assert spans("+15000000000 views in total") == []


@pytest.mark.parametrize(
    "text,expected",
    [
        # A contact block's field labels before the number, and numbers listed under one label.
        ("Work: 512 3381", ["512 3381"]),
        ("Home - 512 3381", ["512 3381"]),
        ("Cell #: 512 3381", ["512 3381"]),
        ("Home: 401 22 719\nWork: 8813 2240", ["401 22 719", "8813 2240"]),
        ("Phone 512 3381 / 512 3382", ["512 3381", "512 3382"]),
        ("You can call me on 512 3381 or 512 3382.", ["512 3381", "512 3382"]),
    ],
)
def test_field_labels_and_lists_name_local_numbers(text, expected):
    assert spans(text) == [("PHONE", n) for n in expected]
