"""Slack Events API payloads -> one scan job per message, exactly once per event id."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import transaction

from pii.models import SlackEvent

logger = logging.getLogger("pii.events")

# Plain messages, file shares, thread broadcasts and /me; everything else (joins, topics,
# message_deleted, bot_message …) is not something a person typed just now.
SCANNED_SUBTYPES = {None, "", "file_share", "thread_broadcast", "me_message", "message_changed"}
FILE_KEYS = ("id", "name", "title", "mimetype", "filetype", "size", "url_private", "url_private_download")


def message_from_event(payload: dict[str, Any]) -> dict[str, Any] | None:
    """The message to scan (channel, user, ts, text, file refs), or None to ignore the event."""
    ev = payload.get("event") or {}
    if ev.get("type") != "message" or ev.get("hidden"):
        return None
    subtype = ev.get("subtype")
    if subtype not in SCANNED_SUBTYPES:
        return None
    msg = ev
    if subtype == "message_changed":
        msg = ev.get("message") or {}
        before = ev.get("previous_message") or {}
        if msg.get("hidden") or (
            msg.get("text") == before.get("text")
            and len(msg.get("files") or []) == len(before.get("files") or [])
        ):
            return None  # an unfurl or a reaction, not an edit of the text
    if msg.get("bot_id") or msg.get("subtype") == "bot_message" or msg.get("app_id"):
        return None
    user, ts, channel = msg.get("user"), msg.get("ts"), ev.get("channel")
    if not (user and ts and channel) or user in _own_user_ids(payload):
        return None
    files = [
        {k: f.get(k) for k in FILE_KEYS if f.get(k) is not None}
        for f in msg.get("files") or []
        if f.get("id") and f.get("mode") not in ("tombstone", "hidden_by_limit")
    ]
    return {"channel": channel, "user": user, "ts": ts, "text": msg.get("text") or "", "files": files}


def _own_user_ids(payload: dict[str, Any]) -> set[str]:
    ids = {a.get("user_id") for a in payload.get("authorizations") or [] if a.get("is_bot")}
    if settings.SLACK_BOT_USER_ID:
        ids.add(settings.SLACK_BOT_USER_ID)
    return ids


def event_receive(*, payload: dict[str, Any], retry_num: str | None = None) -> str:
    """Record the event id and enqueue its scan after commit. Returns what happened:
    "enqueued", "duplicate" or "ignored" (for the log line; Slack gets 200 in every case)."""
    from pii.tasks import slack_message_scan_task

    event_id = str(payload.get("event_id") or "")
    team_id = str(payload.get("team_id") or "")
    message = message_from_event(payload)
    if not event_id or message is None:
        _log("ignored", event_id, team_id, retry_num)
        return "ignored"
    with transaction.atomic():
        row, created = SlackEvent.objects.get_or_create(event_id=event_id, defaults={"team_id": team_id})
        if not created:
            _log("duplicate", event_id, team_id, retry_num)
            return "duplicate"

        def enqueue() -> None:
            res = slack_message_scan_task.enqueue(event_id=event_id, team_id=team_id, **message)
            SlackEvent.objects.filter(pk=row.pk).update(job_id=res.job_id)

        transaction.on_commit(enqueue)
    _log("enqueued", event_id, team_id, retry_num)
    return "enqueued"


def _log(outcome: str, event_id: str, team_id: str, retry_num: str | None) -> None:
    logger.info(
        "slack event",
        extra={
            "fields": {"outcome": outcome, "event_id": event_id, "team": team_id, "retry_num": retry_num or 0}
        },
    )
