"""SNS's SubscriptionConfirmation, checked before anything is fetched: a pure function used by
emails.parsing; the confirming itself is emails.sns."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


class InvalidConfirmation(ValueError):
    """Not a confirmation we may act on; the text is the quarantine reason."""


@dataclass(frozen=True)
class Confirm:
    """An SNS SubscriptionConfirmation: to be confirmed (SubscribeURL checked to be SNS's)."""

    reason: str
    topic_arn: str = ""
    token: str = ""
    subscribe_url: str = ""


# SNS's own hosts only: sns.<region>.amazonaws.com (and the China partition's .com.cn).
_SNS_HOST = re.compile(r"^sns\.[a-z]{2}(-[a-z]+)+-\d+\.amazonaws\.com(\.cn)?$")


def confirmation_parse(doc: dict[str, Any]) -> Confirm:
    url, topic, token = doc.get("SubscribeURL"), doc.get("TopicArn"), doc.get("Token")
    if not (
        isinstance(url, str) and url and isinstance(topic, str) and topic and isinstance(token, str) and token
    ):
        raise InvalidConfirmation("SubscriptionConfirmation without SubscribeURL, TopicArn or Token")
    parts = urlsplit(url)
    if parts.scheme != "https" or not _SNS_HOST.match(parts.hostname or "") or parts.port not in (None, 443):
        raise InvalidConfirmation(
            "SubscribeURL is not an https://sns.<region>.amazonaws.com URL: not fetched"
        )
    region = topic.split(":")[3] if topic.count(":") >= 5 else ""
    if not (parts.hostname or "").startswith(f"sns.{region}."):
        raise InvalidConfirmation("SubscribeURL's region is not the topic's: not fetched")
    return Confirm("SNS SubscriptionConfirmation", topic_arn=topic, token=token, subscribe_url=url)
