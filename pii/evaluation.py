"""Exact-span precision, recall and F1 per PII type over a labelled corpus (JSON lines of
{"text", "spans": [{"type", "start", "end"}]}). Used by bench/pii.py and the detector tests."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path

from pii.findings import TYPES, Finding


def load(path: str | Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def score(rows: Iterable[dict], detect: Callable[[str], list[Finding]]) -> dict[str, dict]:
    """{type: {"tp", "fp", "fn", "precision", "recall", "f1"}}; a hit needs type, start and end."""
    # Integer counts first; precision, recall and F1 join them as floats.
    counts: dict[str, dict[str, float]] = {t: {"tp": 0, "fp": 0, "fn": 0} for t in TYPES}
    for row in rows:
        gold = {(s["type"], s["start"], s["end"]) for s in row["spans"]}
        got = {(f.type, f.start, f.end) for f in detect(row["text"])}
        for t, *_ in gold & got:
            counts[t]["tp"] += 1
        for t, *_ in got - gold:
            counts[t]["fp"] += 1
        for t, *_ in gold - got:
            counts[t]["fn"] += 1
    for c in counts.values():
        p = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 1.0
        r = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 1.0
        c.update(precision=p, recall=r, f1=2 * p * r / (p + r) if p + r else 0.0)
    return counts


def mistakes(rows: Iterable[dict], detect: Callable[[str], list[Finding]]) -> list[str]:
    out = []
    for row in rows:
        text = row["text"]
        gold = {(s["type"], s["start"], s["end"]) for s in row["spans"]}
        got = {(f.type, f.start, f.end) for f in detect(text)}
        for t, s, e in sorted(got - gold):
            out.append(f"FP {t} {text[s:e]!r} in {text!r}")
        for t, s, e in sorted(gold - got):
            out.append(f"FN {t} {text[s:e]!r} in {text!r}")
    return out
