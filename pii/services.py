"""Scanning a message and acting on what is found.

Idempotent by design: jobs run at least once and may come back half-way (rate limits), so the
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
from pii.config import pii_settings_get
from pii.detector import get_detector, redact
from pii.files import file_scan_record, is_text_file
from pii.installations import Tokens, workspace_tokens
from pii.models import Detection, DetectionStatus, FileScanStatus, PiiSettings

logger = logging.getLogger("pii")

LABELS = {
    "EMAIL": "an e-mail address",
    "PHONE": "a phone number",
    "CREDIT_CARD": "a payment card number",
    "IBAN": "a bank account number (IBAN)",
    "US_SSN": "a US Social Security number",
    "IP_ADDRESS": "an IP address",
}
DONE = ("deleted", "not_found", "notified_ephemeral", "notified_dm")
# Why Slack would not remove the message, in words an admin can act on.
REFUSALS = {
    "no_admin_token": "not removed: no admin user token for this workspace (install the app via "
    "/slack/install as a workspace admin or owner, or set SLACK_USER_TOKEN)",
    "cant_delete_message": "not removed: Slack refused (cant_delete_message): the token's user may not "
    "delete this message (not an admin/owner, or past the workspace's deletion window)",
    "cant_delete_file": "not removed: Slack refused (cant_delete_file): the token's user may not delete it",
    "compliance_exports_prevent_deletion": "not removed: the workspace's compliance exports prevent deletion",
    "missing_scope": "not removed: the token lacks the chat:write / files:write scope",
}


def message_scan(
    *,
    team_id: str,
    enterprise_id: str = "",
    channel: str,
    user: str,
    ts: str,
    text: str,
    parts: list[str] | None = None,
    files: list[dict[str, Any]],
) -> dict[str, Any]:
    """Scan the text, the other parts (attachments, blocks) and the file names; hand text-like
    files to the file queue. A value seen twice (the text and its rich_text block, or Slack's
    "<mailto:a@b.c|a@b.c>") counts once."""
    from pii.tasks import slack_file_scan_task

    conf = pii_settings_get()
    if not conf.detection_enabled:  # switched off in the admin: the message is not looked at
        return {"pii": False, "skipped": "detection off"}
    wanted = frozenset(conf.types)
    engine = get_detector()
    seen: set[tuple[str, str]] = set()
    counts: Counter = Counter()
    excerpts: list[str] = []
    labels = [" ".join(x for x in (ref.get("name"), ref.get("title")) if x) for ref in files]
    for i, piece in enumerate([text or "", *(parts or []), *labels]):
        hits = [f for f in engine.detect(piece) if f.type in wanted]
        new = []
        for f in hits:
            value = (f.type, piece[f.start : f.end])
            if value not in seen:
                seen.add(value)
                new.append(f)
        counts.update(f.type for f in new)
        if i == 0 or new:
            prefix = "file: " if i > len(parts or []) else ""
            excerpts.append(prefix + redact(piece, hits))
    for ref in files:
        if is_text_file(ref) and (ref.get("size") or 0) <= settings.PII_FILE_MAX_BYTES:
            slack_file_scan_task.enqueue(
                team_id=team_id,
                enterprise_id=enterprise_id,
                channel=channel,
                user=user,
                ts=ts,
                file_id=ref["id"],
                file=ref,
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
    excerpt = "\n".join(e for e in excerpts if e)
    detection = detection_record(
        team_id=team_id,
        channel=channel,
        user=user,
        ts=ts,
        source=Detection.Source.MESSAGE,
        counts=counts,
        excerpt=excerpt,
    )
    tokens = workspace_tokens(team_id=team_id, enterprise_id=enterprise_id)
    detection_act(detection=detection, tokens=tokens, notice=excerpt)
    return {"pii": True, "detection": detection.pk, "status": detection.status}


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


def detection_act(*, detection: Detection, tokens: Tokens, notice: str) -> Detection:
    """Remove the message (or file) with the admin's user token, then tell the author privately
    with the bot. Each outcome is saved as it happens so a retry after a rate limit repeats
    nothing that already worked; a refused removal is recorded with why, and the author is
    still told."""
    if detection.status in (DetectionStatus.ACTIONED, DetectionStatus.GONE, DetectionStatus.PARTIAL):
        return detection
    removal = "delete_file" if detection.source == Detection.Source.FILE else "delete"
    # "notify" (PII settings): the author is told and asked to delete it; nothing is removed.
    remove = pii_settings_get().finding_action == PiiSettings.Action.DELETE
    try:
        if remove and detection.actions.get(removal) not in DONE:
            outcome = _remove(detection, tokens)
            _outcome(detection, removal, outcome)
            if outcome == "not_found" and removal == "delete":
                return _finish(detection, DetectionStatus.GONE, "message was already deleted")
        if detection.actions.get("notify") not in DONE:
            _outcome(detection, "notify", _notify(detection, tokens, notice))
    except slack.SlackAuthError as exc:
        _finish(detection, DetectionStatus.FAILED, str(exc))
        raise
    failed = [a for a, o in detection.actions.items() if o not in DONE]
    if failed:
        reasons = [_reason(a, detection.actions[a]) for a in failed]
        return _finish(detection, DetectionStatus.PARTIAL, "; ".join(reasons))
    return _finish(detection, DetectionStatus.ACTIONED, "")


def _reason(action: str, outcome: str) -> str:
    code = outcome.removeprefix("failed: ")
    return (
        REFUSALS.get(code, f"{action}: {outcome}") if action.startswith("delete") else f"{action}: {outcome}"
    )


def _remove(detection: Detection, tokens: Tokens) -> str:
    try:
        if detection.source == Detection.Source.FILE:
            slack.file_delete(user_token=tokens.user, file_id=detection.file_id)
        else:
            slack.message_delete(user_token=tokens.user, channel=detection.channel, ts=detection.ts)
    except slack.SlackNotFound:
        return "not_found"
    except (slack.SlackRateLimited, slack.SlackTransientError, slack.SlackAuthError):
        raise
    except slack.SlackError as exc:
        return f"failed: {exc.code}"
    return "deleted"


def _notify(detection: Detection, tokens: Tokens, notice: str) -> str:
    kinds = ", ".join(LABELS.get(t, t) for t in sorted(detection.types))
    where = "a file you shared" if detection.source == Detection.Source.FILE else "your message"
    removed = detection.actions.get("delete_file" if where != "your message" else "delete") == "deleted"
    head = (
        f"I removed {where} in <#{detection.channel}> because it contained {kinds}. "
        if removed
        else f"{where.capitalize()} in <#{detection.channel}> contains {kinds}; please delete it. "
    )
    text = head + (
        "Here it is with those parts redacted, so you can post it again safely:\n"
        + "\n".join("> " + line for line in notice[:3000].splitlines())
    )
    try:
        slack.ephemeral_post(bot_token=tokens.bot, channel=detection.channel, user=detection.user, text=text)
        return "notified_ephemeral"
    except (slack.SlackRateLimited, slack.SlackTransientError, slack.SlackAuthError):
        raise
    except slack.SlackError:
        pass
    try:
        slack.dm_post(bot_token=tokens.bot, user=detection.user, text=text)
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


def slack_events_prune() -> int:
    """Forget event ids after PII_EVENTS_KEEP_DAYS: Slack retries within minutes, not days."""
    from datetime import timedelta

    from django.utils import timezone

    from pii.models import SlackEvent

    cutoff = timezone.now() - timedelta(days=settings.PII_EVENTS_KEEP_DAYS)
    deleted, _ = SlackEvent.objects.filter(received_at__lt=cutoff).delete()
    return deleted
