from jobs import Schedule

SCHEDULES = [
    Schedule(
        name="pii: forget old Slack event ids",
        task="pii.tasks.slack_events_prune_task",
        crontab="15 3 * * *",
        timezone="UTC",
        description="Delete SlackEvent dedupe rows older than PII_EVENTS_KEEP_DAYS",
    ),
]
