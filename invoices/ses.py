"""EMAIL_PROVIDER=ses: a Django e-mail backend over SES `send_raw_email` (client: project.aws).

Raw sending keeps what Django built (text + HTML + the PDF) byte for byte. Every send names
SES_CONFIGURATION_SET, so SES publishes Send/Delivery/Bounce/Complaint/Open/Click events for it to
the SNS topic `setup_ses_events` made; the SES MessageId is put on the message as
`provider_message_id`, and the e-mail log row is written under it, linked to the invoice attempt
(`message.email_origin`) or the job that sent it. Boto errors leave as
TransientSendError or PermanentSendError, by project.aws's one error map.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage

from emails.log import email_log_record_send
from invoices.exceptions import PermanentSendError, TransientSendError
from jobs import current_job
from project import aws
from project.aws import BOTO_ERRORS


def client() -> Any:
    return aws.client("ses")


def raw_email_send(*, source: str, destinations: list[str], raw: bytes) -> str:
    """Returns SES's MessageId."""
    params: dict[str, Any] = {"Source": source, "Destinations": destinations, "RawMessage": {"Data": raw}}
    if settings.SES_CONFIGURATION_SET:
        params["ConfigurationSetName"] = settings.SES_CONFIGURATION_SET
    try:
        resp = client().send_raw_email(**params)
    except BOTO_ERRORS as exc:
        err = aws.wrap("SES", "send_raw_email", exc)
        cls = TransientSendError if err.transient else PermanentSendError
        raise cls(str(err)) from exc
    return resp["MessageId"]


class SesEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        sent = 0
        for message in email_messages:
            recipients = message.recipients()
            if not recipients:
                continue
            source = message.from_email or settings.DEFAULT_FROM_EMAIL
            try:
                message_id = raw_email_send(
                    source=source, destinations=recipients, raw=message.message().as_bytes(linesep="\r\n")
                )
            except (TransientSendError, PermanentSendError):
                if not self.fail_silently:
                    raise
                continue
            # Our own attribute, not one Django declares: invoices.sending reads it back with getattr.
            setattr(message, "provider_message_id", message_id)  # noqa: B010
            origin, origin_id = _origin(message)
            email_log_record_send(
                ses_message_id=message_id,
                origin=origin,
                origin_id=origin_id,
                source=source,
                destination=recipients,
            )
            sent += 1
        return sent


def _origin(message: EmailMessage) -> tuple[str, str]:
    """Who sent it: the invoice sender says so on the message; any other mail sent from inside a
    job (queue_handlers' e-mails) is linked to that job."""
    given = getattr(message, "email_origin", None)
    if given:
        return given
    ctx = current_job()
    return ("job", ctx.job_id) if ctx is not None else ("", "")
