"""The value every detector returns. Kept free of Django so detectors run anywhere."""

from __future__ import annotations

from dataclasses import dataclass

TYPES = ("EMAIL", "PHONE", "CREDIT_CARD", "IBAN", "US_SSN", "IP_ADDRESS")


@dataclass(frozen=True, slots=True, init=False)
class Finding:
    """One piece of PII: `text[start:end]` (Python str offsets, end exclusive).

    Frozen, compared and hashed as a dataclass; only `__init__` is written out: the generated
    one of a frozen dataclass calls object.__setattr__ per field (~0.5 µs a finding), and
    number-dense text makes several findings per line. The slots' own setters do the same
    assignment in half the time, and a finding stays read-only afterwards."""

    type: str
    start: int
    end: int
    score: float

    def __init__(self, type: str, start: int, end: int, score: float) -> None:
        _set_type(self, type)
        _set_start(self, start)
        _set_end(self, end)
        _set_score(self, score)


# The slot descriptors' setters (what object.__setattr__ ends up calling for a slot).
_set_type, _set_start, _set_end, _set_score = (
    Finding.__dict__[name].__set__ for name in ("type", "start", "end", "score")
)
