"""Job type "email": one message through Django's mail API (SMTP, SES or console by settings)."""

from __future__ import annotations

import base64
import binascii
import smtplib
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.validators import validate_email
from pydantic import BaseModel, ConfigDict, Field, field_validator

from emails.suppression import SuppressedAddressError, ensure_not_suppressed
from queue_handlers.base import Job, JobHandler, PermanentJobError, TransientJobError
from queue_handlers.registry import register_handler


class SmtpUnavailable(TransientJobError):
    """The mail server could not be reached, dropped us, or answered 4xx (try later)."""


class Attachment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    filename: str = Field(min_length=1, max_length=255)
    content: str = Field(description="base64")
    mimetype: str = "application/octet-stream"

    @field_validator("content")
    @classmethod
    def _base64(cls, value: str) -> str:
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("must be base64") from None
        return value


def _addresses(value: Any) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(a, str) for a in items):
        raise ValueError("must be an address or a list of addresses")
    for i, address in enumerate(items):
        try:
            validate_email(address)
        except DjangoValidationError:
            raise ValueError(f"item {i} is not a valid e-mail address") from None
    return items


class EmailPayload(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: list[str] = Field(min_length=1, max_length=50)
    subject: str = Field(min_length=1, max_length=998)
    body: str = ""
    html_body: str | None = None
    attachments: list[Attachment] = Field(default_factory=list, max_length=10)
    cc: list[str] = Field(default_factory=list, max_length=50)
    bcc: list[str] = Field(default_factory=list, max_length=50)
    reply_to: list[str] = Field(default_factory=list, max_length=5)

    @field_validator("to", "cc", "bcc", "reply_to", mode="before")
    @classmethod
    def _valid_addresses(cls, value: Any) -> list[str]:
        return _addresses(value)

    @field_validator("subject")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if "\n" in value or "\r" in value:
            raise ValueError("must be one line")
        return value


@register_handler("email")
class EmailHandler(JobHandler):
    job_type = "email"
    required_fields = ("to", "subject")
    rate_limit = "100/60s"
    max_attempts = 3
    retry_on = (SmtpUnavailable,)
    payload_model = EmailPayload

    def validate_payload(self, payload: dict[str, Any]) -> EmailPayload:
        """Also refuse suppressed recipients at enqueue, so the caller hears it at once."""
        p = super().validate_payload(payload)
        ensure_not_suppressed([*p.to, *p.cc, *p.bcc])
        return p

    def handle_job(self, job: Job) -> dict[str, Any]:
        p: EmailPayload = job.payload
        # Checked again here: the address may have bounced since the job was queued. Refused,
        # not retried (the emails app's suppression list).
        ensure_not_suppressed([*p.to, *p.cc, *p.bcc])
        msg = EmailMultiAlternatives(
            subject=p.subject,
            body=p.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=p.to,
            cc=p.cc,
            bcc=p.bcc,
            reply_to=p.reply_to,
            headers={"X-Job-Id": job.id},
        )
        if p.html_body:
            msg.attach_alternative(p.html_body, "text/html")
        for a in p.attachments:
            msg.attach(a.filename, base64.b64decode(a.content), a.mimetype)
        try:
            # The delivery backend, not EMAIL_BACKEND: that one hands Django's own mail to the
            # invoice queue, and this job is already the queue.
            msg.connection = get_connection(settings.EMAIL_DELIVERY_BACKEND, fail_silently=False)
            sent = msg.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as exc:
            # Its text is {address: (code, reply)}: never let it reach the job's last_error or a
            # log. Retried while any recipient may yet accept (450/451/452); permanent when every
            # refusal is 5xx.
            codes = sorted({code for code, _ in exc.recipients.values()}) or [451]
            why = f"mail server refused {len(exc.recipients)} recipient(s) ({', '.join(map(str, codes))})"
            if codes[0] < 500:
                raise SmtpUnavailable(why) from None
            raise PermanentJobError(why) from None
        except smtplib.SMTPResponseException as exc:
            if 400 <= exc.smtp_code < 500:
                raise SmtpUnavailable(f"mail server answered {exc.smtp_code}") from None
            # The reply text may name an address ("550 5.1.1 <a@b.c>: unknown user"): code only.
            raise PermanentJobError(f"mail server refused the message ({exc.smtp_code})") from None
        except (
            TimeoutError,
            ConnectionError,
            smtplib.SMTPServerDisconnected,
            smtplib.SMTPConnectError,
        ) as exc:
            raise SmtpUnavailable(f"{type(exc).__name__} talking to the mail server") from None
        except Exception as exc:
            # The configured backend's own word (SES throttling: invoices' TransientSendError).
            if getattr(exc, "transient", False):
                raise SmtpUnavailable(f"mail provider unavailable ({type(exc).__name__})") from None
            raise
        return {"sent": sent, "recipients": len(p.to) + len(p.cc) + len(p.bcc)}

    def summarize(self, result: dict[str, Any]) -> dict[str, Any]:
        return dict(result)


__all__ = ["EmailHandler", "EmailPayload", "SmtpUnavailable", "SuppressedAddressError"]
