"""The prefilter shape (pii.prefilter) changes how fast the detector finds things, never what.

Each shape pattern must match exactly the spans of the text pattern it stands for, and the
detector must report the same findings with the shape as without it (text patterns only), on
the corpus, on the bench's number-dense lines and on random and hostile text.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

from pii import prefilter
from pii.detector import BuiltinDetector
from pii.evaluation import load
from pii.patterns import network, numbers, phone_context, phone_judge, phones

CORPUS = Path(__file__).parent / "corpus" / "corpus.jsonl"
ALPHABET = "0123456789 -./()+:,;\n\tabxeDEPLGB@#$€\u00a0éąд電\u212a\u017f\u1c81"
WORDS = (
    "tel Phone: call me at ring me on fax mobile Handy erreichbar unter zadzwoń order invoice "
    "licence policy version SSN ssn TIN ref -Office -Fax (privat) Work: M: Cell #: oder or und "
    "Oak St Ave $ € USD zł kg % x ext. ext Durchwahl wew. tel: DE89 GB82 PL61 NO93 iban visa "
    "+44 +1 +48 00 0 телефон 電話 です ab is on my picks up https:// www. a@b.com 10.0.0.1 ::1"
).split(" ")


def _random_texts(n: int, seed: int) -> list[str]:
    rnd = random.Random(seed)
    rows = [r["text"] for r in load(CORPUS)]
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rnd.randint(1, 24)):
            x = rnd.random()
            if x < 0.45:
                parts.append(
                    "".join(rnd.choice("0123456789") for _ in range(rnd.choice((1, 2, 3, 4, 4, 7, 9, 12))))
                )
            elif x < 0.75:
                parts.append(rnd.choice(WORDS))
            elif x < 0.9:
                t = rnd.choice(rows)
                i = rnd.randint(0, len(t))
                parts.append(t[i : i + rnd.randint(0, 40)])
            else:
                parts.append("".join(rnd.choice(ALPHABET) for _ in range(rnd.randint(1, 6))))
            parts.append(rnd.choice((" ", " ", "-", ".", "/", "", ", ", "\n", "\u00a0", ": ")))
        out.append("".join(parts))
    return out


def test_shape_patterns_match_the_text_patterns_spans():
    pairs = [
        (prefilter.IBAN_RUN, numbers.IBAN_RUN),
        (prefilter.PHONE_CANDIDATE, phones.CANDIDATE),
        (prefilter.IPV4, network.IPV4),
    ]
    for text in _random_texts(4000, 3):
        shape = prefilter.shape_of(text)
        if shape is None:
            continue
        assert len(shape) == len(text)
        for fast, slow in pairs:
            assert [m.span() for m in fast.finditer(shape)] == [m.span() for m in slow.finditer(text)], text
        # The shape's card runs: the text pattern's runs that hold a card's twelve digits and
        # start with a group of four digits at least (numbers._card_ends refuses the others).
        runs = [
            m.span()
            for m in numbers.CARD_RUN.finditer(text)
            if sum(c.isdigit() for c in m.group()) >= 12
            and len(numbers._RUN_SEPARATOR.split(m.group())[0]) >= 4
        ]
        assert [m.span() for m in prefilter.CARD_RUN.finditer(shape)] == runs, text
        assert numbers._plain(text, shape) == numbers._plain(text, None), text
        dashed = [m.span() for m in numbers._dashed(text, shape)]
        assert dashed == [m.span() for m in numbers._dashed(text, None)], text


def test_no_shape_for_other_scripts_digits_or_an_en_dash():
    assert prefilter.shape_of("tel ０３-１２３４") is None
    assert prefilter.shape_of("Mo–Fr 030 123456") is None
    assert prefilter.shape_of("Tel.\u00a0030 123456 é") == b"aaa. 000 000000 ?"


def _bench_dense() -> list[str]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from bench.pii import _dense

    return _dense(1500, load(CORPUS))


@pytest.mark.parametrize("source", ["corpus", "dense", "random"])
def test_prefiltered_scans_find_exactly_what_full_scans_find(source, monkeypatch):
    if source == "corpus":
        texts = [r["text"] for r in load(CORPUS)]
    elif source == "dense":
        texts = _bench_dense()
    else:
        texts = _random_texts(3000, 11) + [
            ("1 " * 3000),
            ("4111 1111 1111 1111 " * 80),
            ("+44 20 7946 0958, " * 90),
        ]
    detector = BuiltinDetector()
    fast = [detector.detect(t) for t in texts]
    monkeypatch.setattr(prefilter, "shape_of", lambda text: None)  # text patterns only
    assert [detector.detect(t) for t in texts] == fast


def _first_letters(pattern, samples) -> set[str]:
    """Every character that `pattern` (re.I folding included) accepts as a sample's first letter:
    the cased characters and the ASCII ones are all that case folding can relate."""
    cased = [chr(i) for i in range(0x3000) if chr(i).lower() != chr(i).upper() or i < 0x80]
    return {c for c in cased for rest in samples if pattern(c + rest)}


def test_gates_admit_every_first_letter_their_patterns_accept():
    ext = _first_letters(
        lambda s: phones.EXTENSION.match(s), ["", "xt12", "xtn12", "xtension12", "об12", "ew12"]
    )
    ext |= _first_letters(
        lambda s: phones.EXTENSION.match(s), ["urchwahl12", "W12", "oste12", "ext=12", "12"]
    )
    assert ext <= phones.EXT_LETTERS
    unit = _first_letters(
        lambda s: phone_judge.UNIT_AFTER.match(s + " "), ["sd", "ur", "bp", "ln", "hf", "py", "ub"]
    )
    unit |= _first_letters(
        lambda s: phone_judge.UNIT_AFTER.match(s + " "), ["ł", "l", "r", "ollars", "en", "уб", "b"]
    )
    unit |= _first_letters(
        lambda s: phone_judge.UNIT_AFTER.match(s + " "), ["m", "g", "s", "ec", "in", "uro", ""]
    )
    assert (
        unit - {" ", "\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f", "\x85"}
        <= phone_judge.UNIT_FIRST
    )
    labels = set()
    for label in phone_context.LABELS:
        labels |= _first_letters(lambda s: phone_context.LABEL_AFTER.match(" " + s), [label[1:]])
    assert labels <= phone_context.LABEL_LETTERS
