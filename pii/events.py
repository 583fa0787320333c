"""Slack Events API payloads -> one scan job per message, exactly once per event id."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import transaction

from pii.content import has_unfurls_only_change, message_parts
from pii.installations import installation_disable, tokens_revoke
from pii.models import SlackEvent

logger = logging.getLogger("pii.events")

# Plain messages, file shares, thread broadcasts, /me and edits; everything else (joins,
# topics, message_deleted, bot_message …) is not something a person typed just now.
SCANNED_SUBTYPES = {None, "", "file_share", "thread_broadcast", "me_message", "message_changed"}
FILE_KEYS = ("id", "name", "title", "mimetype", "filetype", "size", "url_private", "url_private_download")


def message_from_event(payload: dict[str, Any]) -> dict[str, Any] | None:
    """The message to scan (channel, user, ts, text, other parts, file refs), or None."""
    ev = payload.get("event") or {}
    if not isinstance(ev, dict) or ev.get("type") != "message" or ev.get("hidden"):
        return None
    subtype = ev.get("subtype")
    if subtype not in SCANNED_SUBTYPES:
        return None
    msg = ev
    if subtype == "message_changed":
        msg = ev.get("message") or {}
        before = ev.get("previous_message") or {}
        if not isinstance(msg, dict) or msg.get("hidden") or has_unfurls_only_change(before, msg):
            return None  # an unfurl or a reaction, not an edit of what the member wrote
    if msg.get("bot_id") or msg.get("subtype") == "bot_message" or msg.get("app_id"):
        return None
    user, ts, channel = msg.get("user"), msg.get("ts"), ev.get("channel")
    if not (isinstance(user, str) and isinstance(ts, str) and isinstance(channel, str)):
        return None
    if not (user and ts and channel) or user in _own_user_ids(payload):
        return None
    files = [
        {k: f.get(k) for k in FILE_KEYS if f.get(k) is not None}
        for f in msg.get("files") or []
        if isinstance(f, dict) and f.get("id") and f.get("mode") not in ("tombstone", "hidden_by_limit")
    ]
    return {
        "channel": channel,
        "user": user,
        "ts": ts,
        "text": str(msg.get("text") or ""),
        "parts": message_parts(msg),
        "files": files,
    }


def _own_user_ids(payload: dict[str, Any]) -> set[str]:
    ids = {a.get("user_id") for a in payload.get("authorizations") or [] if a.get("is_bot")}
    if settings.SLACK_BOT_USER_ID:
        ids.add(settings.SLACK_BOT_USER_ID)
    return ids


def event_receive(*, payload: dict[str, Any], retry_num: str | None = None) -> str:
    """Record the event id and enqueue its scan in ONE transaction: if either fails both roll
    back, the view answers an error and Slack's retry is a first delivery, not a duplicate.
    (The jobs layer writes the job row in this transaction and publishes after commit, so an
    event answered 200 always has its job.) Returns "enqueued", "duplicate", "ignored" or
    "installation" (for the log line)."""
    from pii.tasks import slack_message_scan_task

    event_id = str(payload.get("event_id") or "")
    team_id = str(payload.get("team_id") or "")
    enterprise_id = str(payload.get("enterprise_id") or "")
    event = payload.get("event")
    ev: dict[str, Any] = event if isinstance(event, dict) else {}
    lifecycle = ev.get("type") in ("app_uninstalled", "tokens_revoked")
    message = None if lifecycle else message_from_event(payload)
    if not event_id or (message is None and not lifecycle):
        _log("ignored", event_id, team_id, retry_num)
        return "ignored"
    with transaction.atomic():
        row, created = SlackEvent.objects.get_or_create(event_id=event_id, defaults={"team_id": team_id})
        if not created:
            _log("duplicate", event_id, team_id, retry_num)
            return "duplicate"
        if lifecycle:
            _lifecycle(ev, enterprise_id=enterprise_id, team_id=team_id)
            outcome = "installation"
        else:
            assert message is not None
            res = slack_message_scan_task.enqueue(
                event_id=event_id, team_id=team_id, enterprise_id=enterprise_id, **message
            )
            SlackEvent.objects.filter(pk=row.pk).update(job_id=res.job_id)
            outcome = "enqueued"
    _log(outcome, event_id, team_id, retry_num)
    return outcome


def _lifecycle(ev: dict[str, Any], *, enterprise_id: str, team_id: str) -> None:
    """The app was removed, or some of its tokens were revoked: stop using them."""
    if ev.get("type") == "app_uninstalled":
        installation_disable(enterprise_id=enterprise_id, team_id=team_id, reason="app uninstalled")
        return
    revoked = ev.get("tokens")
    tokens: dict[str, Any] = revoked if isinstance(revoked, dict) else {}
    tokens_revoke(
        enterprise_id=enterprise_id,
        team_id=team_id,
        user_ids=[str(u) for u in tokens.get("oauth") or []],
        bot_user_ids=[str(u) for u in tokens.get("bot") or []],
    )


def _log(outcome: str, event_id: str, team_id: str, retry_num: str | None) -> None:
    logger.info(
        "slack event",
        extra={
            "fields": {"outcome": outcome, "event_id": event_id, "team": team_id, "retry_num": retry_num or 0}
        },
    )
