"""Scanning a message (or a shared file) and acting on what is found.

Idempotent by design: jobs run at least once and may be retried half-way (rate limits), so the
Detection row is keyed by (workspace, channel, ts, source, file) and each action's outcome is
stored as it happens; a re-run skips what is already done.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from pii import slack
from pii.detector import Finding, get_detector, redact
from pii.models import Detection, DetectionStatus, FileScan, FileScanStatus

logger = logging.getLogger("pii")

LABELS = {
    "EMAIL": "an e-mail address",
    "PHONE": "a phone number",
    "CREDIT_CARD": "a payment card number",
    "IBAN": "a bank account number (IBAN)",
    "US_SSN": "a US Social Security number",
    "IP_ADDRESS": "an IP address",
}
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
    {
        "text",
        "csv",
        "tsv",
        "json",
        "xml",
        "yaml",
        "markdown",
        "post",
        "html",
        "css",
        "javascript",
        "typescript",
        "python",
        "ruby",
        "go",
        "java",
        "kotlin",
        "swift",
        "c",
        "cpp",
        "csharp",
        "php",
        "rust",
        "scala",
        "shell",
        "sql",
        "diff",
        "ini",
        "toml",
        "log",
        "elixir",
        "erlang",
        "perl",
        "r",
        "matlab",
        "groovy",
        "dockerfile",
        "lua",
        "clojure",
        "haskell",
        "vb",
        "powershell",
    }
)
DONE = ("deleted", "not_found", "notified_ephemeral", "notified_dm")


def message_scan(
    *, team_id: str, channel: str, user: str, ts: str, text: str, files: list[dict[str, Any]]
) -> dict[str, Any]:
    """Scan the text and the file names; hand text-like files to the file queue."""
    from pii.tasks import slack_file_scan_task

    engine = get_detector()
    findings = engine.detect(text or "")
    counts = Counter(f.type for f in findings)
    names_redacted = []
    for ref in files:
        label = " ".join(x for x in (ref.get("name"), ref.get("title")) if x)
        hits = engine.detect(label)
        counts.update(f.type for f in hits)
        if hits:
            names_redacted.append(redact(label, hits))
        if is_text_file(ref) and (ref.get("size") or 0) <= settings.PII_FILE_MAX_BYTES:
            slack_file_scan_task.enqueue(
                team_id=team_id, channel=channel, user=user, ts=ts, file_id=ref["id"], file=ref
            )
        else:
            reason = "not a text file" if not is_text_file(ref) else "over PII_FILE_MAX_BYTES"
            file_scan_record(
                team_id=team_id,
                channel=channel,
                ts=ts,
                ref=ref,
                status=FileScanStatus.NOT_SCANNED,
                reason=reason,
            )
    if not counts:
        return {"pii": False}
    excerpt = "\n".join([redact(text or "", findings)] + [f"file: {n}" for n in names_redacted])
    detection = detection_record(
        team_id=team_id,
        channel=channel,
        user=user,
        ts=ts,
        source=Detection.Source.MESSAGE,
        counts=counts,
        excerpt=excerpt,
    )
    detection_act(detection=detection, notice=excerpt)
    return {"pii": True, "detection": detection.pk, "status": detection.status}


def file_scan(*, team_id: str, channel: str, user: str, ts: str, ref: dict[str, Any]) -> dict:
    """Fetch a text-like file with the bot token and scan it; remove it if it holds PII."""
    try:
        data = slack.file_download(
            url=ref.get("url_private_download") or ref.get("url_private") or "",
            max_bytes=settings.PII_FILE_MAX_BYTES,
        )
    except slack.FileTooLarge:
        file_scan_record(
            team_id=team_id,
            channel=channel,
            ts=ts,
            ref=ref,
            status=FileScanStatus.NOT_SCANNED,
            reason="over PII_FILE_MAX_BYTES",
        )
        return {"scanned": False}
    except slack.SlackNotFound:
        file_scan_record(
            team_id=team_id,
            channel=channel,
            ts=ts,
            ref=ref,
            status=FileScanStatus.NOT_SCANNED,
            reason="file already deleted",
        )
        return {"scanned": False}
    except (slack.SlackRateLimited, slack.SlackTransientError):
        raise
    except slack.SlackError as exc:
        file_scan_record(
            team_id=team_id,
            channel=channel,
            ts=ts,
            ref=ref,
            status=FileScanStatus.FAILED,
            reason=str(exc)[:200],
        )
        if isinstance(exc, slack.SlackAuthError):
            raise
        return {"scanned": False}
    content = data.decode("utf-8", errors="replace")
    findings = get_detector().detect(content)
    if not findings:
        file_scan_record(team_id=team_id, channel=channel, ts=ts, ref=ref, status=FileScanStatus.CLEAN)
        return {"scanned": True, "pii": False}
    file_scan_record(team_id=team_id, channel=channel, ts=ts, ref=ref, status=FileScanStatus.PII_FOUND)
    detection = detection_record(
        team_id=team_id,
        channel=channel,
        user=user,
        ts=ts,
        source=Detection.Source.FILE,
        file_id=ref["id"],
        counts=Counter(f.type for f in findings),
        excerpt=_excerpt(content, findings),
    )
    detection_act(detection=detection, notice=f"(a shared file)\n{detection.redacted_excerpt}")
    return {"scanned": True, "pii": True, "detection": detection.pk}


def is_text_file(ref: dict[str, Any]) -> bool:
    mimetype = (ref.get("mimetype") or "").lower()
    return mimetype.startswith(TEXT_MIMETYPES) or (ref.get("filetype") or "") in TEXT_FILETYPES


def detection_record(
    *,
    team_id: str,
    channel: str,
    user: str,
    ts: str,
    source: str,
    counts: Counter,
    excerpt: str,
    file_id: str = "",
) -> Detection:
    limit = settings.PII_EXCERPT_CHARS
    defaults = {
        "user": user,
        "types": dict(counts),
        "redacted_excerpt": excerpt[:limit] + ("…" if len(excerpt) > limit else ""),
    }
    key = {"team_id": team_id, "channel": channel, "ts": ts, "source": source, "file_id": file_id}
    try:
        with transaction.atomic():
            detection, _ = Detection.objects.get_or_create(**key, defaults=defaults)
    except IntegrityError:  # a concurrent run created it first
        detection = Detection.objects.get(**key)
    return detection


def detection_act(*, detection: Detection, notice: str) -> Detection:
    """Remove the message (or file), then tell the author privately. Each outcome is saved as
    it happens so a retry after a rate limit repeats nothing that already worked."""
    if detection.status in (DetectionStatus.ACTIONED, DetectionStatus.GONE, DetectionStatus.PARTIAL):
        return detection
    removal = "delete_file" if detection.source == Detection.Source.FILE else "delete"
    try:
        if detection.actions.get(removal) not in DONE:
            outcome = _remove(detection)
            _outcome(detection, removal, outcome)
            if outcome == "not_found" and removal == "delete":
                return _finish(detection, DetectionStatus.GONE, "message was already deleted")
        if detection.actions.get("notify") not in DONE:
            _outcome(detection, "notify", _notify(detection, notice))
    except slack.SlackAuthError as exc:
        _finish(detection, DetectionStatus.FAILED, str(exc))
        raise
    failed = [a for a, o in detection.actions.items() if o not in DONE]
    if failed:
        return _finish(
            detection, DetectionStatus.PARTIAL, "; ".join(f"{a}: {detection.actions[a]}" for a in failed)
        )
    return _finish(detection, DetectionStatus.ACTIONED, "")


def _remove(detection: Detection) -> str:
    try:
        if detection.source == Detection.Source.FILE:
            slack.file_delete(file_id=detection.file_id)
        else:
            slack.message_delete(channel=detection.channel, ts=detection.ts)
    except slack.SlackNotFound:
        return "not_found"
    except (slack.SlackRateLimited, slack.SlackTransientError, slack.SlackAuthError):
        raise
    except slack.SlackError as exc:
        return f"failed: {exc.code}"
    return "deleted"


def _notify(detection: Detection, notice: str) -> str:
    kinds = ", ".join(LABELS.get(t, t) for t in sorted(detection.types))
    where = "a file you shared" if detection.source == Detection.Source.FILE else "your message"
    text = (
        f"I removed {where} in <#{detection.channel}> because it contained {kinds}. "
        f"Here it is with those parts redacted, so you can post it again safely:\n"
        + "\n".join("> " + line for line in notice[:3000].splitlines())
    )
    try:
        slack.ephemeral_post(channel=detection.channel, user=detection.user, text=text)
        return "notified_ephemeral"
    except (slack.SlackRateLimited, slack.SlackTransientError, slack.SlackAuthError):
        raise
    except slack.SlackError:
        pass
    try:
        slack.dm_post(user=detection.user, text=text)
        return "notified_dm"
    except (slack.SlackRateLimited, slack.SlackTransientError, slack.SlackAuthError):
        raise
    except slack.SlackError as exc:
        return f"failed: {exc.code}"


def _outcome(detection: Detection, action: str, outcome: str) -> None:
    detection.actions = {**detection.actions, action: outcome}
    detection.save(update_fields=["actions", "updated_at"])
    logger.info(
        "pii action", extra={"fields": {"detection": detection.pk, "action": action, "outcome": outcome}}
    )


def _finish(detection: Detection, status: str, reason: str) -> Detection:
    detection.status, detection.reason = status, reason[:300]
    detection.save(update_fields=["status", "reason", "updated_at"])
    return detection


def _excerpt(content: str, findings: list[Finding]) -> str:
    first = min(f.start for f in findings)
    lo = max(0, content.rfind("\n", 0, first) + 1, first - 100)
    hi = lo + 400
    for f in findings:  # never cut through a finding: half a card number is still PII
        if f.start < hi < f.end:
            hi = f.start
    window = [
        Finding(f.type, f.start - lo, f.end - lo, f.score) for f in findings if f.start >= lo and f.end <= hi
    ]
    return redact(content[lo:hi], window)


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


def slack_events_prune() -> int:
    """Forget event ids after PII_EVENTS_KEEP_DAYS: Slack retries within minutes, not days."""
    from datetime import timedelta

    from django.utils import timezone

    from pii.models import SlackEvent

    cutoff = timezone.now() - timedelta(days=settings.PII_EVENTS_KEEP_DAYS)
    deleted, _ = SlackEvent.objects.filter(received_at__lt=cutoff).delete()
    return deleted
