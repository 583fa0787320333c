"""Hostile text for the PII detector, shared by its tests (tests/pii/test_budget.py: bounded
work, counted) and the bench (bench/pii.py: CPU time against ordinary chat of the same size).

Lines of digit groups, CSV columns and matrices (issue 21), dense real PII, and tables whose
values never repeat, so no memo helps; each `fit` or `random_text` makes 40 kB of one shape.
"""

from __future__ import annotations

import random
from collections.abc import Callable

SIZE = 40_000  # Slack's message limit

DIGIT_GROUPS = {  # what the issue names: lines of digit groups, CSV columns, matrices
    "single digits": "1 ",
    "dashed": "1-",
    "card-ish": "4111 ",
    "ssn-ish": "123-45-",
    "dotted": "1.",
    "csv": "12,34,56,78\n",
    "matrix": "12 34 56 78 90 11\n",
    "plus": "+1 ",
    "parens": "(1) ",
    "colons": "1:",
}
DENSE_PII = {  # every few bytes a real finding: linear, but each finding is validated and kept
    "ip list": "10.0.0.1 ",
    "emails": "a.b@c.de ",
    "ssn labelled": "ssn 123 45 6789 ",
}


def fit(unit: str, n: int = SIZE) -> str:
    return (unit * (n // len(unit) + 1))[:n]


RANDOM: dict[
    str, Callable[[random.Random], str]
] = {  # tables whose values never repeat: no memoised validation helps
    "matrix": lambda r: " ".join(f"{r.randint(10, 99)}" for _ in range(6)) + "\n",
    "pairs": lambda r: " ".join(f"{r.randint(10, 99)}" for _ in range(5)) + "\n",
    "groups of three": lambda r: " ".join(f"{r.randint(100, 999)}" for _ in range(4)) + "\n",
    "csv": lambda r: ",".join(str(r.randint(0, 99999)) for _ in range(5)) + "\n",
    "phone-shaped after a word": lambda r: (
        f"tel {r.randint(100, 999)} {r.randint(100, 999)} {r.randint(1000, 9999)} "
    ),
    "international": lambda r: f"+{r.randint(1, 99)} {r.randint(100, 999)} {r.randint(1000, 9999)} ",
    # Issue 21's paths: local numbers after a label or verb (phonenumbers' matcher per region),
    # numbers ended by a label, "+CC (0)" trunk notation: each new, each a candidate.
    "local after a label": lambda r: f"Phone: {r.randint(100, 999)} {r.randint(1000, 9999)} ",
    "pairs after a verb": lambda r: (
        f"ring me on {r.randint(10, 99)}-{r.randint(10, 99)}-{r.randint(10, 99)}-{r.randint(10, 99)} "
    ),
    "ended by a label": lambda r: (
        f"{r.randint(100, 999)} {r.randint(100, 999)} {r.randint(1000, 9999)}-Fax\\,"
    ),
    "trunk in parentheses": lambda r: (
        f"+{r.randint(1, 99)} (0){r.randint(10, 99)} {r.randint(1000, 9999)} {r.randint(100, 999)}-Office "
    ),
}


def random_text(make: Callable[[random.Random], str], seed: int, size: int = SIZE) -> str:
    r, parts, n = random.Random(seed), [], 0
    while n < size:
        parts.append(make(r))
        n += len(parts[-1])
    return "".join(parts)[:size]
