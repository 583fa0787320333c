"""Pruning, cancel, health and the doors that need a login."""

import json
import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from celery.contrib.testing.worker import start_worker
from django.utils import timezone
from django_celery_results.models import TaskResult

from jobs.console.actions import job_cancel
from jobs.models import Job, JobState
from jobs.plugins.beat import Scheduler
from jobs.plugins.pruner import jobs_prune
from project.celery import app
from tests.helpers import free_port, wait_for
from tests.jobs.tasks import noop_job

ROOT = Path(__file__).resolve().parents[2]


def _job(state: str, queue: str = "default", age_days: float = 0) -> Job:
    at = timezone.now() - timedelta(days=age_days)
    return Job.objects.create(
        id=uuid.uuid4(),
        task="t",
        queue=queue,
        state=state,
        enqueued_at=at,
        finished_at=at if state in ("succeeded", "failed", "cancelled") else None,
    )


@pytest.mark.django_db
def test_pruning_deletes_only_finished_records_older_than_their_queue_age():
    old_done = _job(JobState.SUCCEEDED, age_days=8)
    old_failed = _job(JobState.FAILED, age_days=9)
    young_done = _job(JobState.SUCCEEDED, age_days=6)
    old_queued = _job(JobState.QUEUED, age_days=30)
    old_started = _job(JobState.STARTED, age_days=30)
    sync_kept = _job(JobState.SUCCEEDED, queue="sync", age_days=59)  # sync keeps 60 days
    sync_old = _job(JobState.SUCCEEDED, queue="sync", age_days=61)
    TaskResult.objects.create(task_id="old", status="SUCCESS")
    TaskResult.objects.filter(task_id="old").update(date_done=timezone.now() - timedelta(days=8))
    TaskResult.objects.create(task_id="new", status="SUCCESS")

    deleted = jobs_prune(batch=1)

    left = set(Job.objects.values_list("pk", flat=True))
    assert left == {young_done.pk, old_queued.pk, old_started.pk, sync_kept.pk}
    assert old_done.pk not in left and old_failed.pk not in left and sync_old.pk not in left
    assert list(TaskResult.objects.values_list("task_id", flat=True)) == ["new"]
    assert deleted == 4


@pytest.mark.django_db
def test_pruning_drops_the_single_machine_modes_expired_lease_rows():
    import time

    from jobs.models import Lease

    Lease.objects.create(key="jobs:single:gone", value="t", expires_at=time.time() - 60)
    Lease.objects.create(key="jobs:single:held", value="t", expires_at=time.time() + 60)
    jobs_prune()
    assert list(Lease.objects.values_list("key", flat=True)) == ["jobs:single:held"]


@pytest.mark.django_db(transaction=True)
def test_cancelled_job_never_runs():
    job = noop_job.enqueue(countdown=1)
    row = job_cancel(job=Job.objects.get(pk=job.job_id))
    assert row.state == JobState.CANCELLED

    with start_worker(app, pool="threads", perform_ping_check=False, queues=["default"], loglevel="WARNING"):
        time.sleep(2)
    assert Job.objects.get(pk=job.job_id).state == JobState.CANCELLED
    assert Job.objects.get(pk=job.job_id).started_at is None


@pytest.mark.django_db(transaction=True)
def test_healthz_200_when_everything_is_up(admin_client, celery_worker, settings):
    # A deployment without AWS (invoice queues on the broker) whose nightly sync has run today.
    from sync.runs import sync_run_begin

    settings.QUEUE_PROVIDER = "celery"
    sync_run_begin(job_id=str(uuid.uuid4()), trigger="scheduled")
    Scheduler(app=app, lazy=True).heartbeat()
    response = admin_client.get("/healthz/ready")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] in ("ok", "warning") and not body["failing"]  # warnings: not configured
    assert set(body["checks"]) >= {"database", "broker", "beat", "workers"}
    assert body["checks"]["workers"]["workers"]


@pytest.mark.django_db
def test_healthz_503_names_the_broker_when_redis_is_unreachable(admin_client, settings):
    port = free_port()  # nothing listens there: Redis is unreachable
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{port}/0"
    Scheduler(app=app, lazy=True).heartbeat()
    response = admin_client.get("/healthz/ready")
    body = response.json()
    assert response.status_code == 503
    assert "broker" in body["failing"]
    assert body["checks"]["database"]["ok"] is True


@pytest.mark.django_db
def test_health_command_prints_the_report_and_fails_on_a_failing_check(settings, capsys):
    from django.core.management import CommandError, call_command

    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"
    with pytest.raises(CommandError, match="broker"):
        call_command("health", "--only", "database", "broker")
    report = json.loads(capsys.readouterr().out)
    assert report["checks"]["database"]["ok"] is True


@pytest.mark.django_db
def test_admin_requires_login(client):
    response = client.get("/admin/jobs/job/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_flower_refuses_to_start_without_a_login():
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWER_")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "project",
            "flower",
            f"--port={free_port()}",
            "--address=127.0.0.1",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode != 0
    assert "FLOWER_BASIC_AUTH" in done.stdout + done.stderr


def test_flower_answers_401_without_credentials():
    port = free_port()
    env = dict(os.environ, FLOWER_BASIC_AUTH="ops:s3cret-pass")
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "project", "flower", f"--port={port}", "--address=127.0.0.1"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/"

        def up() -> bool:
            try:
                requests.get(url, timeout=1)
                return True
            except requests.ConnectionError:
                return False

        wait_for(up, timeout=30, message="flower listening")
        assert requests.get(url, timeout=5).status_code == 401
        assert requests.get(f"{url}api/workers", timeout=5).status_code == 401
        assert requests.get(url, auth=("ops", "wrong"), timeout=5).status_code == 401
        assert requests.get(url, auth=("ops", "s3cret-pass"), timeout=5).status_code == 200
    finally:
        proc.terminate()
        proc.wait(10)


def test_request_logs_never_show_a_payment_token():
    import logging

    from project.logredact import RedactSecretsFilter

    record = logging.LogRecord(
        "django.server",
        logging.INFO,
        __file__,
        1,
        '"%s" %s %s',
        ("GET /pay/Zx9-secretToken_abc HTTP/1.1", "200", "512"),
        None,
    )
    RedactSecretsFilter().filter(record)
    assert "secretToken" not in record.getMessage()
    assert "/pay/[token]" in record.getMessage()


def test_redaction_leaves_mapping_style_log_arguments_alone():
    import logging

    from project.logredact import RedactSecretsFilter

    record = logging.LogRecord(
        "celery", logging.INFO, __file__, 1, "%(name)s done", ({"name": "worker"},), None
    )
    RedactSecretsFilter().filter(record)
    assert record.getMessage() == "worker done"
