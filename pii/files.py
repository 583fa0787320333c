"""Scanning a shared file: fetched in chunks, scanned in bounded windows, within a CPU budget.

A file never comes out "clean" unless every byte of it was scanned: a refused fetch (HTML page,
redirect, wrong content type), an undecodable chunk stream or an exhausted budget is FAILED
with the reason, so an operator sees it.
"""

from __future__ import annotations

import codecs
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TypedDict

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from pii import slack
from pii.detector import Finding, get_detector, redact
from pii.installations import workspace_tokens
from pii.models import Detection, FileScan, FileScanStatus

TEXT_MIMETYPES = (
    "text/",
    "application/json",
    "application/xml",
    "application/csv",
    "application/javascript",
    "application/x-yaml",
    "application/yaml",
    "application/x-sh",
    "application/sql",
    "application/x-ndjson",
)
TEXT_FILETYPES = frozenset(
    "text csv tsv json xml yaml markdown post html css javascript typescript python ruby go java kotlin "
    "swift c cpp csharp php rust scala shell sql diff ini toml log elixir erlang perl r matlab groovy "
    "dockerfile lua clojure haskell vb powershell".split()
)
OVERLAP = 256  # a window's last characters are scanned again with the next one


class BudgetExceeded(Exception):
    pass


@dataclass
class ScanResult:
    counts: Counter = field(default_factory=Counter)
    excerpt: str = ""
    chars: int = 0


def is_text_file(ref: dict[str, Any]) -> bool:
    mimetype = (ref.get("mimetype") or "").lower()
    return mimetype.startswith(TEXT_MIMETYPES) or (ref.get("filetype") or "") in TEXT_FILETYPES


def text_scan(
    pieces: Iterable[str], *, window: int, budget: float, types: frozenset[str] | None = None
) -> ScanResult:
    """Scan a stream of text in windows of at most `window` characters, cut at a line break
    where there is one, the cut's neighbourhood scanned twice so nothing is split in two. The
    detector is linear, so this bounds memory and time per window; `budget` bounds the whole
    (CPU seconds of this thread). `types`: only these PII types count (all when None)."""
    engine, result = get_detector(), ScanResult()
    started, buf, offset, reported_to = time.thread_time(), "", 0, 0
    pieces = iter(pieces)
    done = False
    while not done:
        while len(buf) < window and not done:
            nxt = next(pieces, None)
            if nxt is None:
                done = True
            else:
                buf += nxt
        cut = len(buf) if done else _cut(buf, window)
        chunk = buf[:cut] if done else buf[: min(len(buf), cut + OVERLAP)]
        found = [
            f
            for f in engine.detect(chunk)
            if offset + f.start >= reported_to and (types is None or f.type in types)
        ]
        final = [f for f in found if done or f.start < cut]
        for f in final:
            result.counts[f.type] += 1
            reported_to = max(reported_to, offset + f.end)
        if final and not result.excerpt:
            result.excerpt = excerpt(chunk, final)
        result.chars += cut
        buf, offset = buf[cut:], offset + cut
        if time.thread_time() - started > budget:
            raise BudgetExceeded(f"scan budget of {budget:g}s CPU used after {result.chars} characters")
    return result


def _cut(buf: str, window: int) -> int:
    nl = buf.rfind("\n", window // 2, window)
    if nl >= 0:
        return nl + 1
    sp = buf.rfind(" ", window // 2, window)
    return sp + 1 if sp >= 0 else window


def _decoded(chunks: Iterable[bytes]) -> Iterable[str]:
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    for chunk in chunks:
        yield decoder.decode(chunk)
    yield decoder.decode(b"", final=True)


def excerpt(content: str, findings: list[Finding]) -> str:
    first = min(f.start for f in findings)
    lo = max(0, content.rfind("\n", 0, first) + 1, first - 100)
    hi = lo + 400
    for f in findings:  # never cut through a finding: half a card number is still PII
        if f.start < hi < f.end:
            hi = f.start
    inside = [
        Finding(f.type, f.start - lo, f.end - lo, f.score) for f in findings if f.start >= lo and f.end <= hi
    ]
    return redact(content[lo:hi], inside)


class _FileScanWhere(TypedDict):
    """The file a FileScan row is about: file_scan_record's keyword arguments besides the outcome."""

    team_id: str
    channel: str
    ts: str
    ref: dict[str, Any]


def file_scan(
    *, team_id: str, enterprise_id: str = "", channel: str, user: str, ts: str, ref: dict[str, Any]
) -> dict:
    """Fetch a text-like file with the bot token and scan it; remove it if it holds PII."""
    from pii.config import pii_settings_get
    from pii.services import detection_act, detection_record

    where: _FileScanWhere = {"team_id": team_id, "channel": channel, "ts": ts, "ref": ref}
    conf = pii_settings_get()
    if not conf.detection_enabled:
        file_scan_record(**where, status=FileScanStatus.NOT_SCANNED, reason="PII detection is switched off")
        return {"scanned": False}
    tokens = workspace_tokens(team_id=team_id, enterprise_id=enterprise_id)
    try:
        chunks = slack.file_chunks(
            bot_token=tokens.bot,
            url=ref.get("url_private_download") or ref.get("url_private") or "",
            max_bytes=settings.PII_FILE_MAX_BYTES,
            mimetype=ref.get("mimetype") or "",
        )
        result = text_scan(
            _decoded(chunks),
            window=settings.PII_SCAN_CHUNK_CHARS,
            budget=settings.PII_SCAN_BUDGET,
            types=frozenset(conf.types),
        )
    except slack.FileTooLarge:
        file_scan_record(**where, status=FileScanStatus.NOT_SCANNED, reason="over PII_FILE_MAX_BYTES")
        return {"scanned": False}
    except slack.SlackNotFound:
        file_scan_record(**where, status=FileScanStatus.NOT_SCANNED, reason="file already deleted")
        return {"scanned": False}
    except (BudgetExceeded, SoftTimeLimitExceeded) as exc:
        reason = str(exc) if isinstance(exc, BudgetExceeded) else "scan job hit its soft time limit"
        file_scan_record(**where, status=FileScanStatus.FAILED, reason=reason[:200])
        return {"scanned": False}
    except (slack.SlackRateLimited, slack.SlackTransientError):
        raise
    except slack.SlackError as exc:
        file_scan_record(**where, status=FileScanStatus.FAILED, reason=str(exc)[:200])
        if isinstance(exc, slack.SlackAuthError):
            raise
        return {"scanned": False}
    if not result.counts:
        file_scan_record(**where, status=FileScanStatus.CLEAN)
        return {"scanned": True, "pii": False}
    file_scan_record(**where, status=FileScanStatus.PII_FOUND)
    detection = detection_record(
        team_id=team_id,
        channel=channel,
        user=user,
        ts=ts,
        source=Detection.Source.FILE,
        file_id=ref["id"],
        counts=result.counts,
        excerpt=result.excerpt,
    )
    detection_act(detection=detection, tokens=tokens, notice=f"(a shared file)\n{detection.redacted_excerpt}")
    return {"scanned": True, "pii": True, "detection": detection.pk}


def file_scan_record(
    *, team_id: str, channel: str, ts: str, ref: dict[str, Any], status: str, reason: str = ""
) -> FileScan:
    row, _ = FileScan.objects.update_or_create(
        team_id=team_id,
        channel=channel,
        ts=ts,
        file_id=ref.get("id") or "",
        defaults={
            "filetype": (ref.get("filetype") or "")[:40],
            "mimetype": (ref.get("mimetype") or "")[:120],
            "size": ref.get("size"),
            "status": status,
            "reason": reason,
        },
    )
    return row
