from django.core.management.base import BaseCommand

from jobs.plugins.cron import ensure_schedules


class Command(BaseCommand):
    help = "Create missing beat schedules by name; existing rows (an operator's edits) are kept."

    def handle(self, *args, **options) -> None:
        for name, created in ensure_schedules():
            self.stdout.write(f"{'created' if created else 'kept   '} {name}")
