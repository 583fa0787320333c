"""Priorities 0–9 are ten distinct levels on Redis, 0 served first (issue 19: they were four
FIFO buckets), and the same direction on RabbitMQ, each checked with a real one-slot worker; and
`check_queue` answers which workers consume a queue and with how many slots (Oban's check_queue)."""

from __future__ import annotations

import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from jobs.broker.queues import broker_priority
from jobs.models import Job, JobState
from tests.conftest import ROOT, worker_env
from tests.helpers import wait_for
from tests.jobs.chaos import broker_under_test, worker_ready
from tests.jobs.tasks import noop_job

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_ten_jobs_of_mixed_priority_run_most_urgent_first_on_a_one_slot_worker(worker_process):
    # Enqueued least urgent first, while no worker consumes the queue (the worker is "paused":
    # not started yet), so every message waits in the broker when the worker begins.
    ids = {}
    for priority in (9, 8, 7, 6, 5, 4, 3, 2, 1, 0):
        ids[noop_job.apply_async(priority=priority).enqueued.job_id] = priority
    worker_process("prio", queues=["default"], concurrency=1, CELERY_EXTRA_IMPORTS="tests.jobs.tasks")
    assert _priorities_in_run_order(ids) == list(range(10))


def test_the_same_direction_on_rabbitmq_with_a_real_worker(worker_process):
    """RabbitMQ serves the highest number first; the layer publishes 9 - p there, so priority 0
    is still the most urgent. Enqueued by another process on a vhost of this test's own, least
    urgent first, before any worker consumes the queue."""
    with broker_under_test("rabbitmq") as broker:
        script = "\n".join(
            [
                "import django; django.setup()",
                "from tests.jobs.tasks import noop_job",
                "for p in (9, 8, 7, 6, 5, 4, 3, 2, 1, 0):",
                "    print(noop_job.apply_async(priority=p).enqueued.job_id, p, flush=True)",
            ]
        )
        env = worker_env(**broker.env, JOBS_HISTORY_FLUSH_INTERVAL="0")
        done = subprocess.run(
            [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr[-3000:]
        ids = {line.split()[0]: int(line.split()[1]) for line in done.stdout.splitlines()}
        worker = worker_process(
            "prio-amqp",
            queues=["default"],
            concurrency=1,
            ready=False,
            CELERY_EXTRA_IMPORTS="tests.jobs.tasks",
            **broker.env,
        )
        worker_ready(worker)
        assert _priorities_in_run_order(ids) == list(range(10))


def _priorities_in_run_order(ids: dict[str, int]) -> list[int]:
    """Once all ten succeeded: their priorities in the order they started."""
    wait_for(
        lambda: Job.objects.filter(pk__in=ids, state=JobState.SUCCEEDED).count() == len(ids),
        timeout=60,
        message="all ten ran",
    )
    started = Job.objects.filter(pk__in=ids).order_by("started_at").values_list("id", flat=True)
    return [ids[str(j)] for j in started]


def test_a_priority_outside_zero_to_nine_is_refused_at_enqueue():
    with pytest.raises(ValueError, match="priority 12 is not 0 \\(most urgent\\) to 9"):
        noop_job.apply_async(priority=12)
    assert not Job.objects.exists()


def test_one_direction_on_both_brokers():
    assert broker_priority(0, "redis") == 0 and broker_priority(9, "redis") == 9
    assert broker_priority(0, "amqp") == 9 and broker_priority(9, "amqp") == 0  # RabbitMQ: higher first
    assert broker_priority(None, "amqp") is None


def test_check_queue_names_the_workers_and_their_slots(worker_process):
    worker_process("cq", queues=["events", "default"], concurrency=3, CELERY_EXTRA_IMPORTS="tests.jobs.tasks")
    out = StringIO()
    call_command("check_queue", "events", "--timeout", "3", stdout=out)
    text = out.getvalue()
    assert "queue events: 1 worker(s), 3 slot(s) (documented default 20)" in text
    assert "cq@" in text
    with pytest.raises(CommandError, match="no worker consumes queue pii_detection"):
        call_command("check_queue", "pii_detection", "--timeout", "3", stdout=StringIO())
    with pytest.raises(CommandError, match="unknown queue 'nope'"):
        call_command("check_queue", "nope", stdout=StringIO())

    # The same answer in readiness and on the dashboard's banner: a queue nobody consumes.
    from jobs.observe.health import readiness_reset, run_checks
    from jobs.observe.verdict import verdict_from

    readiness_reset()
    _ok, report = run_checks(["database", "broker", "workers", "consumers"])
    consumers = report["checks"]["consumers"]
    assert consumers["status"] == "failing"
    assert "pii_detection" in consumers["error"] and "events" not in consumers["unconsumed"]
    assert verdict_from(report)["level"] == "degraded"
