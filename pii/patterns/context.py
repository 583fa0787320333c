"""Context shared by recognizers: words near a candidate, URL spans, token boundaries.

Validation decides whether digits *can* be PII; context decides whether they *are* (a 9-digit run
is an SSN after "SSN", an order number after "order"). Windows are small and lower-cased once.
"""

from __future__ import annotations

import bisect
import functools
import re

_TOKEN = re.compile(r"[^\W\d_]+\.?|[#§№]")


class Keywords:
    """Words that tip a candidate one way or the other, matched by token (prefix or exact)
    plus a few phrases and CJK substrings. One big regex alternation is ~100 µs per window in
    `re`; the words are compiled into a trie-shaped pattern instead (its first characters fail
    fast), which finds where a token could start, and only those tokens are checked."""

    def __init__(self, prefixes: str = "", exact: str = "", phrases: tuple[str, ...] = ()) -> None:
        self.prefixes = tuple(prefixes.split())
        self.exact = frozenset(exact.split())
        self.phrases = phrases
        self._words = re.compile(trie([*self.prefixes, *self.exact]) or "(?!)")
        self._phrases = re.compile(trie(list(phrases)) or "(?!)")

    def last(self, window: str) -> tuple[int, str]:
        """(end, word) of the hit closest to the end of `window`, or (-1, "").
        Memoised: the same few windows come back in tables, lists and hostile repeats."""
        return _last(self, window)

    def hit(self, tok: str) -> bool:
        return tok in self.exact or tok.rstrip(".") in self.exact or tok.startswith(self.prefixes)

    def _scan(self, window: str) -> tuple[int, str]:
        best, word = -1, ""
        for j, tok in tokens(self._words, window):
            if self.hit(tok):
                best, word = j, tok
        for m in self._phrases.finditer(window):
            if m.end() > best:
                best, word = m.end(), m.group(0)
        return best, word


def tokens(words: re.Pattern, window: str) -> list[tuple[int, str]]:
    """(end, token) of the tokens of `window` that start with a match of `words` (a trie()
    pattern): letters from a token start, an optional ".", or one of "#§№"."""
    out = []
    n = len(window)
    for m in words.finditer(window):
        i = m.start()
        c = window[i]
        if c in "#§№":
            out.append((i + 1, c))
            continue
        if i and window[i - 1].isalpha():
            continue  # not where a token starts
        j = i
        while j < n and window[j].isalpha():
            j += 1
        if j < n and window[j] == ".":
            j += 1
        out.append((j, window[i:j]))
    return out


def trie(words: list[str]) -> str:
    """A regular expression matching any of `words`, shaped as a trie ("tel", "telef" →
    "tel(?:ef)?"): re tries alternatives in order and cannot share their prefixes itself."""
    root: dict = {}
    for w in set(words):
        node = root
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict) -> str:
        alts = [re.escape(ch) + emit(node[ch]) for ch in sorted(k for k in node if k)]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 and len(alts[0]) == 1 else "(?:" + "|".join(alts) + ")"
        return body + "?" if "" in node else body

    return emit(root)


@functools.lru_cache(maxsize=4096)
def _last(words: Keywords, window: str) -> tuple[int, str]:
    return words._scan(window)


PHONE_WORDS = Keywords(
    "telef teléf telep telf phone mobile cell call fax whatsapp contact kontakt hotline dial handy "
    "mobil ruf anruf desk natel mobiel gsm telemóvel komórka llám "
    "erreichbar rückruf zadzwo dzwo komórk portable appel móvil movil llam celular cellulare "
    "chiama bellen телефон тел моб звон позвон номер tél контакт",
    "tel tel. ph ph. mob mob. sms ring kom kom. bel",
    (
        "text me",
        "reach me",
        "my number",
        "our number",
        "mój numer",
        "meine nummer",
        "mon numéro",
        "mi número",
        "il mio numero",
        "mijn nummer",
        "min nummer",
        "numer tel",
        "電話",
        "携帯",
        "电话",
        "手机",
        "手機",
        "联系",
        "연락",
        "전화",
        "휴대",
    ),
)
NEGATIVE_WORDS = Keywords(
    "order invoice ticket referen tracking account acct bestell rechnung auftrag kunden sendung "
    "zamówieni faktur zlecen przesyłk commande facture colis pedido factura envío ordine "
    "fattura заказ счёт счет isbn issn gtin sku serial seriennummer version release build "
    "section abschnitt kapitel chapter rozdział artikel paragraph patent pmid arxiv konto "
    "rachun txn transaction hash checksum process timestamp regon pesel steuer siret siren "
    "taxpayer",
    "ref id no. nr num. ean oid doi pid port ts tx art. ver v pkt iban bic swift blz kto nip "
    "krs vat tax nif cif inn ust-id # № §",
    ("注文", "订单", "版本", "バージョン"),
)
GENERIC = frozenset({"#", "№", "no.", "nr", "nr.", "num.", "number", "nummer"})
SSN_WORDS = Keywords(
    "ssn sozialversicherung taxpayer",
    "tin",
    (
        "ss#",
        "ss no",
        "social security",
        "soc sec",
        "soc. sec",
        "seguridad social",
        "sécurité sociale",
        "ubezpieczenia społecznego",
        "社会保障",
        "社会安全",
    ),
)
VERSION_WORDS = Keywords(
    "version release build firmware wersj versión versione версия patch changelog upgrade "
    "update section abschnitt kapitel chapter rozdział punkt artículo article",
    "ver ver. v v. fw sdk api oid § art.",
    ("バージョン", "版本"),
)
CURRENCY_BEFORE = re.compile(r"(?:[$€£¥₹₽₩₺¢]|\b(?:usd|eur|gbp|pln|chf|jpy|cny|rub|zł)\.?)\s*$", re.I)
CURRENCY_AFTER = re.compile(
    r"^\s*(?:[$€£¥₹₽₩₺%‰]|(?:usd|eur|gbp|pln|chf|jpy|cny|rub|zł|zl|kr|euro|dollars?|"
    r"złotych|zloty|yen|円|元|руб|mb|gb|kb|tb|km|kg|ms|sec|min)\b)",
    re.I,
)


def before(text: str, start: int, width: int = 30) -> str:
    """The `width` characters before `start`, lower-cased, cut at the previous line break."""
    window = text[max(0, start - width) : start]
    nl = window.rfind("\n")
    return (window[nl + 1 :] if nl >= 0 else window).lower()


def after(text: str, end: int, width: int = 12) -> str:
    return text[end : end + width].lower()


def last_match_end(words: Keywords, window: str) -> int:
    """Where the last keyword ends in `window` (-1 if none): closer context wins."""
    return words.last(window)[0]


SCHEMES = ("https", "http", "ftp", "sftp", "wss", "ws", "ssh")
URL_REST = re.compile(r"[^\s<>|\"'`]+")


def url_spans(text: str) -> list[tuple[int, int, int]]:
    """(start, end, host_start) of each URL; `host_start` is where its authority begins.
    Starts are found with str.find ("://" with a known scheme before it, "www." after a
    non-word character), not with a case-insensitive regex tried at every position."""
    starts: list[tuple[int, int]] = []  # (start, host_start)
    i = text.find("://")
    while i >= 0:
        j = i
        while j > 0 and i - j < 6 and text[j - 1].isascii() and text[j - 1].isalpha():
            j -= 1
        if text[j:i].lower() in SCHEMES and (j == 0 or not (text[j - 1].isalnum() or text[j - 1] == "_")):
            starts.append((j, i + 3))
        i = text.find("://", i + 3)
    if "w." in text or "W." in text:
        lower = text.lower()
        k = lower.find("www.")
        while k >= 0:
            if k == 0 or not (text[k - 1].isalnum() or text[k - 1] == "_"):
                starts.append((k, k))
            k = lower.find("www.", k + 1)
        starts.sort()
    spans: list[tuple[int, int, int]] = []
    for start, host in starts:
        if spans and start < spans[-1][1]:
            continue  # inside the previous URL
        m = URL_REST.match(text, host if host > start else start)
        if m and m.end() > host:
            spans.append((start, m.end(), host))
    return spans


def inside(spans: list[tuple[int, int, int]], start: int, end: int) -> tuple[int, int, int] | None:
    """The URL span overlapping [start, end), if any; `spans` are sorted and disjoint."""
    i = bisect.bisect_right(spans, (start, _MAX, _MAX))
    for span in spans[max(0, i - 1) : i + 1]:
        if start < span[1] and end > span[0]:
            return span
    return None


_MAX = 1 << 62


def spaceless(c: str) -> bool:
    """Letters of scripts written without spaces (CJK, kana, hangul, Thai) border numbers
    directly: "電話は03-1234-5678です"."""
    o = ord(c)
    return (
        0x2E80 <= o < 0xA000
        or 0xAC00 <= o < 0xD7B0
        or 0xE00 <= o < 0xE80
        or 0xF900 <= o < 0xFB00
        or 0xFF00 <= o < 0xFFF0
    )


# Neighbours left_ok / right_ok accept, loose or not ("" the text's end): a set lookup first.
CLEAR = frozenset(["", " ", "\n", "\t", "(", ")", "[", "]", "<", ">", "|", ";", "!", "?", '"', "'"])


def left_ok(text: str, start: int, loose: bool = False) -> bool:
    """Nothing glued on before `start`: no letter/digit, and not the tail of a dotted, dashed
    or slashed chain such as a UUID, a version, an OID or a time. `loose`, for values that prove
    themselves (checksums, SSN shape): "_"/"-" after a word and "," separate too (file names,
    CSV columns)."""
    if start <= 0:
        return True
    c = text[start - 1]
    if (c.isalnum() and not spaceless(c)) or (c == "_" and not loose):
        return False
    if start > 1:
        p = text[start - 2]
        if loose and (c in "_-" and p.isalpha() or c == ","):
            return True  # "scan_123-45-6789.pdf", "report-4111….txt", a CSV column "42,4111…"
        if (c in "-/_" and p.isalnum()) or (c in ".,:" and p.isdigit()):
            return False
    return True


def right_ok(text: str, end: int, loose: bool = False) -> bool:
    if end >= len(text):
        return True
    c = text[end]
    if (c.isalnum() and not spaceless(c)) or (c == "_" and not loose):
        return False
    if end + 1 < len(text):
        n = text[end + 1]
        if loose and (c in "_-" and n.isalpha() or c == ","):
            return True
        if (c in "-/_" and n.isalnum()) or (c in ".,:" and n.isdigit()):
            return False
    return True


def boundary_ok(text: str, start: int, end: int, loose: bool = False) -> bool:
    return left_ok(text, start, loose) and right_ok(text, end, loose)


def directly_before(words: Keywords, text: str, start: int, width: int = 24) -> bool:
    """A keyword right before `start`, with only separators (" :=#-") between: "version
    10.2.0.1" is a version, "after the 2.0.1 upgrade, host 10.2.0.1" is an address."""
    window = before(text, start, width)
    end = words.last(window)[0]
    return end >= 0 and not window[end:].strip(" :=#-\t")


def label_after(words: Keywords, text: str, end: int, width: int = 20) -> bool:
    """A label right after the value: "123-45-6789 (SSN)", "123456789 is my ssn"."""
    window = after(text, end, width)
    stop = LABEL_STOP.search(window)  # the label belongs to this value, not the next item
    return words.last(window[: stop.start()] if stop else window)[0] >= 0


LABEL_STOP = re.compile(r"[,;|<>\n]")
