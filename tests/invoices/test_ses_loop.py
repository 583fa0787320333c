"""The SES loop closed, through moto's SES, SNS and SQS: the setup command makes the
configuration set → topic → queue chain (twice → the same resources); a send names the
configuration set and writes the e-mail log row; SES's Delivery and Bounce events, published to
the topic as SES publishes them, reach the queue, the poller, the log and the attempt."""

from __future__ import annotations

import io
import json
import uuid

import pytest
from django.core.management import call_command

from emails import polling
from emails.models import EmailLog, EmailStatus
from emails.suppression import suppressed
from invoices.models import AttemptStatus, EmailKind
from invoices.queues import send_email_via_queue
from invoices.sending import email_attempt_send
from project import aws
from tests.emails import payloads as p

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def loop(aws, settings) -> dict[str, str]:
    tag = uuid.uuid4().hex[:8]
    args = ["--name", f"ses-{tag}", "--topic", f"topic-{tag}", "--configuration-set", f"cs-{tag}"]
    outs = []
    for _ in range(2):
        out = io.StringIO()
        call_command("setup_ses_events", *args, stdout=out)
        outs.append(dict(line.split(": ", 1) for line in out.getvalue().splitlines() if ": " in line))
    assert outs[0] == outs[1]  # twice → the same resources
    settings.SES_CONFIGURATION_SET = f"cs-{tag}"
    return {**outs[0], "queue_url": polling.status()["queue_url"]}


def test_setup_makes_the_whole_chain_once(loop):
    sns, ses, sqs = aws.client("sns"), aws.client("ses"), aws.client("sqs")
    subs = sns.list_subscriptions_by_topic(TopicArn=loop["topic_arn"])["Subscriptions"]
    assert (
        len(subs) == 1
        and subs[0]["Protocol"] == "sqs"
        and subs[0]["Endpoint"].endswith(":" + loop["queue_url"].rsplit("/", 1)[1])
    )
    policy = json.loads(
        sqs.get_queue_attributes(QueueUrl=loop["queue_url"], AttributeNames=["Policy"])["Attributes"][
            "Policy"
        ]
    )
    statement = policy["Statement"][0]
    assert statement["Principal"] == {"Service": "sns.amazonaws.com"}
    assert statement["Condition"]["ArnEquals"]["aws:SourceArn"] == loop["topic_arn"]
    dests = ses.describe_configuration_set(
        ConfigurationSetName=loop["configuration_set"], ConfigurationSetAttributeNames=["eventDestinations"]
    )["EventDestinations"]
    assert len(dests) == 1 and dests[0]["SNSDestination"]["TopicARN"] == loop["topic_arn"]
    assert {"delivery", "bounce", "complaint"} <= set(dests[0]["MatchingEventTypes"])


def _publish(topic_arn: str, doc: dict) -> None:
    """What SES does with an event for a configuration set with an SNS destination."""
    aws.client("sns").publish(TopicArn=topic_arn, Message=json.dumps(doc))


def test_send_log_row_then_delivery_and_bounce_update_it_and_the_attempt(loop, queues, settings):
    settings.EMAIL_DELIVERY_BACKEND = "invoices.ses.SesEmailBackend"
    aws.client("ses").verify_email_identity(EmailAddress=settings.DEFAULT_FROM_EMAIL)
    polling.enable_polling(first_poll=False)
    # given two e-mails sent through SES
    a = send_email_via_queue(
        to="ok@example.org", priority=5, kind=EmailKind.NOTIFICATION, subject="s", text="t"
    )
    b = send_email_via_queue(
        to="gone@example.org", priority=5, kind=EmailKind.NOTIFICATION, subject="s", text="t"
    )
    assert email_attempt_send(attempt_id=a.pk) == email_attempt_send(attempt_id=b.pk) == "sent"
    a.refresh_from_db(), b.refresh_from_db()
    assert a.backend == "ses" and a.status == AttemptStatus.SENT
    # then each has its log row at once, keyed by SES's MessageId and linked to its attempt
    log = EmailLog.objects.get(ses_message_id=a.provider_message_id)
    assert (log.origin, log.origin_id, log.status) == ("invoice_attempt", str(a.pk), EmailStatus.SENT)
    assert EmailLog.objects.get(ses_message_id=b.provider_message_id).origin_id == str(b.pk)

    # when SES publishes a Delivery for one and a permanent Bounce for the other
    _publish(loop["topic_arn"], p.ses_event("Delivery", a.provider_message_id, to=["ok@example.org"]))
    _publish(loop["topic_arn"], p.ses_event("Bounce", b.provider_message_id, to=["gone@example.org"]))
    counts = polling.poll_sync()
    # then the log rows and the attempts say so, and the bounced address is suppressed
    assert counts["recorded"] == 2
    assert EmailLog.objects.get(ses_message_id=a.provider_message_id).status == EmailStatus.DELIVERED
    assert EmailLog.objects.get(ses_message_id=b.provider_message_id).status == EmailStatus.BOUNCED
    a.refresh_from_db(), b.refresh_from_db()
    assert a.delivery_status == "delivered" and b.delivery_status == "bounced"
    assert suppressed(["gone@example.org", "ok@example.org"]) == ["gone@example.org"]
    # and a late Delivery never lowers the bounce
    _publish(loop["topic_arn"], p.ses_event("Delivery", b.provider_message_id, to=["gone@example.org"]))
    polling.poll_sync()
    b.refresh_from_db()
    assert b.delivery_status == "bounced"
