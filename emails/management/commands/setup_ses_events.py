"""`manage.py setup_ses_events`: the whole SES event loop (configuration set → SNS topic → SQS
queue and DLQ, with the queue policy), idempotently; stores the queue URL in the settings."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from emails import sqs
from emails.config import email_settings_get, email_settings_update
from emails.events_setup import ses_events_setup


class Command(BaseCommand):
    help = (
        "Create (or bring up to date) the SES configuration set, its SNS event destination, the "
        "SNS topic, the SQS queue with its DLQ and the policy letting the topic send to it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", default=settings.SES_EVENTS_QUEUE_NAME)
        parser.add_argument("--dlq-name", default=settings.SES_EVENTS_DLQ_NAME)
        parser.add_argument("--max-receives", type=int, default=settings.SES_EVENTS_MAX_RECEIVES)
        parser.add_argument("--topic", default=settings.SES_EVENTS_TOPIC_NAME)
        parser.add_argument("--configuration-set", default=settings.SES_CONFIGURATION_SET or "ses-events")
        parser.add_argument("--region", default="")

    def handle(self, *args: Any, **opts: Any) -> None:
        region = opts["region"] or email_settings_get().aws_region or settings.AWS_REGION
        if opts["max_receives"] < 1:
            raise CommandError("--max-receives must be at least 1")
        try:
            made = ses_events_setup(
                queue_name=opts["name"],
                dlq_name=opts["dlq_name"] or f"{opts['name']}-dlq",
                max_receives=opts["max_receives"],
                visibility_timeout=settings.SES_EVENTS_VISIBILITY_TIMEOUT,
                topic_name=opts["topic"],
                configuration_set=opts["configuration_set"],
                region=region,
            )
        except sqs.SqsError as exc:
            raise CommandError(str(exc)) from exc
        email_settings_update(queue_url=made["queue_url"], aws_region=region)
        for key in ("configuration_set", "topic_arn", "subscription_arn", "dlq_url"):
            self.stdout.write(f"{key}: {made[key]}")
        if made["configuration_set"] != settings.SES_CONFIGURATION_SET:
            self.stdout.write(f"set SES_CONFIGURATION_SET={made['configuration_set']} so sends name it")
        self.stdout.write(made["queue_url"])
