"""`manage.py sqs_polling {status,enable,disable,poll-now,set-interval MS}`."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.serializers.json import DjangoJSONEncoder

from emails import polling


class Command(BaseCommand):
    help = "Show, switch, re-time or trigger the SES event poll."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        st = sub.add_parser("status", help="show the polling status")
        st.add_argument("--json", action="store_true", help="print the status dict as JSON")
        sub.add_parser("enable", help="switch polling on (and queue a first poll)")
        sub.add_parser("disable", help="switch polling off")
        now = sub.add_parser("poll-now", help="queue a poll now")
        now.add_argument(
            "--sync", action="store_true", help="run one poll in this process and print its counts as JSON"
        )
        iv = sub.add_parser("set-interval", help="milliseconds between polls (>= 1000)")
        iv.add_argument("ms", type=int)

    def handle(self, *args: Any, **opts: Any) -> None:
        action = opts["action"]
        try:
            if action == "status":
                self._status(as_json=opts["json"])
            elif action == "enable":
                polling.enable_polling()
                self.stdout.write("polling enabled")
            elif action == "disable":
                polling.disable_polling()
                self.stdout.write("polling disabled")
            elif action == "set-interval":
                s = polling.set_polling_interval(opts["ms"])
                self.stdout.write(f"interval {s.polling_interval_ms} ms (beat: every {s.interval_seconds} s)")
            elif opts["sync"]:
                result = polling.poll_sync()
                self.stdout.write(json.dumps(result, sort_keys=False))
            else:
                res = polling.poll_now()
                note = " (already queued)" if res.duplicate else ""
                self.stdout.write(f"poll queued: {res.job_id}{note}")
        except polling.EmailSettingsError as exc:
            raise CommandError(str(exc)) from exc

    def _status(self, *, as_json: bool) -> None:
        s = polling.status()
        if as_json:
            self.stdout.write(json.dumps(s, cls=DjangoJSONEncoder, sort_keys=True))
            return
        for k, v in s.items():
            self.stdout.write(f"{k:24} {v}")
