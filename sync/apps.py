from django.apps import AppConfig


class SyncConfig(AppConfig):
    name = "sync"
    verbose_name = "Activity sync"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from jobs import register_check, register_link
        from sync.health import check_sync

        register_check("sync", check_sync)
        register_link("run_id", "sync.SyncRun")
        register_link("participant_id", "sync.Participant")
