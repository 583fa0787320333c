from django.conf import settings

from jobs import Schedule

SCHEDULES = [
    Schedule(
        name="invoices.poll_queues",
        task="invoices.tasks.invoice_queues_poll_task",
        every=5,
        queue="sqs_polling",
        description="Take invoice e-mails off the priority, then the regular SQS queue",
    ),
    Schedule(
        name="invoices.relay_attempts",
        task="invoices.tasks.invoice_attempts_relay_task",
        every=settings.INVOICES_RELAY_EVERY,
        queue="default",
        description="Publish invoice e-mail attempts committed but never handed to their queue",
    ),
]
