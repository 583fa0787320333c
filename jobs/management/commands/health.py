import json

from django.core.management.base import BaseCommand, CommandError

from jobs.observe.health import run_checks


class Command(BaseCommand):
    help = "Print the readiness report (GET /healthz/ready, uncached); exit 1 naming what fails."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--only", nargs="*", help="run only these checks")

    def handle(self, *args, **options) -> None:
        ok, report = run_checks(options.get("only"))
        self.stdout.write(json.dumps(report, indent=2, default=str))
        if not ok:
            raise CommandError(f"failing: {', '.join(report['failing'])}")
