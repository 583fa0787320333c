"""Amazon SNS for the SES event topic: confirming a subscription (client: project.aws).

With a local stand-in for AWS (AWS_ENDPOINT_URL, e.g. moto) the confirmation goes to its SNS API
(ConfirmSubscription with the message's Token), so no test or `make run` ever reaches the
internet; against AWS the SubscribeURL is fetched, as SNS documents, and only once parsing has
checked that its host is sns.<region>.amazonaws.com (emails.parsing.Confirm).
"""

from __future__ import annotations

import re

import requests
from django.conf import settings

from emails.sns_confirm import Confirm
from project import aws
from project.aws import BOTO_ERRORS

_ERROR_CODE = re.compile(r"<Code>([A-Za-z.]{1,64})</Code>")


class SnsError(Exception):
    """The confirmation did not go through (the message is quarantined for a person)."""


def subscription_confirm(*, confirm: Confirm) -> None:
    if settings.AWS_ENDPOINT_URL:
        region = confirm.topic_arn.split(":")[3]
        try:
            aws.client("sns", region_name=region).confirm_subscription(
                TopicArn=confirm.topic_arn, Token=confirm.token
            )
        except BOTO_ERRORS as exc:
            raise SnsError(str(aws.wrap("SNS", "confirm_subscription", exc))) from exc
        return
    try:
        resp = requests.get(confirm.subscribe_url, timeout=10, allow_redirects=False)
    except requests.RequestException as exc:
        raise SnsError(f"SNS SubscribeURL unreachable: {type(exc).__name__}") from exc
    if resp.status_code != 200:
        # SNS says why in an ErrorResponse (e.g. 400 InvalidParameter for an expired token).
        code = _ERROR_CODE.search(resp.text[:4096])
        raise SnsError(f"SNS SubscribeURL answered {resp.status_code}" + (f" {code[1]}" if code else ""))
