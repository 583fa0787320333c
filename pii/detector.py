"""PII detection: a small interface and the built-in engine.

`detect(text)` runs the built-in detector; the service uses `get_detector()`, which loads the
engine named by settings.PII_DETECTOR (a dotted path to a class or instance with `detect`), so
another engine (e.g. Presidio) can be plugged in without touching the Slack flow. This module
does not import Django at import time: the detector runs, and is benchmarked, on its own.

Decisions on what counts (docs/pii.md has the full list):
- An e-mail inside a URL's query or path is reported (it is a real address, exposed); URL
  credentials ("https://user:pw@host") are not. Inside URLs otherwise: an IP address that is the
  URL's host, and a whole query value ("?phone=+44…&card=4111…"); never a path segment (an id).
- Slack markup is text: "<mailto:a@b.com|a@b.com>" holds two e-mails; "<@U123>" mentions,
  "<#C123|general>" channels and "1712345678.123456" message timestamps hold none.
- Overlaps: the more certain type wins (checksummed IBAN/card over SSN over IP over phone),
  then the longer span.
"""

from __future__ import annotations

import bisect
import operator
import re
from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from pii import prefilter
from pii.findings import TYPES, Finding
from pii.patterns import context, emails, network, numbers, phone_validation, phones

__all__ = ["TYPES", "BuiltinDetector", "Detector", "Finding", "detect", "get_detector", "redact"]

PRIORITY = {"EMAIL": 0, "IBAN": 1, "CREDIT_CARD": 2, "US_SSN": 3, "IP_ADDRESS": 4, "PHONE": 5}
# Text with other scripts' digits (no prefilter shape) is clustered on the text itself.
# Where the numeric types can be: maximal runs of 7+ digits with at most 4 other characters
# between two digits (on one line). The numeric recognizers run on these clusters, widened
# for their context words (the 40 characters before, an extension or label after), instead
# of on the whole text: a 2 kB message with a few times and prices costs a few short scans.
_CLUSTER = re.compile(r"\d(?:[^\n\d]{0,4}\d){6,}")
LEFT, RIGHT = 48, 32
WHOLE = 1024
# On the shape: clusters within LEFT + RIGHT characters of each other, as one match. Their
# windows would merge anyway (a window reaches RIGHT past its cluster, the next starts LEFT
# before its own), so a table of thousands of clusters costs _windows one step, not thousands.
# The lazy gap finds the next cluster exactly where finditer would.
_CLUSTERS_NEAR = re.compile(
    rb"%s(?:(?s:.{0,%d}?)%s)*" % (prefilter.CLUSTER.pattern, LEFT + RIGHT, prefilter.CLUSTER.pattern)
)
_CARD_HINT = re.compile(rb"0000[ -]0000|0{12}")  # numbers.find_cards' groupings need one


def _windows(text: str, clusters) -> list[tuple[int, int]]:
    """Clusters widened by LEFT/RIGHT characters, snapped outwards to a space or line break
    (so no window starts or ends inside a word), merged where they touch. A table is thousands
    of clusters in one window: a cluster that starts within reach of the open window's unsnapped
    end joins it at the cost of a comparison (snapping only moves ends outwards, and the first
    break after an end never comes before the first break after an earlier end)."""
    out: list[tuple[int, int]] = []
    n = len(text)
    lo0, pending = -1, -1  # the open window: its start and its end before snapping
    for m in clusters:
        start, end = m.span()
        lo, hi = max(0, start - LEFT), min(n, end + RIGHT)
        if lo0 >= 0 and lo <= pending:
            pending = hi
            continue
        if lo0 >= 0:
            closed = _snap_end(text, pending)
            if lo <= closed:
                pending = hi
                continue
            lo = _snap_start(text, lo)
            if lo <= closed:
                pending = hi
                continue
            out.append((lo0, closed))
        else:
            lo = _snap_start(text, lo)
        lo0, pending = lo, hi
    if lo0 >= 0:
        out.append((lo0, _snap_end(text, pending)))
    return out


def _snap_start(text: str, lo: int) -> int:
    """`lo` moved back to just after the last space or line break within 24 characters."""
    if not lo:
        return lo
    reach = max(0, lo - 24)  # a break further back does not count
    cut = max(text.rfind(" ", reach, lo), text.rfind("\n", reach, lo))
    return cut + 1 if cut >= 0 else lo


def _snap_end(text: str, hi: int) -> int:
    """`hi` moved to the first space or line break within 24 characters (as it is if none)."""
    if hi >= len(text):
        return hi
    space, nl = text.find(" ", hi, hi + 24), text.find("\n", hi, hi + 24)
    return max(space, nl, hi) if space < 0 or nl < 0 else min(space, nl)


@runtime_checkable
class Detector(Protocol):
    def detect(self, text: str) -> list[Finding]: ...


class BuiltinDetector:
    """Validating recognizers for EMAIL, PHONE, CREDIT_CARD, IBAN, US_SSN and IP_ADDRESS.

    Fast path: most chat messages hold no "@" and few digits, so each recognizer runs only when
    the cheap pre-check says it could match.
    """

    def detect(self, text: str) -> list[Finding]:
        if not text:
            return []
        found: list[Finding] = emails.find(text) if "@" in text else []
        # The pre-checks and run scans work on the text's one-byte shape (pii.prefilter): IPv4
        # and IPv6 need their dotted or colon shapes, the numeric types a cluster of seven
        # digits, and each numeric recognizer its own shape. Text with other scripts' digits
        # (fullwidth, Arabic-Indic …) has no shape and is scanned as text.
        shape = prefilter.shape_of(text)
        if "." in text and (shape is None or prefilter.V4_HINT.search(shape)):
            found.extend(network.find_v4(text, shape))
        if ":" in text and (shape is None or prefilter.V6_HINT.search(shape)):
            found.extend(network.find_v6(text))
        n = len(text)
        if n <= WHOLE:
            # A message-sized text with a cluster is scanned whole: its windows would cover
            # most of it, and slicing and re-offsetting them costs more than the few bytes saved.
            if (
                _CLUSTER.search(text)
                if shape is None
                else shape.count(b"0") >= 7 and prefilter.CLUSTER.search(shape)
            ):
                found.extend(phones.find(text, phone_validation.Budget(n), shape))
                if shape is None or b"aa00" in shape:  # find_ibans' own gate, without the call
                    found.extend(numbers.find_ibans(text, shape))
                found.extend(numbers.find_cards(text, shape))
                found.extend(numbers.find_ssns(text, shape))
        else:
            self._windows(text, shape, found)
        if len(found) <= 1 and not ("://" in text or "www." in text):
            return found
        return _resolve(text, found)

    def _windows(self, text: str, shape: bytes | None, found: list[Finding]) -> None:
        """The numeric recognizers on a long text's windows (see _windows), found appended."""
        if shape is None:
            clusters: Iterable[re.Match] = _CLUSTER.finditer(text)
        elif shape.count(b"0") >= 7:
            clusters = _CLUSTERS_NEAR.finditer(shape)
        else:
            return
        budget = phone_validation.Budget(len(text))  # shared by all windows of this text
        for lo, hi in _windows(text, clusters):
            whole = (lo, hi) == (0, len(text))
            window = text if whole else text[lo:hi]
            part = shape if whole or shape is None else shape[lo:hi]
            hits = phones.find(window, budget, part)
            hits.extend(numbers.find_ibans(window, part))
            if part is None or len(part) <= WHOLE or _CARD_HINT.search(part):  # a table of pairs has none
                hits.extend(numbers.find_cards(window, part))
            hits.extend(numbers.find_ssns(window, part))
            found.extend(
                hits if not lo else [Finding(f.type, f.start + lo, f.end + lo, f.score) for f in hits]
            )


def _resolve(text: str, found: list[Finding]) -> list[Finding]:
    # url_spans looks for "://" and "www." (any case): without either there is no URL.
    urls = context.url_spans(text) if "://" in text or "w." in text or "W." in text else None
    if urls:
        found = [f for f in found if _allowed_in_url(text, f, urls)]
    by_start = sorted(found, key=_start)
    end = 0
    for f in by_start:
        if f.start < end:
            break
        end = f.end
    else:
        return by_start  # nothing overlaps: every finding is kept, in text order
    found.sort(key=lambda f: (PRIORITY[f.type], -(f.end - f.start), f.start))
    # Kept spans never overlap, so sorted by start they are sorted by end too: one bisect finds
    # the only two neighbours a new span could overlap (a text with thousands of findings stays
    # O(n log n), not O(n²)).
    kept: list[Finding] = []
    starts: list[int] = []
    for f in found:
        i = bisect.bisect_right(starts, f.start)
        if i and kept[i - 1].end > f.start:
            continue
        if i < len(kept) and kept[i].start < f.end:
            continue
        starts.insert(i, f.start)
        kept.insert(i, f)
    return kept


_start = operator.attrgetter("start")


def _allowed_in_url(text: str, f: Finding, urls: list[tuple[int, int, int]]) -> bool:
    span = context.inside(urls, f.start, f.end)
    if span is None:
        return True
    if f.type == "EMAIL":
        return True
    if f.type == "IP_ADDRESS":
        host = span[2]
        return f.start == host or text[f.start - 1] in "@[" and f.start - 1 >= host
    # A query value is data someone typed ("?card=4111…&phone=+44…", "iban=DE89…"); a path
    # segment is an id ("/orders/4111…/details") and the recognizers' boundaries refuse it.
    return f.start > span[0] and text[f.start - 1] == "=" and (f.end == span[1] or text[f.end] in "&#;")


_builtin = BuiltinDetector()


def detect(text: str) -> list[Finding]:
    """Find PII in `text` with the built-in engine."""
    return _builtin.detect(text)


def redact(text: str, findings: list[Finding]) -> str:
    """`text` with each finding replaced by its type in brackets: "[EMAIL]", "[IBAN]" …"""
    parts, pos = [], 0
    for f in sorted(findings, key=lambda f: f.start):
        if f.start < pos:
            continue
        parts.append(text[pos : f.start])
        parts.append(f"[{f.type}]")
        pos = f.end
    parts.append(text[pos:])
    return "".join(parts)


_loaded: tuple[str, Detector] | None = None


def get_detector() -> Detector:
    """The engine named by settings.PII_DETECTOR (a class is instantiated once)."""
    global _loaded
    from django.conf import settings
    from django.utils.module_loading import import_string

    path = settings.PII_DETECTOR
    if _loaded is None or _loaded[0] != path:
        obj = import_string(path)
        engine = obj() if isinstance(obj, type) else obj
        if not callable(getattr(engine, "detect", None)):
            raise TypeError(f"PII_DETECTOR={path!r} has no detect(text) method")
        _loaded = (path, engine)
    return _loaded[1]
