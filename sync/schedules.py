"""Beat entries, created by name on migrate / `setup_schedules` and never overwritten after."""

from django.conf import settings

from jobs import Schedule

SCHEDULES = [
    Schedule(
        name="sync.nightly",
        task="sync.tasks.sync_all_task",
        crontab="0 0 * * *",
        timezone=settings.SYNC_TIMEZONE,
        kwargs={"trigger": "scheduled"},
        queue="sync",
        description="Fetch every participant's new Strava activities (docs/sync.md)",
    ),
    Schedule(
        name="sync.catch_up",
        task="sync.tasks.sync_catch_up_task",
        every=settings.SYNC_CATCH_UP_EVERY,
        queue="sync",
        description="Start the day's sync if its midnight passed while the service was down",
    ),
]
