"""Every SES event type in both formats, raw and wrapped in SNS, as AWS documents them."""

from __future__ import annotations

import json

import pytest

from emails.models import EventType
from emails.parsing import Event, Ignored, Invalid, parse
from emails.sns_confirm import Confirm
from tests.emails import payloads as p

BIG = 262_144
EXPECTED = {
    "Send": EventType.SEND,
    "Reject": EventType.REJECT,
    "Bounce": EventType.BOUNCE,
    "Complaint": EventType.COMPLAINT,
    "Delivery": EventType.DELIVERY,
    "Open": EventType.OPEN,
    "Click": EventType.CLICK,
    "Rendering Failure": EventType.RENDERING_FAILURE,
    "DeliveryDelay": EventType.DELIVERY_DELAY,
    "Subscription": EventType.SUBSCRIPTION,
}


@pytest.mark.parametrize("wrap", ["sns", "raw"])
@pytest.mark.parametrize("kind", p.EVENT_TYPES)
def test_every_event_publishing_type_is_understood(kind, wrap):
    doc = p.ses_event(kind, "msg-1", to=["Jane@Example.com"])
    body = p.sns(doc, message_id="sns-1") if wrap == "sns" else p.raw(doc)

    event = parse(body, max_bytes=BIG)

    assert isinstance(event, Event)
    assert event.event_type == EXPECTED[kind]
    assert event.ses_message_id == "msg-1"
    assert event.format == "event" and event.delivery == wrap
    assert event.recipients == ["jane@example.com"]
    assert event.payload == doc
    if wrap == "sns":
        assert event.sns_message_id == "sns-1"
    else:
        assert event.sns_message_id.startswith("sha256:")


@pytest.mark.parametrize("wrap", ["sns", "raw"])
@pytest.mark.parametrize("kind", p.NOTIFICATION_TYPES)
def test_every_notification_type_is_understood(kind, wrap):
    doc = p.ses_event(kind, "msg-2", notification=True)
    body = p.sns(doc) if wrap == "sns" else p.raw(doc)

    event = parse(body, max_bytes=BIG)

    assert event.event_type == EXPECTED[kind] and event.format == "notification"


def test_bounce_and_complaint_details_are_kept():
    hard = parse(p.raw(p.ses_event("Bounce", "m", bounce_type="Permanent")), max_bytes=BIG)
    soft = parse(p.raw(p.ses_event("Bounce", "m", bounce_type="Transient")), max_bytes=BIG)
    complaint = parse(p.raw(p.ses_event("Complaint", "m")), max_bytes=BIG)
    assert hard.sub_type == "Permanent/General" and hard.permanent_bounce
    assert soft.sub_type == "Transient/General" and not soft.permanent_bounce
    assert complaint.sub_type == "abuse"
    assert hard.occurred_at.isoformat() == "2024-05-01T10:00:00+00:00"


def test_raw_delivery_of_the_same_body_has_the_same_key():
    body = p.raw(p.ses_event("Delivery", "m"))
    assert parse(body, max_bytes=BIG).sns_message_id == parse(body, max_bytes=BIG).sns_message_id


@pytest.mark.parametrize(
    "body",
    [
        p.VALIDATION_TEXT,
        p.sns(p.VALIDATION_TEXT),
        p.subscription_confirmation(),
        p.sns(p.SUBSCRIPTION_SUCCEEDED),
        p.raw(p.SUBSCRIPTION_SUCCEEDED),
        json.dumps({"Type": "UnsubscribeConfirmation", "MessageId": "x", "Message": "bye"}),
    ],
    ids=["text", "text-in-sns", "sub-confirm", "ses-sub-ok-sns", "ses-sub-ok-raw", "unsub"],
)
def test_control_messages_are_acknowledged_not_errors(body):
    # a SubscriptionConfirmation is a control message to confirm (emails.sns), not an error
    assert isinstance(parse(body, max_bytes=BIG), Ignored | Confirm)


def _broken(**changes):
    doc = p.ses_event("Bounce", "m")
    doc.update(changes)
    return p.raw(doc)


@pytest.mark.parametrize(
    "body, reason",
    [
        ("<html>not json</html>", "not JSON"),
        ("[1, 2]", "expected an object"),
        (json.dumps({"hello": "world"}), "neither an SNS envelope"),
        (p.raw({**p.ses_event("Open", "m"), "eventType": "Teleport"}), "unknown eventType"),
        (p.raw({"notificationType": "Received", "mail": {}}), "unknown notificationType"),
        (_broken(mail=None), "missing mail object"),
        (_broken(mail={"timestamp": p.T0}), "mail.messageId"),
        (
            _broken(bounce={"bounceType": "Permanent", "bouncedRecipients": "x@example.com"}),
            "bounce.bouncedRecipients",
        ),
        (_broken(bounce=None), "missing bounce object"),
        ('{"eventType": "Send", "mail": {"messageId": "m\ud800"}}', "cannot be encoded"),
        (p.sns("{not json"), "SNS Message is not JSON"),
        (
            json.dumps({"Type": "Notification", "MessageId": "x", "Message": {"a": 1}}),
            "SNS Message must be a string",
        ),
        (json.dumps({"Type": "Telegram", "MessageId": "x", "Message": "{}"}), "unknown SNS"),
        (p.raw({**p.ses_event("Send", "m"), "pad": "x" * 300_000}), "oversized"),
    ],
)
def test_bad_input_gets_a_clear_reason(body, reason):
    with pytest.raises(Invalid) as err:
        parse(body, max_bytes=BIG)
    assert reason in str(err.value)


# -- liberal where AWS is loose (written from AWS's documented schemas) ---------------------------
def _without_mail_timestamp(doc: dict) -> dict:
    doc["mail"] = {k: v for k, v in doc["mail"].items() if k != "timestamp"}
    return doc


def test_a_missing_mail_timestamp_uses_the_events_own_time():
    doc = _without_mail_timestamp(p.ses_event("Delivery", "m1", at="2024-05-01T10:00:05.000Z"))
    event = parse(p.sns(doc), max_bytes=BIG)
    assert isinstance(event, Event) and event.sent_at is None
    assert event.occurred_at.isoformat() == "2024-05-01T10:00:05+00:00"


def test_with_no_time_in_the_event_the_sns_timestamp_is_used():
    doc = _without_mail_timestamp(p.ses_event("Send", "m2"))  # Send's sub-object has no time
    event = parse(p.sns(doc), max_bytes=BIG)
    assert event.occurred_at.isoformat() == "2024-05-01T10:00:01+00:00"  # the envelope's Timestamp


def test_an_unreadable_time_falls_back_instead_of_quarantining():
    doc = p.ses_event("Open", "m3")
    doc["open"]["timestamp"] = 12
    doc["mail"]["timestamp"] = "yesterday"
    event = parse(p.sns(doc), max_bytes=BIG)
    assert event.occurred_at.isoformat() == "2024-05-01T10:00:01+00:00" and event.sent_at is None


def test_an_account_level_suppression_complaint_without_recipients_is_recorded():
    # "complaintSubType": "OnAccountSuppressionList", and no complainedRecipients (SES docs)
    doc = {
        "notificationType": "Complaint",
        "complaint": {
            "complaintSubType": "OnAccountSuppressionList",
            "timestamp": "2024-05-01T10:00:02.000Z",
            "feedbackId": "0100017",
        },
        "mail": p.mail("m4", ["listed@example.com"]),
    }
    event = parse(p.sns(doc), max_bytes=BIG)
    assert event.event_type == EventType.COMPLAINT and event.sub_type == "OnAccountSuppressionList"
    assert event.recipients == ["listed@example.com"]
