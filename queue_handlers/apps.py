from django.apps import AppConfig


class QueueHandlersConfig(AppConfig):
    name = "queue_handlers"
    verbose_name = "Queue handlers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from jobs import register_check, register_link
        from queue_handlers.monitoring import health_check
        from queue_handlers.registry import register_builtin_handlers

        # Every process registers the same handlers at start-up (their @register_handler).
        register_builtin_handlers()

        # /healthz and `manage.py health` gain a "handlers" section.
        register_check("handlers", health_check)
        register_link("handler_job_id", "queue_handlers.HandlerJob")
