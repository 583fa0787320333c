from django.apps import AppConfig


class QueueHandlersConfig(AppConfig):
    name = "queue_handlers"
    default_auto_field = "django.db.models.BigAutoField"
