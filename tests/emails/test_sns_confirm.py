"""Confirming an SNS subscription against AWS itself (no AWS_ENDPOINT_URL): the SubscribeURL is
fetched with one GET, as SNS documents, and nothing else is. `responses` stands in for SNS at
the HTTP boundary and refuses every other request, so nothing leaves the machine."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from emails.models import QuarantinedMessage
from emails.processor import ses_messages_process
from tests.emails import payloads as p
from tests.emails.conftest import msgs

pytestmark = pytest.mark.django_db

URL = (
    "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription"
    f"&TopicArn={p.TOPIC}&Token=2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92"
)
CONFIRMED = (
    '<ConfirmSubscriptionResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">'
    f"<ConfirmSubscriptionResult><SubscriptionArn>{p.TOPIC}:1b2c</SubscriptionArn>"
    "</ConfirmSubscriptionResult><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata>"
    "</ConfirmSubscriptionResponse>"
)
# SNS's ErrorResponse for a token past its three days.
EXPIRED = (
    '<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type>'
    "<Code>InvalidParameter</Code><Message>Invalid token</Message></Error>"
    "<RequestId>r2</RequestId></ErrorResponse>"
)


@pytest.fixture
def sns(settings) -> Iterator[responses.RequestsMock]:
    settings.AWS_ENDPOINT_URL = ""  # real AWS: the GET path
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def confirmation(url: str = URL) -> str:
    return json.dumps({**json.loads(p.subscription_confirmation()), "SubscribeURL": url})


def test_the_subscribe_url_is_fetched_once_and_the_subscription_confirmed(sns):
    sns.get(URL, body=CONFIRMED, content_type="text/xml")
    result = ses_messages_process(messages=msgs([confirmation(), p.sns(p.ses_event("Delivery", "d-1"))]))
    assert (result.ignored, result.quarantined, result.recorded) == (1, 0, 1)
    assert [c.request.method for c in sns.calls] == ["GET"]
    query = parse_qs(urlsplit(sns.calls[0].request.url).query)
    assert query["Action"] == ["ConfirmSubscription"] and query["TopicArn"] == [p.TOPIC]


def test_an_expired_token_is_quarantined_with_snss_reason_and_the_batch_goes_on(sns):
    sns.get(URL, body=EXPIRED, status=400, content_type="text/xml")
    result = ses_messages_process(messages=msgs([confirmation(), p.sns(p.ses_event("Bounce", "b-1"))]))
    assert (result.quarantined, result.recorded) == (1, 1)
    reason = QuarantinedMessage.objects.get().reason
    assert "answered 400 InvalidParameter" in reason


def test_a_redirect_is_not_followed(sns):
    sns.get(URL, status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    result = ses_messages_process(messages=msgs([confirmation()]))
    assert result.quarantined == 1 and len(sns.calls) == 1  # the metadata address never asked
    assert "answered 302" in QuarantinedMessage.objects.get().reason


def test_sns_unreachable_quarantines_without_raising(sns):
    sns.get(URL, body=requests.ConnectionError("connection reset"))
    result = ses_messages_process(messages=msgs([confirmation()]))
    assert result.quarantined == 1
    assert "unreachable: ConnectionError" in QuarantinedMessage.objects.get().reason
