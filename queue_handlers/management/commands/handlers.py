"""`manage.py handlers list` / `manage.py handlers validate` (exit 1 on any problem)."""

from __future__ import annotations

import json as jsonlib
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from queue_handlers.registry import list_handlers, validate_all_handlers


class Command(BaseCommand):
    help = "List the job handlers, or check that every one is importable and well formed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["list", "validate"])
        parser.add_argument("--json", action="store_true", help="machine-readable output")

    def handle(self, *args: Any, action: str, json: bool = False, **options: Any) -> None:
        if action == "list":
            rows = list_handlers()
            if json:
                self.stdout.write(_dumps(rows))
                return
            for r in rows:
                if r.get("error"):
                    self.stdout.write(f"{r['job_type']:<22} BROKEN  {r['error']}")
                    continue
                self.stdout.write(
                    f"{r['job_type']:<22} {r['handler']}  [{r['source']}] queue={r['queue']} "
                    f"rate={r['rate_limit'] or 'none'} attempts={r['max_attempts']} "
                    f"required={','.join(r['required_fields']) or '-'}"
                )
            return
        problems = validate_all_handlers()
        if problems:
            for p in problems:
                self.stderr.write(p)
            raise CommandError(f"{len(problems)} handler problem(s)")
        self.stdout.write(self.style.SUCCESS(f"{len(list_handlers())} handler(s) valid"))


def _dumps(value: Any) -> str:
    return jsonlib.dumps(value, indent=2)
