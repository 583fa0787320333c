"""Seed 000's troubleshooting helpers, fenced here: nothing in the service calls them; they exist
so the seed's checklist ("Email system enabled? SES events enabled? …") works as written:

    from emails import compat
    compat.enabled(); compat.ses_events_enabled(); compat.sqs_polling_enabled()
    compat.get_sqs_queue_url(); compat.aws_configured(); compat.get_sqs_config()

The seed's deprecated SQSWorker API (status/pause/resume/process_now) is gone: use
emails.polling (status, disable_polling, enable_polling, poll_now).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from emails.config import aws_configured, email_settings_get
from project import aws

__all__ = [
    "aws_configured",
    "enabled",
    "get_sqs_config",
    "get_sqs_queue_url",
    "ses_events_enabled",
    "sqs_polling_enabled",
]


def enabled() -> bool:
    return email_settings_get().system_enabled


def ses_events_enabled() -> bool:
    return email_settings_get().ses_events_enabled


def sqs_polling_enabled() -> bool:
    return email_settings_get().sqs_polling_enabled


def get_sqs_queue_url() -> str:
    return email_settings_get().queue_url


def get_sqs_config() -> dict[str, Any]:
    """What the poller will use, with the key id masked and the secret never shown."""
    s = email_settings_get()
    creds = aws.credentials()
    key_id = getattr(creds, "access_key", None) or ""
    return {
        "queue_url": s.queue_url,
        "aws_region": s.aws_region,
        "endpoint_url": settings.AWS_ENDPOINT_URL,
        "aws_access_key_id": (key_id[:4] + "*" * max(len(key_id) - 4, 0)) if key_id else None,
        "aws_secret_access_key": "********" if getattr(creds, "secret_key", None) else None,
        "credentials_source": getattr(creds, "method", None),
        "max_messages_per_poll": s.max_messages_per_poll,
        "wait_time_seconds": s.wait_time_seconds,
        "visibility_timeout": settings.SES_EVENTS_VISIBILITY_TIMEOUT,
    }
