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
    """Not ok without a signing secret: every Slack request would then be refused (401)."""
    from django.conf import settings
    from django.db.models import Q

    from pii.detector import get_detector
    from pii.models import SlackInstallation

    installs = SlackInstallation.objects.filter(active=True)
    report = {
        "ok": bool(settings.SLACK_SIGNING_SECRET),
        "detector": type(get_detector()).__name__,
        "signing_secret": bool(settings.SLACK_SIGNING_SECRET),
        "bot_token": bool(settings.SLACK_BOT_TOKEN),
        "user_token": bool(settings.SLACK_USER_TOKEN),
        "installations": installs.count(),
        "installations_without_admin_token": installs.filter(
            Q(user_token_encrypted="") | Q(installer_is_admin=False)
        ).count(),
    }
    if not settings.SLACK_SIGNING_SECRET:
        report["error"] = "SLACK_SIGNING_SECRET is not set: every Slack request is refused"
    return report
