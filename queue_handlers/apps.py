from django.apps import AppConfig


class QueueHandlersConfig(AppConfig):
    name = "queue_handlers"
    verbose_name = "Queue handlers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from jobs.health import register_check
        from queue_handlers.monitoring import health_check

        # /healthz and `manage.py health` gain a "handlers" section.
        register_check("handlers", health_check)
