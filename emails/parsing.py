"""SQS body → one normalized SES event, an SNS control message to acknowledge, or a reason to
quarantine. Pure functions: no database, no AWS.

Accepted (as AWS documents them):
- the SNS envelope (raw delivery off): {"Type": "Notification" | "SubscriptionConfirmation" |
  "UnsubscribeConfirmation", "MessageId", "TopicArn", "Message": "<JSON string>", "Timestamp" …};
- raw delivery on: the SES JSON itself is the SQS body;
- SES notifications ({"notificationType": "Bounce" | "Complaint" | "Delivery", "mail", …}) and
  event publishing ({"eventType": "Send" | … | "Subscription", "mail", …});
- SNS's and SES's own control messages: "Successfully validated SNS topic for Amazon SES event
  publishing." (not JSON) and {"notificationType": "AmazonSnsSubscriptionSucceeded"}.

Deduplication key: SNS's MessageId when there is an envelope; with raw delivery there is none,
so "sha256:" + the hash of the body. SNS re-sending the same event produces a new SQS message
id but the same body, so the hash catches it where the SQS MessageId would not.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from emails.models import EventType
from emails.sns_confirm import Confirm, InvalidConfirmation, confirmation_parse

SES_TYPES = {
    "Send": EventType.SEND,
    "Reject": EventType.REJECT,
    "Bounce": EventType.BOUNCE,
    "Complaint": EventType.COMPLAINT,
    "Delivery": EventType.DELIVERY,
    "Open": EventType.OPEN,
    "Click": EventType.CLICK,
    "Rendering Failure": EventType.RENDERING_FAILURE,
    "RenderingFailure": EventType.RENDERING_FAILURE,
    "DeliveryDelay": EventType.DELIVERY_DELAY,
    "Subscription": EventType.SUBSCRIPTION,
}
NOTIFICATION_TYPES = {"Bounce", "Complaint", "Delivery"}
# The sub-object each type carries (SES's field names).
SUB_OBJECT = {
    EventType.SEND: "send",
    EventType.REJECT: "reject",
    EventType.BOUNCE: "bounce",
    EventType.COMPLAINT: "complaint",
    EventType.DELIVERY: "delivery",
    EventType.OPEN: "open",
    EventType.CLICK: "click",
    EventType.RENDERING_FAILURE: "failure",
    EventType.DELIVERY_DELAY: "deliveryDelay",
    EventType.SUBSCRIPTION: "subscription",
}
# Types whose sub-object SES may send empty or leave out: the mail object carries the facts.
OPTIONAL_SUB = {EventType.SEND, EventType.REJECT, EventType.RENDERING_FAILURE}
SNS_CONTROL_TYPES = {"SubscriptionConfirmation", "UnsubscribeConfirmation"}
CONTROL_TEXTS = ("Successfully validated SNS topic for Amazon SES event publishing",)
SES_CONTROL_TYPES = {"AmazonSnsSubscriptionSucceeded"}


class Invalid(ValueError):
    """The message cannot be used; the text is the quarantine reason (no payload in it)."""


@dataclass(frozen=True)
class Ignored:
    """An SNS/SES control message: acknowledged (deleted) and counted, nothing recorded."""

    reason: str


@dataclass
class Event:
    sns_message_id: str
    ses_message_id: str
    event_type: str
    sub_type: str
    recipients: list[str]
    occurred_at: datetime
    format: str
    delivery: str
    payload: dict[str, Any]
    source: str = ""
    destination: list[str] = field(default_factory=list)
    sent_at: datetime | None = None
    permanent_bounce: bool = False
    payload_json: str = ""  # the SES JSON exactly as it came: stored without dumping it again


def parse(body: str, *, max_bytes: int) -> Event | Ignored | Confirm:
    """Raise Invalid with a reason, or return what the message is."""
    size = len(body.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise Invalid(f"oversized: {size} bytes > {max_bytes}")
    if _is_control_text(body):
        return Ignored("SES topic validation message")
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        raise Invalid("not JSON") from None
    if not isinstance(doc, dict):
        raise Invalid(f"JSON {type(doc).__name__}, expected an object")
    _ensure_encodable(body)
    if "Type" in doc and ("Message" in doc or doc.get("Type") in SNS_CONTROL_TYPES):
        return _from_envelope(doc)
    if "eventType" in doc or "notificationType" in doc:
        key = "sha256:" + hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()
        event = _from_ses(doc, sns_message_id=key, delivery="raw", fallback_time=None)
        if isinstance(event, Event):
            event.payload_json = body
        return event
    raise Invalid("neither an SNS envelope nor an SES event (no Type, eventType or notificationType)")


def _ensure_encodable(text: str) -> None:
    """A lone surrogate (raw, or as a JSON \\ud800 escape) cannot be stored as UTF-8: this one
    message is quarantined here, before the database would refuse its whole batch."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise Invalid("text that cannot be encoded as UTF-8 (a lone surrogate)") from None
    if "\\ud" in text or "\\uD" in text:  # escapes: check what they decode to
        try:
            json.dumps(json.loads(text), ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise Invalid("text that cannot be encoded as UTF-8 (a lone surrogate escape)") from None


def _is_control_text(text: str) -> bool:
    stripped = text.strip()
    return any(stripped.startswith(t) for t in CONTROL_TEXTS)


def _from_envelope(doc: dict[str, Any]) -> Event | Ignored | Confirm:
    kind = doc.get("Type")
    if kind == "SubscriptionConfirmation":
        try:
            return confirmation_parse(doc)
        except InvalidConfirmation as exc:
            raise Invalid(str(exc)) from None
    if kind in SNS_CONTROL_TYPES:
        return Ignored(f"SNS {kind}")
    if kind != "Notification":
        raise Invalid(f"unknown SNS message Type {str(kind)[:40]!r}")
    message_id = _str(doc, "MessageId", "SNS")
    if len(message_id) > 100:
        raise Invalid("SNS MessageId longer than 100 characters")
    message = doc.get("Message")
    if not isinstance(message, str):
        raise Invalid("SNS Message must be a string")
    if _is_control_text(message):
        return Ignored("SES topic validation message")
    try:
        inner = json.loads(message)
    except (ValueError, RecursionError):
        raise Invalid("SNS Message is not JSON") from None
    if not isinstance(inner, dict):
        raise Invalid("SNS Message is not a JSON object")
    _ensure_encodable(message)
    fallback = _time(doc.get("Timestamp")) if isinstance(doc.get("Timestamp"), str) else None
    event = _from_ses(inner, sns_message_id=message_id, delivery="sns", fallback_time=fallback)
    if isinstance(event, Event):
        event.payload_json = message
    return event


def _from_ses(
    doc: dict[str, Any], *, sns_message_id: str, delivery: str, fallback_time: datetime | None
) -> Event | Ignored:
    if "eventType" in doc:
        fmt, raw_type = "event", doc["eventType"]
        if not isinstance(raw_type, str) or raw_type not in SES_TYPES:
            raise Invalid(f"unknown eventType {str(raw_type)[:40]!r}")
    else:
        fmt, raw_type = "notification", doc.get("notificationType")
        if raw_type in SES_CONTROL_TYPES:
            return Ignored(f"SES {raw_type}")
        if not isinstance(raw_type, str) or raw_type not in NOTIFICATION_TYPES:
            raise Invalid(f"unknown notificationType {str(raw_type)[:40]!r}")
    event_type = SES_TYPES[raw_type]
    mail = doc.get("mail")
    if not isinstance(mail, dict):
        raise Invalid("missing mail object")
    ses_id = _str(mail, "messageId", "mail")
    if len(ses_id) > 200:
        raise Invalid("mail.messageId longer than 200 characters")
    # Liberal where AWS is: a missing or unreadable mail.timestamp leaves sent_at unknown, and the
    # event's time falls back to its own timestamp, then SNS's.
    sent_at = _time_or_none(mail.get("timestamp"))
    destination = _str_list(mail.get("destination", []), "mail.destination")
    source = mail.get("source", "")
    if not isinstance(source, str):
        raise Invalid("mail.source must be a string")

    sub_name = SUB_OBJECT[event_type]
    sub = doc.get(sub_name)
    if sub is None and event_type in OPTIONAL_SUB:
        sub = {}
    if not isinstance(sub, dict):
        raise Invalid(f"missing {sub_name} object")

    sub_type, recipients, permanent = "", list(destination), False
    if event_type == EventType.BOUNCE:
        bounce_type = _str(sub, "bounceType", "bounce")
        sub_type = bounce_type
        if isinstance(sub.get("bounceSubType"), str):
            sub_type = f"{bounce_type}/{sub['bounceSubType']}"
        recipients = _addresses(sub.get("bouncedRecipients"), "bounce.bouncedRecipients")
        permanent = bounce_type == "Permanent"
    elif event_type == EventType.COMPLAINT:
        # An account-level suppression complaint (complaintSubType "OnAccountSuppressionList")
        # may come without complainedRecipients: the mail's destination is who it was for.
        listed = sub.get("complainedRecipients")
        if listed in (None, []):
            recipients = list(destination)
        else:
            recipients = _addresses(listed, "complaint.complainedRecipients")
        kind = sub.get("complaintFeedbackType") or sub.get("complaintSubType") or ""
        sub_type = kind if isinstance(kind, str) else ""
    elif event_type == EventType.DELIVERY:
        recipients = _str_list(sub.get("recipients"), "delivery.recipients")
    elif event_type == EventType.DELIVERY_DELAY:
        recipients = _addresses(sub.get("delayedRecipients"), "deliveryDelay.delayedRecipients")
        sub_type = sub.get("delayType", "") if isinstance(sub.get("delayType"), str) else ""
    elif event_type == EventType.REJECT:
        sub_type = sub.get("reason", "") if isinstance(sub.get("reason"), str) else ""
    elif event_type == EventType.CLICK:
        if not isinstance(sub.get("link", ""), str):
            raise Invalid("click.link must be a string")
    elif event_type == EventType.RENDERING_FAILURE:
        sub_type = sub.get("templateName", "") if isinstance(sub.get("templateName"), str) else ""

    # The best time there is: the event's own, the mail's, SNS's; last, when it reached us.
    occurred = _time_or_none(sub.get("timestamp")) or sent_at or fallback_time or timezone.now()
    return Event(
        sns_message_id=sns_message_id,
        ses_message_id=ses_id,
        event_type=event_type,
        sub_type=sub_type[:64],
        recipients=[r.strip().lower()[:320] for r in recipients],
        occurred_at=occurred,
        format=fmt,
        delivery=delivery,
        payload=doc,
        source=source[:320],
        destination=destination,
        sent_at=sent_at,
        permanent_bounce=permanent,
    )


def _str(obj: dict[str, Any], name: str, where: str) -> str:
    value = obj.get(name)
    if not isinstance(value, str) or not value:
        raise Invalid(f"{where}.{name} missing or not a string")
    return value


def _str_list(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Invalid(f"{where} must be a list of strings")
    return value


def _addresses(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not value:
        raise Invalid(f"{where} must be a non-empty list")
    out = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("emailAddress"), str):
            raise Invalid(f"{where}[].emailAddress missing or not a string")
        out.append(item["emailAddress"])
    return out


def _time_or_none(value: Any) -> datetime | None:
    try:
        return _time(value)
    except Invalid:
        return None


def _time(value: Any, where: str = "Timestamp") -> datetime:
    try:
        parsed = parse_datetime(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise Invalid(f"{where} is not an ISO 8601 time with a zone")
    return parsed
