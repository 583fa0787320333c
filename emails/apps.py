from django.apps import AppConfig


class EmailsConfig(AppConfig):
    name = "emails"
    verbose_name = "E-mails"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from jobs import register_check

        register_check("ses_polling", ses_polling_health)


def ses_polling_health() -> dict:
    """Failing only when polling is on and no poll has finished for three intervals + 60 s."""
    from django.utils import timezone

    from emails.config import email_settings_get
    from emails.models import PollState, QuarantinedMessage

    cfg = email_settings_get()
    state = PollState.objects.filter(pk=1).first()
    last = state.last_run_at if state else None
    report = {
        "active": cfg.polling_active,
        "quarantined": QuarantinedMessage.objects.filter(reviewed=False).count(),
        "last_run": last.isoformat() if last else None,
    }
    if not cfg.polling_active:
        return {"ok": True, **report}
    limit = 3 * cfg.interval_seconds + 60 + cfg.poll_budget_seconds
    age = (timezone.now() - last).total_seconds() if last else None
    return {"ok": age is not None and age <= limit, "age_s": age, "limit_s": limit, **report}
