"""Print the invoice queues' health; exit 1 when a queue is unreachable."""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand

from invoices.health import invoice_queues_health
from invoices.queues import QUEUES


class Command(BaseCommand):
    help = "Invoice queues: reachable, available, in flight, oldest message age, warnings."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **options) -> None:
        report = invoice_queues_health()
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2))
        else:
            self.stdout.write(f"provider: {report['provider']}")
            for queue in QUEUES:
                info = report[queue]
                if not info.get("reachable"):
                    self.stdout.write(f"{queue:9} UNREACHABLE {info.get('error', '')}")
                    continue
                self.stdout.write(
                    f"{queue:9} available={info['available']} in_flight={info['in_flight']} "
                    f"oldest_age_s={info['oldest_age_s']} "
                    f"dead_letters={info.get('dead_letters', '-')} "
                    f"sent_last_hour={info['sent_last_hour']}"
                )
            for warning in report["warnings"]:
                self.stdout.write(f"WARNING: {warning}")
        if not report["ok"]:
            sys.exit(1)
