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
    if last is None:
        error = "SES polling is on but no poll has ever finished: is beat running and sqs_polling consumed?"
        return {"ok": False, "error": error, "age_s": None, "limit_s": limit, **report}
    age = (timezone.now() - last).total_seconds()
    if age > limit:
        error = f"the last SES poll finished {age:.0f} s ago (limit {limit} s): is beat running?"
        return {"ok": False, "error": error, "age_s": age, "limit_s": limit, **report}
    return {"ok": True, "age_s": age, "limit_s": limit, **report}
