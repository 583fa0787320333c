"""The poll's beat row. Created disabled on migrate; after that emails.config keeps it in step
with the settings record (enabled, interval), in the same transaction as each change."""

from jobs import Schedule

SCHEDULES = [
    Schedule(
        name="emails.sqs_poll",
        task="emails.tasks.sqs_poll_task",
        every=5,
        enabled=False,
        queue="sqs_polling",
        description="Poll SQS for SES events (emails.polling)",
    ),
]
