"""EMAIL_PROVIDER=ses: a Django e-mail backend over boto3 SES `send_raw_email`.

Raw sending keeps what Django built (text + HTML + the PDF) byte for byte. The client is made
lazily (AWS_ENDPOINT_URL / AWS_REGION apply, so a moto server works), and boto errors leave as
TransientSendError or PermanentSendError. The SES MessageId is put on the message as
`provider_message_id` for the attempt row.
"""

from __future__ import annotations

import functools
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage

from invoices.exceptions import PermanentSendError, TransientSendError

TRANSIENT_CODES = {
    "Throttling",
    "ThrottlingException",
    "ServiceUnavailable",
    "InternalFailure",
    "RequestTimeout",
    "TooManyRequestsException",
}


@functools.cache
def _client(endpoint_url: str | None, region: str) -> Any:
    return boto3.client(
        "ses",
        endpoint_url=endpoint_url,
        region_name=region,
        config=Config(connect_timeout=5, read_timeout=20, retries={"max_attempts": 2}),
    )


def client() -> Any:
    return _client(settings.AWS_ENDPOINT_URL, settings.AWS_REGION)


def raw_email_send(*, source: str, destinations: list[str], raw: bytes) -> str:
    """Returns SES's MessageId."""
    try:
        resp = client().send_raw_email(Source=source, Destinations=destinations, RawMessage={"Data": raw})
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        text = exc.response.get("Error", {}).get("Message", "")[:200]
        cls = TransientSendError if code in TRANSIENT_CODES else PermanentSendError
        raise cls(f"SES {code}: {text}") from exc
    except BotoCoreError as exc:  # endpoint unreachable, timeouts
        raise TransientSendError(f"SES unavailable: {type(exc).__name__}") from exc
    return resp["MessageId"]


class SesEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages: list[EmailMessage]) -> int:
        sent = 0
        for message in email_messages:
            recipients = message.recipients()
            if not recipients:
                continue
            try:
                message.provider_message_id = raw_email_send(
                    source=message.from_email or settings.DEFAULT_FROM_EMAIL,
                    destinations=recipients,
                    raw=message.message().as_bytes(linesep="\r\n"),
                )
            except (TransientSendError, PermanentSendError):
                if not self.fail_silently:
                    raise
                continue
            sent += 1
        return sent
