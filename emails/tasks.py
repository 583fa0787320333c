"""Celery tasks of the emails app (thin: each calls a service)."""

from __future__ import annotations

from typing import Any

from django.db import InterfaceError, OperationalError

from emails.sqs import SqsUnavailable
from jobs import job


@job(
    queue="sqs_polling",
    single_flight=True,
    unique_for=60,
    unique_until_done=True,
    max_attempts=3,
    backoff=(2, 60),
    retry_on=(SqsUnavailable, OperationalError, InterfaceError),
    poll=True,
)
def sqs_poll_task() -> dict[str, Any]:
    """Beat's and poll_now()'s poll. Unique for 60 s while waiting or running; the key is let
    go when the poll ends so the next tick at the configured interval is not a duplicate."""
    from emails.poller import sqs_poll

    return sqs_poll()
