"""Errors this app raises, and the one map from a provider's error to ours.

Provider errors (smtplib, boto) are re-raised as TransientSendError or PermanentSendError by
`send_error_for`, so callers decide on *transient or not*, never on a provider's classes, and SMTP
and SES follow one rule: 4xx and throttling later, 5xx never; no address in the text.
"""

from __future__ import annotations

import re
import smtplib


class InvoiceError(Exception):
    """Base class."""


class InvalidPriorityError(InvoiceError, ValueError):
    def __init__(self, priority: object) -> None:
        super().__init__(
            f"priority must be an integer from 1 to 10 (1-3 priority queue, 4-10 regular), got {priority!r}"
        )


class QueueError(InvoiceError):
    """SQS (or the broker) refused or could not be reached."""

    def __init__(self, message: str, *, transient: bool = True) -> None:
        self.transient = transient
        super().__init__(message)


class MessageTooLargeError(QueueError):
    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"queue message of {size} bytes exceeds the {limit}-byte limit", transient=False)


class SendError(InvoiceError):
    """Sending the e-mail failed."""


class TransientSendError(SendError):
    """Worth trying again later: connection refused, timeout, 4xx, throttling."""

    transient = True  # read by any sender of mail (queue_handlers' e-mail handler) without importing us


class PermanentSendError(SendError):
    """Trying again will not help: 5xx rejection, unverified sender, malformed address."""


_ADDRESS = re.compile(r"[^\s<>\"',;:()\[\]]+@[^\s<>\"',;:()\[\]]+")


def redact_addresses(text: str) -> str:
    """Providers name addresses in their replies ("550 5.1.1 <a@b.c>: unknown user")."""
    return _ADDRESS.sub("<address>", text)


def _by_code(code: int, text: str) -> SendError:
    cls = PermanentSendError if code >= 500 else TransientSendError
    return cls(redact_addresses(text)[:300])


def send_error_for(exc: BaseException) -> SendError:
    """The one map. SMTP: 4xx (greylisting 450/451 included) and disconnects transient, 5xx
    permanent, bad credentials transient (a configuration fix, not the message, is needed: keep
    it). SES: project.aws's map (throttling and 5xx transient, other refusals permanent)."""
    from project import aws

    if isinstance(exc, SendError):
        return exc
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _ in exc.recipients.values()})
        # Retry while any recipient may yet accept; permanent only when all refused for good.
        code = min(codes) if codes else 451
        return _by_code(
            code, f"SMTP refused {len(exc.recipients)} recipient(s) ({', '.join(map(str, codes))})"
        )
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return TransientSendError(f"SMTP authentication failed ({exc.smtp_code})")
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return _by_code(exc.smtp_code, f"SMTP refused the sender ({exc.smtp_code})")
    if isinstance(exc, smtplib.SMTPResponseException):
        text = (
            exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        )
        return _by_code(exc.smtp_code, f"SMTP error {exc.smtp_code}: {text[:200]}")
    if isinstance(exc, smtplib.SMTPException | OSError):  # disconnected, refused, timed out
        return TransientSendError(f"SMTP unavailable: {type(exc).__name__}")
    if isinstance(exc, aws.BOTO_ERRORS):
        err = aws.wrap("SES", "send", exc)
        return (TransientSendError if err.transient else PermanentSendError)(str(err))
    if isinstance(exc, aws.AwsError):
        return (TransientSendError if exc.transient else PermanentSendError)(str(exc))
    return TransientSendError(f"unexpected {type(exc).__name__} while sending")
