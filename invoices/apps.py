from django.apps import AppConfig


class InvoicesConfig(AppConfig):
    name = "invoices"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from invoices.health import invoice_queues_health
        from jobs import register_check, register_link

        register_check("invoice_queues", invoice_queues_health)
        register_link("attempt_id", "invoices.EmailAttempt")

        from emails.log import ses_events_recorded
        from invoices.delivery import attempts_mark_from_events

        ses_events_recorded.connect(attempts_mark_from_events, dispatch_uid="invoices.delivery")
