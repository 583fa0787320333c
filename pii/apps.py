from django.apps import AppConfig


class PiiConfig(AppConfig):
    name = "pii"
    default_auto_field = "django.db.models.BigAutoField"
