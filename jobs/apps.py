from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Jobs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Signal handlers: telemetry, runtime threads in workers, schedules after migrate.
        import jobs.wiring  # noqa: F401  (operator console: checks, hooks, metrics, queues)
        from jobs import signals  # noqa: F401
