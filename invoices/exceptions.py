"""Errors this app raises. Provider errors (boto, smtplib) are re-raised as one of these, so
callers decide on *transient or not*, never on a provider's exception classes."""

from __future__ import annotations


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


class PermanentSendError(SendError):
    """Trying again will not help: 5xx rejection, unverified sender, malformed address."""
