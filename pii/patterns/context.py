"""Context shared by recognizers: words near a candidate, URL spans, token boundaries.

Validation decides whether digits *can* be PII; context decides whether they *are* (a 9-digit run
is an SSN after "SSN", an order number after "order"). Windows are small and lower-cased once.
"""
from __future__ import annotations

import re

URL = re.compile(r"(?:\b(?:https?|ftp|sftp|wss?|ssh)://|\bwww\.)[^\s<>|\"'`]+", re.I)

PHONE_WORDS = re.compile(
    r"(?:\btel\b|\btel\.|\btelf|phone|\bph\b|\bph\.|mobile|\bmob\b|\bmob\.|\bcell|\bcall|\bfax|"
    r"whats\s?app|\bsms\b|\btext me|\bring\b|\bcontact|\breach me|hotline|\bdial|"
    r"telefon|teléfono|telefono|téléphone|telephone|\btél|handy|\bmobil|\bruf|anrufen|"
    r"erreichbar|rückruf|zadzwo|dzwo|komórk|\bkom\.|\bkom\b|numer tel|portable|appel|"
    r"\bmóvil|\bmovil|llam|celular|cellulare|chiama|\bbel\b|bellen|"
    r"телефон|\bтел|моб|звон|позвон|номер|電話|携帯|tel：|电话|手机|联系|연락|전화|휴대)",
    re.I,
)
NEGATIVE_WORDS = re.compile(
    r"(?:order|invoice|ticket|\bref\b|\bref\.|reference|tracking|\bid\b|\bid:|\bid#|#|№|"
    r"\bno\.|\bnr\.?(?!\s*tel)|\bnum\.|account|\bacct|bestell|rechnung|auftrag|kunden|"
    r"sendung|zamówieni|faktur|zlecen|przesyłk|commande|facture|colis|pedido|factura|"
    r"envío|ordine|fattura|заказ|счёт|счет|注文|订单|isbn|issn|\bean\b|\bgtin|\bsku|"
    r"serial|seriennummer|version|\bver\.|\bv\.|release|build|\boid\b|§|section|"
    r"abschnitt|kapitel|chapter|rozdział|\bart\.|artikel|\bpkt|paragraph|\bpatent|"
    r"\bdoi\b|\bpmid|arxiv|\biban\b|\bbic\b|\bswift|\bblz\b|konto|\bkto|rachun|"
    r"tx\b|txn|transaction|hash|checksum|\bpid\b|process|port\b|\bts\b|timestamp)",
    re.I,
)
SSN_WORDS = re.compile(
    r"(?:\bssn|ss#|\bss\s*no|social\s+security|soc\.?\s*sec|sozialversicherung|"
    r"seguridad\s+social|sécurité\s+sociale|ubezpieczenia\s+społecznego|taxpayer|\btin\b|"
    r"社会保障|社会安全)",
    re.I,
)
VERSION_WORDS = re.compile(
    r"(?:version|\bver\b|\bver\.|\bv\.?\s*$|release|build|firmware|\bfw\b|\bsdk|\bapi\s*$|"
    r"\boid\b|§|section|abschnitt|kapitel|chapter|rozdział|punkt|\bart\.|artículo|article|"
    r"wersj|versión|versione|версия|バージョン|版本|\bpatch|changelog|\bupgrade|\bupdate)",
    re.I,
)
CURRENCY_BEFORE = re.compile(r"(?:[$€£¥₹₽₩₺¢]|\b(?:usd|eur|gbp|pln|chf|jpy|cny|rub|zł)\.?)\s*$", re.I)
CURRENCY_AFTER = re.compile(
    r"^\s*(?:[$€£¥₹₽₩₺%‰]|(?:usd|eur|gbp|pln|chf|jpy|cny|rub|zł|zl|kr|euro|dollars?|"
    r"złotych|zloty|yen|円|元|руб|mb|gb|kb|tb|km|kg|ms|sec|min)\b)",
    re.I,
)


def before(text: str, start: int, width: int = 30) -> str:
    """The `width` characters before `start`, lower-cased, cut at the previous line break."""
    window = text[max(0, start - width):start]
    nl = window.rfind("\n")
    return (window[nl + 1:] if nl >= 0 else window).lower()


def after(text: str, end: int, width: int = 12) -> str:
    return text[end:end + width].lower()


def last_match_end(pattern: re.Pattern[str], window: str) -> int:
    """Where the last hit of `pattern` ends in `window` (-1 if none): closer context wins."""
    pos = -1
    for m in pattern.finditer(window):
        pos = m.end()
    return pos


def url_spans(text: str) -> list[tuple[int, int, int]]:
    """(start, end, host_start) of each URL; `host_start` is where its authority begins."""
    if "://" not in text and "www." not in text.lower():
        return []
    spans = []
    for m in URL.finditer(text):
        s = m.group(0)
        i = s.find("://")
        spans.append((m.start(), m.end(), m.start() + (i + 3 if i >= 0 else 0)))
    return spans


def inside(spans: list[tuple[int, int, int]], start: int, end: int) -> tuple[int, int, int] | None:
    for span in spans:
        if start < span[1] and end > span[0]:
            return span
    return None


def _spaceless(c: str) -> bool:
    """Letters of scripts written without spaces (CJK, kana, hangul, Thai) border numbers
    directly: "電話は03-1234-5678です"."""
    o = ord(c)
    return 0x2E80 <= o < 0xA000 or 0xAC00 <= o < 0xD7B0 or 0xE00 <= o < 0xE80 \
        or 0xF900 <= o < 0xFB00 or 0xFF00 <= o < 0xFFF0


def left_ok(text: str, start: int) -> bool:
    """Nothing glued on before `start`: no letter/digit, and not the tail of a dotted, dashed
    or slashed chain such as a UUID, a version, an OID or a time."""
    if start <= 0:
        return True
    c = text[start - 1]
    if (c.isalnum() and not _spaceless(c)) or c == "_":
        return False
    if start > 1:
        p = text[start - 2]
        if (c in "-/_" and p.isalnum()) or (c in ".,:" and p.isdigit()):
            return False
    return True


def right_ok(text: str, end: int) -> bool:
    if end >= len(text):
        return True
    c = text[end]
    if (c.isalnum() and not _spaceless(c)) or c == "_":
        return False
    if end + 1 < len(text):
        n = text[end + 1]
        if (c in "-/_" and n.isalnum()) or (c in ".,:" and n.isdigit()):
            return False
    return True


def boundary_ok(text: str, start: int, end: int) -> bool:
    return left_ok(text, start) and right_ok(text, end)
