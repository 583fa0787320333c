"""Run by tests/emails/test_sqlite.py in a subprocess with DATABASE_URL=sqlite:///…: the
processor's SQLite branch (the one `make run` uses), on a real SQLite database. Prints JSON."""

from __future__ import annotations

import json
import os
import sys

os.environ["DJANGO_SETTINGS_MODULE"] = "project.settings"
import django

django.setup()
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

call_command("migrate", verbosity=0, interactive=False)
from emails.models import EmailLog, Suppression  # noqa: E402
from emails.processor import ses_messages_process  # noqa: E402
from emails.sqs import SqsMessage  # noqa: E402

bodies = json.loads(sys.stdin.read())
counts = []
for start in range(0, len(bodies), 25):  # batches, as polls deliver them
    batch = [SqsMessage(f"q{start + i}", "rh", b) for i, b in enumerate(bodies[start : start + 25])]
    counts.append(ses_messages_process(messages=batch).counts())
rows = sorted(
    EmailLog.objects.values_list("ses_message_id", "status", "open_count", "click_count", "destination")
)
print(
    json.dumps(
        {
            "vendor": connection.vendor,
            "counts": counts,
            "logs": [list(r) for r in rows],
            "suppressed": sorted(Suppression.objects.values_list("address", flat=True)),
        }
    )
)
