"""The value every detector returns. Kept free of Django so detectors run anywhere."""

from __future__ import annotations

from dataclasses import dataclass

TYPES = ("EMAIL", "PHONE", "CREDIT_CARD", "IBAN", "US_SSN", "IP_ADDRESS")


@dataclass(frozen=True, slots=True)
class Finding:
    """One piece of PII: `text[start:end]` (Python str offsets, end exclusive)."""

    type: str
    start: int
    end: int
    score: float
