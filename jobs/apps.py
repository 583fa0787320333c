from django.apps import AppConfig

from jobs.broker import transport


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Jobs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here: it touches models, which are ready only now.
        from jobs import lifecycle

        lifecycle.connect()
        transport.install()  # before a worker connects: Celery's Django fixup sets Django up first
