"""`manage.py enqueue_job TYPE --payload JSON`: the same checks as enqueue_job() in code."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from queue_handlers.base import InvalidPayload, UnknownJobType
from queue_handlers.services import enqueue_job


class Command(BaseCommand):
    help = "Validate and enqueue one handler job; prints its job id."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("job_type")
        parser.add_argument("--payload", required=True, help='JSON object, e.g. \'{"prompt": "hi"}\'')
        parser.add_argument("--countdown", type=float, default=None, help="seconds to wait")
        parser.add_argument("--priority", type=int, default=None, choices=range(10))

    def handle(
        self,
        *args: Any,
        job_type: str,
        payload: str,
        countdown: float | None,
        priority: int | None,
        **options: Any,
    ) -> None:
        try:
            data = json.loads(payload)
        except json.JSONDecodeError as exc:
            raise CommandError(f"--payload is not JSON: {exc}") from None
        try:
            res = enqueue_job(job_type, data, countdown=countdown, priority=priority)
        except (UnknownJobType, InvalidPayload, ValueError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{res.job_id} {res.state}")
