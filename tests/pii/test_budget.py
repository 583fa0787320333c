"""Bounded work on hostile text: the detector's Python work grows linearly with the text's
length for every hostile shape, and its calls into phonenumbers stay within the per-text budget;
big files are scanned in bounded windows within a CPU budget (failed, never clean, past it).

Counted, not timed: CPU time against ordinary chat (≤ 20× for digit groups and random tables,
≤ 40× for dense PII) is a benchmark figure, `make bench ONLY=pii` (pii.hostile_ratio.*)."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterator
from typing import Any

import phonenumbers
import pytest

from bench.pii import forget
from bench.pii_hostile import DENSE_PII, DIGIT_GROUPS, RANDOM, fit, random_text
from pii.detector import BuiltinDetector
from pii.files import BudgetExceeded, text_scan
from pii.patterns import phone_context
from pii.patterns.phone_validation import REGIONS, Budget

SHAPES = {f"digits: {k}": (lambda n, u=u: fit(u, n)) for k, u in DIGIT_GROUPS.items()}
SHAPES |= {f"dense: {k}": (lambda n, u=u: fit(u, n)) for k, u in DENSE_PII.items()}
SHAPES |= {f"random: {k}": (lambda n, m=m: random_text(m, 1, n)) for k, m in RANDOM.items()}


def _python_calls(detector: BuiltinDetector, text: str) -> int:
    """Python-level calls (ours and the libraries', C functions included) of one detect() with
    every memo emptied: the same count on any machine, however busy."""
    forget()
    calls = 0

    def count(frame: Any, event: str, arg: Any) -> None:
        nonlocal calls
        if event in ("call", "c_call"):
            calls += 1

    sys.setprofile(count)
    try:
        detector.detect(text)
    finally:
        sys.setprofile(None)
    return calls


@pytest.mark.parametrize("name", list(SHAPES))
def test_work_on_hostile_text_grows_linearly_with_its_length(name):
    detector = BuiltinDetector()
    small, big = (_python_calls(detector, SHAPES[name](n)) for n in (40_000, 200_000))
    # 5× the text, at most 6× the work (a fixed cost per text aside, linear; quadratic: 25×)
    assert big <= 6 * small, f"{name}: {small} calls for 40 kB, {big} for 200 kB"
    assert small <= 4 * 40_000, f"{name}: {small} calls for 40 kB"


@pytest.fixture
def provider_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter]:
    """Calls into phonenumbers, counted at its boundary (each still runs)."""
    seen: Counter = Counter()

    def counted(name: str, fn: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            seen[name] += 1
            return fn(*args, **kwargs)

        return call

    for name in ("parse", "is_valid_number", "is_possible_number"):
        monkeypatch.setattr(phonenumbers, name, counted(name, getattr(phonenumbers, name)))
    monkeypatch.setattr(
        phone_context, "PhoneNumberMatcher", counted("matcher", phone_context.PhoneNumberMatcher)
    )
    yield seen


@pytest.mark.parametrize("name", list(SHAPES))
def test_phonenumbers_is_asked_no_more_than_the_budget_allows(name, provider_calls):
    text = SHAPES[name](40_000)
    forget()
    BuiltinDetector().detect(text)
    budget = Budget(len(text))  # a validation reads the number in each region whose table fits it
    assert provider_calls["parse"] <= budget.left * len(REGIONS), provider_calls
    assert provider_calls["matcher"] <= budget.calls, provider_calls


def _pieces(text: str, size: int = 1000):
    for i in range(0, len(text), size):
        yield text[i : i + size]


def test_big_file_scanned_in_windows_finds_each_value_once(settings):
    filler = "lorem ipsum dolor sit amet " * 40
    secrets = ["jan@example.pl", "4111 1111 1111 1111", "DE89 3704 0044 0532 0130 00"]
    text = "".join(filler + s + " " for s in secrets * 20)  # values straddle window cuts too
    result = text_scan(_pieces(text, 777), window=4096, budget=10)
    assert result.counts == {"EMAIL": 20, "CREDIT_CARD": 20, "IBAN": 20}
    assert result.chars == len(text)
    assert "[EMAIL]" in result.excerpt and "jan@" not in result.excerpt


def test_windows_cut_without_a_break_still_find_a_value_across_the_cut():
    text = "x" * 4090 + " jan@example.pl " + "y" * 5000
    assert text_scan(_pieces(text, 500), window=4096, budget=10).counts == {"EMAIL": 1}


def test_budget_exhausted_is_an_error_not_a_clean_result():
    text = fit("ssn 123 45 6789 ", 400_000)
    with pytest.raises(BudgetExceeded):
        text_scan(_pieces(text, 10_000), window=8192, budget=0.001)


ISSUE_21 = ("local after a label", "pairs after a verb", "ended by a label")


@pytest.mark.parametrize("name", ISSUE_21)
def test_40kb_of_new_phone_shapes_is_scanned_within_budget_and_its_numbers_are_found(name):
    # The new paths (phonenumbers' matcher per region, labels after the number) stay inside the
    # per-text budget, and a table of them is still reported: its first numbers mark it.
    detector = BuiltinDetector()
    detector.detect(random_text(RANDOM[name], 0))  # warm: phonenumbers' metadata, compiled once
    text = random_text(RANDOM[name], 4)
    found = [f for f in detector.detect(text) if f.type == "PHONE"]
    assert found and found[0].start < 100, found[:3]
