"""`manage.py check_queue <name>`: which workers consume a queue, with how many slots (Oban's
`check_queue`); exit 1 when nobody consumes it."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from jobs.observe.consumers import check_queue


class Command(BaseCommand):
    help = "Which workers consume this queue and how many slots they have (exit 1: none)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("queue")
        parser.add_argument("--timeout", type=float, default=1.0, help="seconds to wait for workers")
        parser.add_argument("--json", action="store_true", help="print the answer as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            answer = check_queue(options["queue"], timeout=options["timeout"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if options["json"]:
            self.stdout.write(json.dumps(answer, indent=2))
        else:
            documented = answer["documented"]
            self.stdout.write(
                f"queue {answer['queue']}: {len(answer['workers'])} worker(s), {answer['slots']} slot(s)"
                + (f" (documented default {documented})" if documented else "")
                + (" — paused" if answer["paused"] else "")
            )
            for w in answer["workers"]:
                self.stdout.write(f"  {w['worker']}: {w['slots']} slot(s)")
        if not answer["workers"]:
            raise CommandError(f"no worker consumes queue {answer['queue']}")
