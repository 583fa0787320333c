"""Local AWS for `make run`: a moto server on loopback with this project's queues created.

moto keeps nothing across a restart (of `make run`, or of this process after a crash): the invoice
e-mails that waited in its SQS queues are gone while their attempts still say `queued`. So each
start, once the queues exist again, publishes every invoice attempt still waiting on SQS (queued
or retrying) once more, and records how many in var/local_aws.json, which the readiness report
shows (section `local_aws`). A message that was not lost after all is harmless: the worker claims
an attempt with a conditional update, so a second message finds it sent and is only deleted.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def attempts_requeue() -> list[int]:
    """Publish again every SQS invoice attempt still waiting (its message went with moto)."""
    from invoices.models import AttemptStatus, EmailAttempt
    from invoices.queues import attempts_publish

    waiting = list(
        EmailAttempt.objects.filter(
            provider="sqs", status__in=(AttemptStatus.QUEUED, AttemptStatus.RETRYING)
        ).order_by("pk")
    )
    attempts_publish(attempts=waiting)
    return [a.pk for a in waiting if a.status != AttemptStatus.FAILED]


def main() -> None:
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    if not endpoint.startswith("http://127.0.0.1"):
        print("aws: AWS_ENDPOINT_URL is not a local moto endpoint; nothing to run")
        while True:
            time.sleep(3600)
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=urlparse(endpoint).port or 5055, verbose=False)
    server.start()
    print(f"aws: moto listening at {endpoint} (it starts empty)", flush=True)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    import django
    from django.conf import settings
    from django.core.management import call_command, get_commands

    django.setup()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's request lines, one per call
    for command in ("setup_ses_events", "setup_invoice_queues"):
        if command in get_commands():
            call_command(command)
    requeued = attempts_requeue() if settings.QUEUE_PROVIDER == "sqs" else []
    if requeued:
        print(
            f"aws: re-queued {len(requeued)} invoice e-mail attempt(s) left waiting on SQS "
            "(moto starts empty: their messages were lost)",
            flush=True,
        )
    state = {"endpoint": endpoint, "started_at": time.time(), "requeued": requeued}
    (Path(settings.VAR_DIR) / "local_aws.json").write_text(json.dumps(state))
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
