from django.core.management.base import BaseCommand

from jobs.plugins.pruner import jobs_prune


class Command(BaseCommand):
    help = "Delete finished job records and task results past their age, now."

    def handle(self, *args, **options) -> None:
        self.stdout.write(f"deleted {jobs_prune()} rows")
