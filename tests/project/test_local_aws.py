"""`make run`'s local AWS (scripts/local_aws.py, a real process): moto keeps nothing, so when it
starts again (a crash, or `make run` restarted) the invoice e-mails that waited in its SQS queue
are queued again, and the readiness report says how many."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import pytest
from django.db import connection

from invoices.models import AttemptStatus, EmailAttempt
from invoices.queues import invoice_email_queue
from project import aws
from project.apps import local_aws_health
from tests.helpers import free_port, wait_for
from tests.invoices.factories import invoice_with_lines
from tests.project.compose import BASE

pytestmark = pytest.mark.integration


@pytest.fixture
def local_aws(transactional_db, tmp_path, settings) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    """Start scripts/local_aws.py as `make run` does (same endpoint each time, like MOTO_PORT)."""
    endpoint = f"http://127.0.0.1:{free_port()}"
    db = connection.settings_dict
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": endpoint,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "VAR_DIR": str(tmp_path),
        "QUEUE_PROVIDER": "sqs",
        "AWS_REGION": "us-east-1",
        "READ_DOT_ENV": "0",
    }
    settings.AWS_ENDPOINT_URL, settings.AWS_REGION, settings.QUEUE_PROVIDER = endpoint, "us-east-1", "sqs"
    settings.VAR_DIR = tmp_path
    aws.clients_reset()
    started: list[subprocess.Popen[bytes]] = []
    state = Path(tmp_path) / "local_aws.json"

    def start() -> subprocess.Popen[bytes]:
        state.unlink(missing_ok=True)
        proc = subprocess.Popen([sys.executable, str(BASE / "scripts" / "local_aws.py")], cwd=BASE, env=env)
        started.append(proc)
        wait_for(lambda: state.exists() or proc.poll() is not None, timeout=90, message="local AWS ready")
        assert proc.poll() is None, "scripts/local_aws.py exited"
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
    aws.clients_reset()


def _waiting_attempt_ids(endpoint: str) -> list[int]:
    sqs = boto3.client("sqs", region_name="us-east-1", endpoint_url=endpoint)
    url = sqs.get_queue_url(QueueName="invoice-generation-queue")["QueueUrl"]
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
    return [json.loads(m["Body"])["attempt_id"] for m in got]


def test_an_invoice_email_waiting_in_local_sqs_is_queued_again_after_a_restart(local_aws, settings):
    first = local_aws()
    attempt = invoice_email_queue(invoice=invoice_with_lines())
    sent = invoice_email_queue(invoice=invoice_with_lines())
    EmailAttempt.objects.filter(pk=sent.pk).update(status=AttemptStatus.SENT)  # its message is done
    assert sorted(_waiting_attempt_ids(settings.AWS_ENDPOINT_URL)) == [attempt.pk, sent.pk]
    old_message = EmailAttempt.objects.get(pk=attempt.pk).queue_message_id

    first.send_signal(signal.SIGKILL)  # the crash; its moto, and the messages, go with it
    first.wait()
    local_aws()  # the supervisor (or a new `make run`) starts it again

    assert _waiting_attempt_ids(settings.AWS_ENDPOINT_URL) == [attempt.pk]  # not the sent one
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.QUEUED and attempt.queue_message_id != old_message
    report = local_aws_health()
    assert report["ok"] and report["requeued_at_start"] == 1
    assert str(attempt.pk) in report["note"]
