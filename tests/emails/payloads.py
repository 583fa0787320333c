"""SES and SNS payloads shaped as AWS documents them ("Amazon SNS notification contents for
Amazon SES", "Contents of event data that Amazon SES publishes to Amazon SNS", SNS message
format), for tests and the benchmark."""

from __future__ import annotations

import json
import uuid
from typing import Any

TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-events"
T0 = "2024-05-01T10:00:00.000Z"

# SES's spelling of each event type (eventType) and its sub-object.
EVENT_TYPES = [
    "Send",
    "Reject",
    "Bounce",
    "Complaint",
    "Delivery",
    "Open",
    "Click",
    "Rendering Failure",
    "DeliveryDelay",
    "Subscription",
]
NOTIFICATION_TYPES = ["Bounce", "Complaint", "Delivery"]


def mail(message_id: str, to: list[str] | None = None, at: str = T0) -> dict[str, Any]:
    to = to or ["recipient@example.com"]
    return {
        "timestamp": at,
        "source": "Sender <sender@example.com>",
        "sourceArn": "arn:aws:ses:us-east-1:123456789012:identity/example.com",
        "sendingAccountId": "123456789012",
        "messageId": message_id,
        "destination": to,
        "headersTruncated": False,
        "headers": [
            {"name": "From", "value": "sender@example.com"},
            {"name": "Subject", "value": "Your invoice"},
        ],
        "commonHeaders": {"from": ["sender@example.com"], "to": to, "subject": "Your invoice"},
        "tags": {"ses:configuration-set": ["ConfigSet"]},
    }


def sub_object(kind: str, to: list[str], at: str, bounce_type: str = "Permanent") -> dict:
    if kind == "Bounce":
        return {
            "bounceType": bounce_type,
            "bounceSubType": "General",
            "bouncedRecipients": [
                {
                    "emailAddress": a,
                    "action": "failed",
                    "status": "5.1.1",
                    "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                }
                for a in to
            ],
            "timestamp": at,
            "feedbackId": "0100-bounce",
            "reportingMTA": "dsn; a.example",
        }
    if kind == "Complaint":
        return {
            "complainedRecipients": [{"emailAddress": a} for a in to],
            "timestamp": at,
            "feedbackId": "0100-complaint",
            "userAgent": "ExampleCorp Feedback Loop",
            "complaintFeedbackType": "abuse",
            "arrivalDate": at,
        }
    if kind == "Delivery":
        return {
            "timestamp": at,
            "processingTimeMillis": 546,
            "recipients": to,
            "smtpResponse": "250 ok: Message 64111812 accepted",
            "reportingMTA": "a8-70.smtp-out.amazonses.com",
            "remoteMtaIp": "127.0.2.0",
        }
    if kind == "Send":
        return {}
    if kind == "Reject":
        return {"reason": "Bad content"}
    if kind == "Open":
        return {"ipAddress": "192.0.2.1", "timestamp": at, "userAgent": "Mozilla/5.0"}
    if kind == "Click":
        return {
            "ipAddress": "192.0.2.1",
            "timestamp": at,
            "userAgent": "Mozilla/5.0",
            "link": "https://example.com/pay",
            "linkTags": {"campaign": ["invoice"]},
        }
    if kind == "Rendering Failure":
        return {"errorMessage": "Attribute 'name' is not present", "templateName": "Invoice"}
    if kind == "DeliveryDelay":
        return {
            "timestamp": at,
            "delayType": "TransientCommunicationFailure",
            "expirationTime": "2024-05-02T10:00:00.000Z",
            "delayedRecipients": [
                {"emailAddress": a, "status": "4.4.1", "diagnosticCode": "smtp; 421 4.4.1 timeout"}
                for a in to
            ],
        }
    if kind == "Subscription":
        return {
            "contactList": "Newsletter",
            "timestamp": at,
            "source": "UnsubscribeHeader",
            "newTopicPreferences": {"unsubscribeAll": True},
            "oldTopicPreferences": {"unsubscribeAll": False},
        }
    raise ValueError(kind)


SUB_NAME = {
    "Send": "send",
    "Reject": "reject",
    "Bounce": "bounce",
    "Complaint": "complaint",
    "Delivery": "delivery",
    "Open": "open",
    "Click": "click",
    "Rendering Failure": "failure",
    "DeliveryDelay": "deliveryDelay",
    "Subscription": "subscription",
}


def ses_event(
    kind: str,
    message_id: str,
    *,
    to: list[str] | None = None,
    at: str = T0,
    notification: bool = False,
    bounce_type: str = "Permanent",
) -> dict[str, Any]:
    """An event-publishing record (eventType) or, with notification=True, a notification."""
    to = to or ["recipient@example.com"]
    doc: dict[str, Any] = {"notificationType": kind} if notification else {"eventType": kind}
    doc["mail"] = mail(message_id, to)
    doc[SUB_NAME[kind]] = sub_object(kind, to, at, bounce_type)
    return doc


def sns(message: dict | str, message_id: str | None = None) -> str:
    """An SNS Notification envelope (raw message delivery off) as the SQS body."""
    return json.dumps(
        {
            "Type": "Notification",
            "MessageId": message_id or str(uuid.uuid4()),
            "TopicArn": TOPIC,
            "Message": message if isinstance(message, str) else json.dumps(message),
            "Timestamp": "2024-05-01T10:00:01.000Z",
            "SignatureVersion": "1",
            "Signature": "EXAMPLE",
            "SigningCertURL": "https://sns.us-east-1.amazonaws.com/x.pem",
            "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
        }
    )


def raw(message: dict) -> str:
    """Raw message delivery on: the SES JSON is the SQS body."""
    return json.dumps(message)


def subscription_confirmation() -> str:
    return json.dumps(
        {
            "Type": "SubscriptionConfirmation",
            "MessageId": str(uuid.uuid4()),
            "Token": "2336412f",
            "TopicArn": TOPIC,
            "Message": f"You have chosen to subscribe to the topic {TOPIC}.",
            "SubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription",
            "Timestamp": T0,
            "SignatureVersion": "1",
            "Signature": "EXAMPLE",
            "SigningCertURL": "https://sns.us-east-1.amazonaws.com/x.pem",
        }
    )


VALIDATION_TEXT = "Successfully validated SNS topic for Amazon SES event publishing."
SUBSCRIPTION_SUCCEEDED = {
    "notificationType": "AmazonSnsSubscriptionSucceeded",
    "message": "You have successfully subscribed your Amazon SNS topic "
    f"'{TOPIC}' to receive 'Bounce' notifications from Amazon SES for identity "
    "'example.com'.",
}


def mixed(n: int, *, seed: int = 0) -> list[str]:
    """n SQS bodies: a realistic mix (sends, deliveries, opens, some bounces and complaints),
    half wrapped in SNS, half raw, about four events per e-mail."""
    kinds = [
        "Send",
        "Delivery",
        "Open",
        "Click",
        "Send",
        "Delivery",
        "Open",
        "Bounce",
        "Send",
        "Delivery",
        "Complaint",
        "DeliveryDelay",
        "Reject",
        "Subscription",
        "Rendering Failure",
        "Open",
    ]
    out = []
    for i in range(n):
        kind = kinds[(i + seed) % len(kinds)]
        msg_id = f"0100018f-{seed:04d}-{i // 4:08d}"
        doc = ses_event(
            kind,
            msg_id,
            to=[f"user{(i // 4) % 997}@example.com"],
            at=f"2024-05-01T10:{(i // 60) % 60:02d}:{i % 60:02d}.000Z",
        )
        out.append(sns(doc) if i % 2 else raw({**doc, "n": i}))
    return out
