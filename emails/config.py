"""The e-mail settings record and the beat row that follows it. The seed's troubleshooting
helpers (`enabled()`, `get_sqs_config()` …) live apart, in emails/compat.py.

Every change goes through `email_settings_save`: it validates, saves and updates the
django-celery-beat row in one transaction, so beat sees the change (its PeriodicTasks marker
moves) without a restart, and a rejected change leaves both untouched.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from emails.models import EmailSettings
from project import aws

POLL_TASK = "emails.tasks.sqs_poll_task"
PERIODIC_TASK_NAME = "emails.sqs_poll"
EDITABLE = {
    "system_enabled",
    "ses_events_enabled",
    "sqs_polling_enabled",
    "polling_interval_ms",
    "max_messages_per_poll",
    "wait_time_seconds",
    "poll_budget_seconds",
    "queue_url",
    "aws_region",
}


class EmailSettingsError(ValueError):
    """A settings change was refused; nothing was changed. `errors` maps field → messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        text = "; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items())
        super().__init__(f"invalid e-mail settings: {text}")


def email_settings_get() -> EmailSettings:
    """The record, made from the environment's defaults the first time it is needed."""
    obj = EmailSettings.objects.filter(pk=1).first()
    if obj is None:
        obj, _ = EmailSettings.objects.get_or_create(
            pk=1, defaults={"queue_url": settings.SES_EVENTS_QUEUE_URL, "aws_region": settings.AWS_REGION}
        )
    return obj


def email_settings_save(*, obj: EmailSettings) -> EmailSettings:
    """Validate, save and mirror onto the beat row, all or nothing."""
    try:
        obj.full_clean()
    except ValidationError as exc:
        raise EmailSettingsError(exc.message_dict) from None
    with transaction.atomic():
        obj.save()
        poll_schedule_sync(obj=obj)
    return obj


def email_settings_update(**changes: Any) -> EmailSettings:
    """Change some settings by name, e.g. `email_settings_update(polling_interval_ms=3000)`."""
    unknown = set(changes) - EDITABLE
    if unknown:
        raise EmailSettingsError({k: ["not a setting"] for k in sorted(unknown)})
    with transaction.atomic():
        obj = email_settings_get()
        obj = EmailSettings.objects.select_for_update().get(pk=obj.pk)
        for name, value in changes.items():
            setattr(obj, name, value)
        return email_settings_save(obj=obj)


def poll_schedule_sync(*, obj: EmailSettings) -> Any:
    """Make the beat row say what the record says: enabled only when all three switches are
    on, every `interval_seconds` (milliseconds rounded to the nearest second)."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    interval, _ = IntervalSchedule.objects.get_or_create(
        every=obj.interval_seconds, period=IntervalSchedule.SECONDS
    )
    task = PeriodicTask.objects.select_for_update().filter(name=PERIODIC_TASK_NAME).first()
    if task is None:
        task = PeriodicTask(
            name=PERIODIC_TASK_NAME,
            task=POLL_TASK,
            kwargs=json.dumps({}),
            description="Poll SQS for SES events (emails.polling)",
        )
    changed = (
        task.pk is None
        or task.enabled != obj.polling_active
        or task.interval_id != interval.pk
        or task.queue != "sqs_polling"
    )
    if changed:
        task.task, task.interval, task.crontab = POLL_TASK, interval, None
        task.enabled, task.queue = obj.polling_active, "sqs_polling"
        task.save()  # save(), not update(): beat notices through PeriodicTasks.changed
    return task


def poll_periodic_task() -> Any:
    from django_celery_beat.models import PeriodicTask

    return PeriodicTask.objects.filter(name=PERIODIC_TASK_NAME).select_related("interval").first()


def aws_configured() -> bool:
    """Credentials found by boto3's default chain (env, profile, instance role) and a region."""
    return bool(aws.credentials() is not None and email_settings_get().aws_region)
