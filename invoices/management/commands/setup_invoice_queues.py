"""Create the priority and regular queues and their dead-letter queues (safe to run again)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from invoices.exceptions import QueueError
from invoices.queues import queues_setup


class Command(BaseCommand):
    help = "Create the invoice SQS queues (and DLQs with a redrive policy), idempotently."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--visibility-timeout",
            type=int,
            default=None,
            help="seconds (default SQS_VISIBILITY_TIMEOUT, 300)",
        )
        parser.add_argument(
            "--max-receive-count",
            type=int,
            default=None,
            help="deliveries before the DLQ (default SQS_MAX_RECEIVE_COUNT, 5)",
        )

    def handle(self, *args, **options) -> None:
        try:
            made = queues_setup(
                visibility_timeout=options["visibility_timeout"],
                max_receive_count=options["max_receive_count"],
            )
        except QueueError as exc:
            raise CommandError(str(exc)) from exc
        for queue, info in made.items():
            self.stdout.write(f"SQS_{queue.upper()}_QUEUE_URL={info['url']}")
            self.stdout.write(f"  dead-letter queue: {info['dlq_url']}")
