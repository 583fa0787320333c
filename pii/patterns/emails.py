"""E-mail addresses, including internationalised ones (EAI local parts, IDN domains).

Scanning starts at each "@" and walks outwards instead of running one big regular expression:
text in scripts without spaces (Japanese, Chinese) often glues words to an ASCII address
("メールはtaro@example.jpです"), and the walk stops where the writing system changes.
"""

from __future__ import annotations

import functools
import re

from pii.findings import Finding

LOCAL_PUNCT = frozenset("._%+-'")
LEADING_JUNK = ".-'+%"
RETINA = re.compile(r"\d+(?:\.\d+)?x\.[a-z]{2,5}", re.I)
MAX_LOCAL, MAX_DOMAIN = 64, 253


def script(ch: str) -> str:
    """A coarse writing-system class: an address does not switch scripts mid-word."""
    o = ord(ch)
    if o < 0x250 or 0x1E00 <= o < 0x1F00:
        return "L"
    if 0x370 <= o < 0x400 or 0x1F00 <= o < 0x2000:
        return "G"
    if 0x400 <= o < 0x530:
        return "C"
    if (0x2E80 <= o < 0xA000) or (0xAC00 <= o < 0xD7B0) or (0xF900 <= o < 0xFB00) or 0xFF66 <= o < 0xFFDD:
        return "J"
    return f"U{o >> 7}"


def _local_start(text: str, at: int) -> int:
    i, cls = at, None
    while i > 0:
        c = text[i - 1]
        if c.isalnum():
            if not c.isdigit():
                k = script(c)
                if cls is None:
                    cls = k
                elif k != cls:
                    break
        elif c not in LOCAL_PUNCT:
            break
        i -= 1
        if at - i > MAX_LOCAL + 16:
            break
    while i < at and text[i] in LEADING_JUNK:
        i += 1
    return i


# In ASCII text every letter is of one script, so the walks above are runs of a character
# class, which `re` scans at C speed: the local part backwards (on the reversed 81 characters
# the walk may take), the domain as labels joined by a dot that a letter or digit follows.
_LOCAL_REVERSED = re.compile(r"[A-Za-z0-9._%+'-]*")
_DOMAIN_ASCII = re.compile(r"(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9][A-Za-z0-9-]*)*)?")


def _local_start_ascii(text: str, at: int) -> int:
    """_local_start's answer, or -1 where a non-ASCII character ends the scan (_local_start
    decides: it may be a letter of the local part)."""
    lo = max(0, at - MAX_LOCAL - 17)
    m = _LOCAL_REVERSED.match(text[lo:at][::-1])
    assert m is not None  # the pattern matches the empty string
    i = at - m.end()
    if i > lo and _foreign_alnum(text[i - 1]):
        return -1
    while i < at and text[i] in LEADING_JUNK:
        i += 1
    return i


def _foreign_alnum(c: str) -> bool:
    """A non-ASCII letter or digit: where one stops a C-speed scan, the walk may go on (any
    other character stops both)."""
    return c > "\x7f" and c.isalnum()


def _domain_end_ascii(text: str, at: int) -> int:
    m = _DOMAIN_ASCII.match(text, at + 1)
    assert m is not None  # the pattern matches the empty string
    return m.end()


def _domain_end(text: str, at: int) -> int:
    """End of the domain after "@": dot-separated labels in one script (ASCII always allowed,
    for TLDs such as .com after an IDN label)."""
    n, i, cls = len(text), at + 1, None
    end = i
    while i < n:
        j = i
        while j < n:
            c = text[j]
            if c.isalnum():
                if not c.isdigit():
                    k = script(c)
                    if cls is None:
                        cls = k
                    elif k != cls and ord(c) >= 128:
                        break
            elif c != "-":
                break
            j += 1
        if j == i:
            break
        end = j
        if j < n - 1 and text[j] == "." and (text[j + 1].isalnum()):
            i = j + 1
            continue
        break
    return end


def _valid_domain(domain: str) -> bool:
    if len(domain) > MAX_DOMAIN or "." not in domain:
        return False
    labels = domain.split(".")
    for label in labels:
        if not label or len(label) > 63 or label[0] == "-" or label[-1] == "-":
            return False
    tld = labels[-1]
    if tld.lower().startswith("xn--"):
        return len(tld) > 4
    return len(tld) >= 2 and tld.isalpha()


_PUNCT = "".join(sorted(LOCAL_PUNCT))


@functools.lru_cache(maxsize=4096)
def _domain_cut(domain: str) -> int:
    """-1 unless a valid domain and no retina image name ("icon@2x.png"); else how many of its
    last characters are a file name's extension, not the domain (_without_file_extension).
    Memoised: a text's addresses share their few domains."""
    if not _valid_domain(domain) or RETINA.fullmatch(domain):
        return -1
    end = len(domain)
    return end - _without_file_extension(domain, -1, end)


def find(text: str) -> list[Finding]:
    out: list[Finding] = []
    at = text.find("@")
    ascii = text.isascii()
    while at >= 0:
        dot = text.find(".", at + 2, at + 2 + MAX_DOMAIN)
        if dot < 0:  # no domain can follow this "@" (nor any later one within reach)
            at = text.find("@", at + 1)
            continue
        # The walks below stop where the C-speed scans stop unless a non-ASCII letter or digit
        # is what stops the scan (the walk may go on with it): most addresses, also in Cyrillic
        # or Japanese chat, are decided by the scans alone.
        start = _local_start_ascii(text, at)
        if start < 0:
            start = _local_start(text, at)
        end = _domain_end_ascii(text, at)
        if not ascii and (
            _foreign_alnum(text[end : end + 1])
            or text[end : end + 1] == "."
            and _foreign_alnum(text[end + 1 : end + 2])
        ):
            end = _domain_end(text, at)
        nxt = text.find("@", at + 1)
        dots = text.rfind("..", start, at)
        if dots >= 0:  # "see...john@x.com": the address starts after the ellipsis
            start = dots + 2
            while start < at and text[start] in LEADING_JUNK:
                start += 1
        local, domain = text[start:at], text[at + 1 : end]
        if (
            local
            and len(local) <= MAX_LOCAL
            and local[-1] != "."
            and local.strip(_PUNCT)  # a letter or digit: the walk passed only those and LOCAL_PUNCT
            and (cut := _domain_cut(domain)) >= 0
            and not _excluded(text, start, end)
        ):
            # A valid domain ends with a letter or digit (no label ends with "-"): only a file
            # extension is cut.
            out.append(Finding("EMAIL", start, end - cut, 0.95))
        at = nxt
    return out


FILE_EXTENSIONS = frozenset(
    "csv tsv txt pdf doc docx xls xlsx ppt pptx png jpg jpeg gif json xml log eml msg vcf ics html md".split()
)


def _without_file_extension(text: str, at: int, end: int) -> int:
    """ "contacts_jan@example.pl.csv" is a file name holding "jan@example.pl": a last label
    that is a file extension (not a TLD in use for mail) is cut when a valid domain remains."""
    domain = text[at + 1 : end]
    head, _, last = domain.rpartition(".")
    if last.lower() in FILE_EXTENSIONS and _valid_domain(head):
        return end - len(last) - 1
    return end


def _excluded(text: str, start: int, end: int) -> bool:
    """Things shaped like an address that are not one: URL credentials, fediverse handles,
    scp-style git remotes."""
    prev = text[start - 1] if start else ""
    if prev == "@":
        return True
    if prev == "/" and start >= 2 and text[start - 2] == "/":
        return True
    if prev == ":":
        token_start = max(text.rfind(" ", 0, start), text.rfind("\n", 0, start)) + 1
        if "://" in text[token_start:start]:
            return True
    if end < len(text) - 1 and text[end] == ":" and (text[end + 1].isalnum() or text[end + 1] in "/~"):
        return True
    return False
