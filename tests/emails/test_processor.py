"""Recording events: exactly once, never backwards, bad input quarantined, rest go on."""

from __future__ import annotations

import json

import pytest

from emails.models import (
    EmailEvent,
    EmailLog,
    EmailStatus,
    EventType,
    QuarantinedMessage,
    Suppression,
)
from emails.processor import ses_message_record, ses_messages_process
from emails.suppression import SuppressedAddressError, ensure_not_suppressed
from tests.emails import payloads as p
from tests.emails.conftest import msgs

pytestmark = pytest.mark.django_db


def process(bodies):
    return ses_messages_process(messages=msgs(bodies))


def test_every_type_in_both_formats_is_recorded():
    bodies = [p.sns(p.ses_event(k, f"e-{k}")) for k in p.EVENT_TYPES]
    bodies += [p.raw(p.ses_event(k, f"r-{k}")) for k in p.EVENT_TYPES]
    bodies += [p.sns(p.ses_event(k, f"n-{k}", notification=True)) for k in p.NOTIFICATION_TYPES]
    bodies += [p.raw(p.ses_event(k, f"nr-{k}", notification=True)) for k in p.NOTIFICATION_TYPES]

    result = process(bodies)

    assert result.counts() == {
        "received": 26,
        "recorded": 26,
        "duplicates": 0,
        "quarantined": 0,
        "ignored": 0,
    }
    assert EmailEvent.objects.count() == 26
    assert set(EmailEvent.objects.values_list("event_type", flat=True)) == set(EventType.values)
    assert EmailLog.objects.count() == 26
    assert EmailLog.objects.get(ses_message_id="e-Bounce").status == EmailStatus.BOUNCED
    assert EmailLog.objects.get(ses_message_id="r-Rendering Failure").status == "rendering_failed"
    assert EmailLog.objects.get(ses_message_id="n-Delivery").delivered_at is not None


def test_the_same_sns_message_twice_records_one_event():
    body = p.sns(p.ses_event("Open", "m1"), message_id="sns-dup")
    raw_body = p.raw(p.ses_event("Click", "m1"))

    first = process([body, body, raw_body])  # twice within one batch …
    second = process([body, raw_body])  # … and again in a later one

    assert (first.recorded, first.duplicates) == (2, 1)
    assert (second.recorded, second.duplicates) == (0, 2)
    assert EmailEvent.objects.count() == 2
    log = EmailLog.objects.get(ses_message_id="m1")
    assert (log.open_count, log.click_count) == (1, 1)


@pytest.mark.parametrize("batched", [True, False], ids=["one-batch", "one-by-one"])
def test_late_events_never_move_an_email_backwards(batched):
    order = ["Send", "Bounce", "Delivery", "DeliveryDelay"]
    bodies = [p.sns(p.ses_event(k, "m2", at=f"2024-05-01T10:0{i}:00.000Z")) for i, k in enumerate(order)]
    if batched:
        process(bodies)
    else:
        for b in bodies:
            process([b])

    log = EmailLog.objects.get(ses_message_id="m2")
    assert log.status == EmailStatus.BOUNCED
    assert log.delivered_at.isoformat() == "2024-05-01T10:02:00+00:00"  # still recorded
    assert EmailEvent.objects.filter(ses_message_id="m2").count() == 4


def test_an_open_after_delivery_keeps_delivered_and_counts_the_open():
    process([p.sns(p.ses_event("Delivery", "m3", at="2024-05-01T10:00:00.000Z"))])
    process(
        [
            p.sns(p.ses_event("Open", "m3", at="2024-05-01T11:00:00.000Z")),
            p.sns(p.ses_event("Open", "m3", at="2024-05-01T10:30:00.000Z")),
        ]
    )

    log = EmailLog.objects.get(ses_message_id="m3")
    assert log.status == EmailStatus.DELIVERED
    assert log.open_count == 2
    assert log.first_opened_at.isoformat() == "2024-05-01T10:30:00+00:00"
    assert log.last_event_at.isoformat() == "2024-05-01T11:00:00+00:00"


def test_events_for_unknown_messages_are_kept_and_a_known_log_is_updated():
    EmailLog.objects.create(
        ses_message_id="known", source="billing@example.com", destination=["a@example.com"]
    )
    process([p.raw(p.ses_event("Delivery", "known")), p.raw(p.ses_event("Open", "stranger"))])

    known = EmailLog.objects.get(ses_message_id="known")
    assert known.status == EmailStatus.DELIVERED and known.source == "billing@example.com"
    stranger = EmailLog.objects.get(ses_message_id="stranger")
    assert stranger.status == EmailStatus.DELIVERED and stranger.open_count == 1


def test_hard_bounces_and_complaints_suppress_soft_bounces_do_not():
    process(
        [
            p.sns(p.ses_event("Bounce", "b1", to=["Hard@Example.com"])),
            p.sns(p.ses_event("Bounce", "b2", to=["soft@example.com"], bounce_type="Transient")),
            p.raw(p.ses_event("Complaint", "c1", to=["angry@example.com"], notification=True)),
        ]
    )

    assert dict(Suppression.objects.values_list("address", "reason")) == {
        "hard@example.com": "bounce",
        "angry@example.com": "complaint",
    }
    with pytest.raises(SuppressedAddressError, match="1 suppressed address"):
        ensure_not_suppressed(["ok@example.com", "HARD@example.com"])
    ensure_not_suppressed(["soft@example.com"])  # no error


def test_malformed_messages_among_good_ones_are_quarantined_and_the_rest_go_on(aws):
    from project import aws as aws_module

    aws_module.client("sns").create_topic(Name=p.TOPIC.rsplit(":", 1)[1])  # the confirmation's topic
    good = [p.sns(p.ses_event("Delivery", f"g{i}")) for i in range(3)]
    bad = [
        "not json at all",
        p.sns("{truncated"),
        p.raw({"eventType": "Open"}),
        p.raw({**p.ses_event("Send", "big"), "pad": "x" * 300_000}),
    ]
    control = [p.VALIDATION_TEXT, p.subscription_confirmation()]
    batch = msgs([good[0], bad[0], good[1], bad[1], control[0], bad[2], good[2], bad[3], control[1]])

    result = ses_messages_process(messages=batch)

    assert result.counts() == {"received": 9, "recorded": 3, "duplicates": 0, "quarantined": 4, "ignored": 2}
    assert len(result.done) == 9  # every message may now be deleted from SQS
    assert EmailEvent.objects.count() == 3
    reasons = sorted(QuarantinedMessage.objects.values_list("reason", flat=True))
    assert any("not JSON" in r for r in reasons) and any("oversized" in r for r in reasons)
    kept = QuarantinedMessage.objects.get(sqs_message_id=batch[1].message_id)
    assert kept.body == "not json at all" and not kept.body_truncated  # kept raw for a person
    big = QuarantinedMessage.objects.get(sqs_message_id=batch[7].message_id)
    assert big.body_truncated and big.body_bytes > 300_000


def test_a_row_the_database_refuses_is_quarantined_and_the_batch_still_recorded():
    # PostgreSQL's jsonb refuses \u0000: the bulk insert fails, the fallback isolates it.
    poisoned = p.raw({**p.ses_event("Open", "poison"), "note": "\u0000"})
    good = [p.sns(p.ses_event("Delivery", f"ok{i}")) for i in range(3)]

    result = process([good[0], poisoned, good[1], good[2]])

    assert (result.recorded, result.quarantined) == (3, 1)
    assert "database rejected" in QuarantinedMessage.objects.get().reason
    assert EmailEvent.objects.count() == 3


def test_bulk_and_one_at_a_time_agree():
    bodies = p.mixed(160, seed=3)
    process(bodies[:80] + bodies[:10])
    bulk = _snapshot()
    EmailEvent.objects.all().delete()
    EmailLog.objects.all().delete()
    Suppression.objects.all().delete()

    outcomes = [ses_message_record(message=m) for m in msgs(bodies[:80] + bodies[:10])]

    assert outcomes.count("duplicates") == 10
    assert _snapshot() == bulk


def _snapshot():
    logs = list(
        EmailLog.objects.order_by("ses_message_id").values(
            "ses_message_id",
            "status",
            "sent_at",
            "delivered_at",
            "bounced_at",
            "complained_at",
            "first_opened_at",
            "first_clicked_at",
            "open_count",
            "click_count",
            "last_event_at",
        )
    )
    events = sorted(EmailEvent.objects.values_list("sns_message_id", "event_type", "sub_type"))
    return logs, events, sorted(Suppression.objects.values_list("address", "reason"))


def test_payload_is_stored_as_sent():
    doc = p.ses_event("Click", "m9")
    process([p.sns(doc)])
    assert EmailEvent.objects.get().payload == json.loads(json.dumps(doc))


def test_a_lone_surrogate_quarantines_its_message_not_its_batch():
    good = [p.sns(p.ses_event("Delivery", f"s{i}")) for i in range(3)]
    doc = p.ses_event("Open", "bad")
    doc["open"]["userAgent"] = "\ud83d"  # half an emoji
    bad_escaped = p.sns(doc)  # json.dumps writes it as the escape \\ud83d
    bad_raw = good[0].replace("s0", "s9\udc80")  # a lone surrogate in the text itself

    result = process([good[0], bad_escaped, good[1], bad_raw, good[2]])

    assert (result.recorded, result.quarantined) == (3, 2)
    assert EmailLog.objects.filter(ses_message_id__in=["s0", "s1", "s2"]).count() == 3
    assert all("cannot be encoded" in q.reason for q in QuarantinedMessage.objects.all())


def test_an_account_level_suppression_complaint_feeds_the_suppression_list():
    doc = {
        "notificationType": "Complaint",
        "complaint": {"complaintSubType": "OnAccountSuppressionList", "timestamp": p.T0},
        "mail": p.mail("acct1", ["listed@example.com"]),
    }
    assert process([p.sns(doc)]).recorded == 1
    assert EmailLog.objects.get(ses_message_id="acct1").status == EmailStatus.COMPLAINED
    with pytest.raises(SuppressedAddressError):
        ensure_not_suppressed(["listed@example.com"])


SNS_CONFIRM_OK = (
    '<ConfirmSubscriptionResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><ConfirmSubscriptionResult>'
    "<SubscriptionArn>arn:aws:sns:us-east-1:123456789012:ses-events:1b2c</SubscriptionArn>"
    "</ConfirmSubscriptionResult><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata>"
    "</ConfirmSubscriptionResponse>"
)


def test_a_subscription_confirmation_is_confirmed_with_its_token(httpserver, settings):
    # SNS's API at a local endpoint: it must receive ConfirmSubscription with the topic and token
    settings.AWS_ENDPOINT_URL = httpserver.url_for("/")
    httpserver.expect_request("/", method="POST").respond_with_data(SNS_CONFIRM_OK, content_type="text/xml")
    result = process([p.subscription_confirmation()])
    assert (result.ignored, result.quarantined) == (1, 0)
    form = httpserver.log[0][0].get_data(as_text=True)
    assert "Action=ConfirmSubscription" in form and "Token=2336412f" in form
    assert "TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A123456789012%3Ases-events" in form


@pytest.mark.parametrize(
    "url",
    [
        "https://sns.evil.example.com/?Action=ConfirmSubscription",
        "https://sns.us-east-1.amazonaws.com.evil.example/?x=1",
        "http://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription",
        "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription",  # not the topic's region
        "https://169.254.169.254/latest/meta-data/",
    ],
)
def test_a_subscribe_url_off_sns_is_never_fetched_and_is_quarantined(httpserver, settings, url):
    settings.AWS_ENDPOINT_URL = httpserver.url_for("/")
    body = json.loads(p.subscription_confirmation())
    result = process([json.dumps({**body, "SubscribeURL": url})])
    assert result.quarantined == 1 and httpserver.log == []
    assert "not fetched" in QuarantinedMessage.objects.get().reason
