import logging

from django.apps import AppConfig


class PiiConfig(AppConfig):
    name = "pii"
    verbose_name = "PII detection"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from jobs import register_check
        from pii.detector import get_detector
        from pii.health import pii_health

        get_detector()  # a wrong PII_DETECTOR fails at start, naming itself
        # slack_sdk logs request bodies (message text: PII) at DEBUG; never let them through.
        logging.getLogger("slack_sdk").setLevel(max(logging.INFO, logging.getLogger("slack_sdk").level))
        register_check("pii", pii_health)
