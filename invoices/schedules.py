from jobs import Schedule

SCHEDULES = [
    Schedule(
        name="invoices.poll_queues",
        task="invoices.tasks.invoice_queues_poll_task",
        every=5,
        queue="sqs_polling",
        description="Take invoice e-mails off the priority, then the regular SQS queue",
    ),
]
