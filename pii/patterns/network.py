"""IPv4 and IPv6 addresses, parsed by the standard library's `ipaddress`.

The hard part is what looks like an address and is not: versions ("1.2.3.4" after "version",
"v2.10.4.1"), longer dotted chains (OIDs, "1.2.3.4.5"), times and MAC addresses.
"""

from __future__ import annotations

import functools
import ipaddress
import re

from pii import prefilter
from pii.findings import Finding
from pii.patterns import context

IPV4 = re.compile(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}")
RANGE_START = re.compile(r"(?:^|[^\w.])\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}-$")
# A run of hex digits, colons and dots that starts where no such run (or word) goes on: the
# lookbehind keeps the scan linear (without it a 40 kB hex blob costs O(n²) in backtracking).
IPV6_RUN = re.compile(r"(?<![0-9A-Za-z:._-])[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*")


def find(text: str) -> list[Finding]:
    out: list[Finding] = []
    if "." in text:
        out.extend(find_v4(text))
    if "::" in text or text.count(":") >= 2:
        out.extend(find_v6(text))
    return out


def find_v4(text: str, shape: bytes | None = None) -> list[Finding]:
    """Dotted quads in `text`; with its prefilter shape, found on the shape (same spans)."""
    out = []
    for m in IPV4.finditer(text) if shape is None else prefilter.IPV4.finditer(shape):
        s, e = m.start(), m.end()
        if s and (
            (text[s - 1].isalnum() and not context.spaceless(text[s - 1]))
            or text[s - 1] in "._"
            or (text[s - 1] == "-" and not _range_end(text, s))
        ):
            continue
        if e < len(text) and (
            (text[e].isalnum() and not context.spaceless(text[e]))
            or text[e] == "_"
            or (text[e] == "." and e + 1 < len(text) and text[e + 1].isalnum())
            or (
                text[e] == "-" and e + 1 < len(text) and text[e + 1].isalnum() and not IPV4.match(text, e + 1)
            )
        ):
            continue
        if not _address_valid(ipaddress.IPv4Address, text[s:e]):
            continue
        if context.directly_before(context.VERSION_WORDS, text, s):
            continue
        out.append(Finding("IP_ADDRESS", s, e, 0.9))
    return out


@functools.lru_cache(maxsize=4096)
def _address_valid(kind: type[ipaddress.IPv4Address | ipaddress.IPv6Address], value: str) -> bool:
    """`ipaddress` parses (~5 µs); memoised: logs and configs repeat their hosts."""
    try:
        kind(value)
    except ValueError:
        return False
    return True


def _range_end(text: str, s: int) -> bool:
    """ "10.0.0.0-10.255.255.255": the second address of a range is still an address."""
    return bool(RANGE_START.search(text, 0, s))


def find_v6(text: str) -> list[Finding]:
    out = []
    for m in IPV6_RUN.finditer(text):
        s, e = m.start(), m.end()
        if m.group(0).count(":") < 2:
            continue
        if s and (text[s - 1].isalnum() or text[s - 1] in "_-"):
            continue
        if e < len(text) and (text[e].isalnum() or text[e] in "_-"):
            continue  # glued to a word; a zone id ("fe80::1%eth0") stops at "%" and passes
        cand = text[s:e]
        # Sentence punctuation after the address: "…at fe80::1." / "…2001:db8::1: down".
        while cand.endswith(".") or (cand.endswith(":") and not cand.endswith("::")):
            cand = cand[:-1]
        while cand.startswith(":") and not cand.startswith("::"):
            cand, s = cand[1:], s + 1
        if not _plausible_v6(cand):
            continue
        if not _address_valid(ipaddress.IPv6Address, cand):
            continue
        out.append(Finding("IP_ADDRESS", s, s + len(cand), 0.9))
    return out


def _plausible_v6(cand: str) -> bool:
    """`ipaddress` accepts "::" and "a::b"; text has those as code and punctuation."""
    if cand == "::1":
        return True
    groups = [g for g in cand.split(":") if g]
    if "::" not in cand:
        return len(groups) >= 7
    return len(groups) >= 2 and any(len(g) >= 2 for g in groups)
