"""`manage.py setup_ses_queue`: create the SES event queue and its dead-letter queue."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from emails import sqs
from emails.config import email_settings_get, email_settings_update


class Command(BaseCommand):
    help = (
        "Create the SQS queue for SES events and its dead-letter queue (redrive after "
        "N receives), idempotently; store the URL in the settings and print it last."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", default=settings.SES_EVENTS_QUEUE_NAME)
        parser.add_argument("--dlq-name", default=settings.SES_EVENTS_DLQ_NAME)
        parser.add_argument("--max-receives", type=int, default=settings.SES_EVENTS_MAX_RECEIVES)
        parser.add_argument("--region", default="")

    def handle(self, *args: Any, **opts: Any) -> None:
        region = opts["region"] or email_settings_get().aws_region or settings.AWS_REGION
        name = opts["name"]
        dlq = opts["dlq_name"] or f"{name}-dlq"
        if opts["max_receives"] < 1:
            raise CommandError("--max-receives must be at least 1")
        try:
            url, dlq_url = sqs.queue_ensure(
                name=name,
                region=region,
                dlq_name=dlq,
                max_receives=opts["max_receives"],
                visibility_timeout=settings.SES_EVENTS_VISIBILITY_TIMEOUT,
            )
        except sqs.SqsError as exc:
            raise CommandError(str(exc)) from exc
        email_settings_update(queue_url=url, aws_region=region)
        where = settings.AWS_ENDPOINT_URL or "AWS"
        self.stdout.write(f"dead-letter queue: {dlq_url}")
        self.stdout.write(f"queue ready at {where}, redrive after {opts['max_receives']} receives")
        self.stdout.write(url)
