from jobs import Schedule

SCHEDULES = [
    Schedule(
        name="queue_handlers.prune",
        task="queue_handlers.tasks.handler_jobs_prune_task",
        crontab="37 * * * *",
        description="Delete handler payloads and results past the job history's age",
    ),
]
