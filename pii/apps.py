import logging

from django.apps import AppConfig


class PiiConfig(AppConfig):
    name = "pii"
    verbose_name = "PII detection"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from jobs import register_check
        from pii.detector import get_detector

        get_detector()  # a wrong PII_DETECTOR fails at start, naming itself
        # slack_sdk logs request bodies (message text: PII) at DEBUG; never let them through.
        logging.getLogger("slack_sdk").setLevel(max(logging.INFO, logging.getLogger("slack_sdk").level))
        register_check("pii", _health)


def _health() -> dict:
    from django.conf import settings

    from pii.detector import get_detector

    return {
        "ok": True,
        "detector": type(get_detector()).__name__,
        "signing_secret": bool(settings.SLACK_SIGNING_SECRET),
        "bot_token": bool(settings.SLACK_BOT_TOKEN),
    }
