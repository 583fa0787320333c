"""The job row is the source of truth: transactional enqueue, the relay, rescue with real
arguments, a writer that never hurts a job, publishes that fail mid-batch, Snooze, results."""

import json
import subprocess
import sys
import threading
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from jobs.console.actions import job_cancel
from jobs.models import Job, JobAttempt, JobState
from jobs.plugins.lifeline import jobs_rescue
from jobs.table import behind, history
from jobs.table import transitions as store
from tests.helpers import wait_for
from tests.jobs.tasks import counted_job, sensitive_effect_job, snoozing_job, unique_job

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db(transaction=True)


def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


def _runs() -> list[int]:
    return [int(x) for x in _redis().lrange("test:counted_runs", 0, -1)]


def test_a_rolled_back_enqueue_leaves_no_job_and_a_committed_one_runs_once(celery_worker):
    with pytest.raises(RuntimeError), transaction.atomic():
        counted_job.enqueue(n=1)
        raise RuntimeError("the caller's transaction fails")
    with transaction.atomic():
        kept = counted_job.enqueue(n=2)
        assert Job.objects.filter(pk=kept.job_id, state=JobState.QUEUED).exists()  # stored at once
    wait_for(lambda: _runs() == [2], timeout=20, message="the committed job ran")
    assert not Job.objects.exclude(pk=kept.job_id).exists()
    assert Job.objects.get(pk=kept.job_id).state == JobState.SUCCEEDED


def test_an_enqueuer_killed_between_commit_and_publish_is_relayed_and_runs_once(celery_worker, settings):
    settings.JOBS_RELAY_AFTER = 1
    settings.JOBS_RECONCILE_EVERY = 0.5
    code = (
        "import os, django; django.setup()\n"
        "from django.db import transaction\n"
        "import tests.jobs.tasks as t\n"
        "with transaction.atomic():\n"
        "    transaction.on_commit(lambda: os._exit(9))  # dies after commit, before the publish\n"
        "    print(t.counted_job.enqueue(n=7).job_id, flush=True)\n"
    )
    from tests.conftest import worker_env

    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=worker_env(), capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 9, out.stderr[-2000:]
    job_id = out.stdout.split()[-1]
    assert Job.objects.get(pk=job_id).published_at is None
    wait_for(lambda: _runs() == [7], timeout=30, message="the relay published the orphaned job")
    wait_for(lambda: Job.objects.get(pk=job_id).state == JobState.SUCCEEDED, timeout=10, message="recorded")
    assert _runs() == [7]


def test_a_sensitive_job_with_a_lapsed_lease_is_rescued_with_its_real_arguments(
    celery_worker, settings, caplog
):
    settings.JOBS_RESCUE_AFTER = 1
    secret = "card 4111 1111 1111 1111 of jan@example.com"
    enq = sensitive_effect_job.enqueue(text=secret, channel="C1", countdown=3600)
    Job.objects.filter(pk=enq.job_id).update(
        state=JobState.STARTED,
        attempt=1,
        lease_token="a-dead-process",
        lease_expires_at=timezone.now() - timedelta(seconds=60),
        worker="gone@vm",
    )

    jobs_rescue()  # (or the worker's own sweep, whichever comes first)
    wait_for(lambda: _redis().llen("test:sensitive_runs") == 1, timeout=20, message="rescued job ran")
    import hashlib

    assert _redis().lrange("test:sensitive_runs", 0, -1) == [
        hashlib.sha256(secret.encode()).hexdigest().encode()
    ]
    wait_for(
        lambda: Job.objects.get(pk=enq.job_id).state == JobState.SUCCEEDED, timeout=10, message="recorded"
    )
    # Nowhere in the clear: not in any column but the encrypted one, not in logs or events.
    row = Job.objects.filter(pk=enq.job_id).values().get()
    row.pop("secret_payload")
    dumped = json.dumps(row, default=str) + json.dumps(list(JobAttempt.objects.values()), default=str)
    assert "4111 1111" not in dumped and "jan@example.com" not in dumped  # (a UUID may hold "4111")
    assert "4111 1111" not in caplog.text and "jan@example.com" not in caplog.text


def test_a_poison_history_write_is_dropped_and_later_writes_leases_and_jobs_go_on(celery_worker, settings):
    settings.JOBS_HISTORY_FLUSH_INTERVAL = 0.1
    settings.JOBS_LEASE_TTL = 1
    dropped = history.stats["dropped_rejected"]
    # A write PostgreSQL rejects: a NUL in a text column (the old writer retried it forever).
    now = timezone.now()
    poison = behind.finish_params(str(uuid.uuid4()), "t", now, now, 0.1, "x\x00y", None)
    history.record(history.FINISH, poison)
    enq = counted_job.enqueue(n=3, seconds=2.5)  # outlives its 1 s lease unless it is renewed
    wait_for(lambda: Job.objects.get(pk=enq.job_id).state == JobState.SUCCEEDED, timeout=30, message="ran")
    assert _runs() == [3]  # the lease was renewed: no second run
    assert history.stats["dropped_rejected"] == dropped + 1
    assert JobAttempt.objects.filter(job_id=enq.job_id, outcome="succeeded").count() == 1


def test_publishes_failing_mid_batch_still_run_every_job_once(celery_worker, settings, monkeypatch):
    settings.JOBS_RELAY_AFTER = 0.5
    settings.JOBS_RECONCILE_EVERY = 0.5
    settings.JOBS_BROKER_PROBE_EVERY = 0.05
    calls = {"n": 0}
    real_execute, real_command = redis.client.Pipeline.execute, redis.client.Redis.execute_command

    def lost() -> bool:  # every other push of jobs to Redis is lost
        calls["n"] += 1
        return calls["n"] % 2 == 1

    def flaky_pipeline(self, *args, **kwargs):  # a batch (the mover, the relay)
        if any(cmd[0][0] == "LPUSH" for cmd in self.command_stack) and lost():
            self.reset()
            raise redis.exceptions.ConnectionError("connection reset by peer")
        return real_execute(self, *args, **kwargs)

    def flaky_command(self, *args, **options):  # one job's push, sent on its own
        if args and args[0] == "LPUSH" and lost():
            raise redis.exceptions.ConnectionError("connection reset by peer")
        return real_command(self, *args, **options)

    monkeypatch.setattr(redis.client.Pipeline, "execute", flaky_pipeline)
    monkeypatch.setattr(redis.client.Redis, "execute_command", flaky_command)
    for n in range(12):
        counted_job.enqueue(n=n, countdown=0.3)  # through the mover's batches
    for n in range(12, 16):
        counted_job.enqueue(n=n, fail_first=True)  # enqueue publishes, then a retry
    wait_for(lambda: len(_runs()) >= 16, timeout=60, message="every job ran")
    assert sorted(_runs()) == list(range(16))
    assert calls["n"] >= 6  # publishes did fail (enqueue, mover, retry, relay), and were made good


def test_snooze_waits_without_counting_an_attempt_and_records_why(celery_worker):
    enq = snoozing_job.enqueue(key="a", times=2)
    wait_for(lambda: Job.objects.get(pk=enq.job_id).state == JobState.SUCCEEDED, timeout=20, message="done")
    row = Job.objects.get(pk=enq.job_id)
    assert row.result == 1 and row.attempt == 1 and row.deferrals == 2
    outcomes = list(JobAttempt.objects.filter(job_id=enq.job_id).values_list("outcome", "error"))
    assert outcomes == [("snoozed", "not yet"), ("snoozed", "not yet"), ("succeeded", "")]


def test_async_result_reads_the_job_table(celery_worker):
    ok = counted_job.enqueue(n=5)
    assert counted_job.AsyncResult(ok.job_id).get(timeout=20) == 5
    assert counted_job.AsyncResult(ok.job_id).state == "SUCCESS"
    waiting = counted_job.enqueue(n=6, countdown=3600)
    assert counted_job.AsyncResult(waiting.job_id).state == "PENDING"


def test_unique_binds_positional_arguments_and_cancel_frees_the_key(db):
    first = unique_job.apply_async((1,), countdown=3600).enqueued
    again = unique_job.enqueue(n=1)
    assert again.duplicate and again.job_id == first.job_id
    job_cancel(job=Job.objects.get(pk=first.job_id))
    after = unique_job.enqueue(n=1)
    assert not after.duplicate and after.job_id != first.job_id


def test_concurrent_claims_of_one_delivery_have_exactly_one_winner(db):
    enq = counted_job.enqueue(n=1, countdown=3600)
    Job.objects.filter(pk=enq.job_id).update(state=JobState.QUEUED)
    barrier, wins = threading.Barrier(8), []

    def claim(i: int) -> None:
        barrier.wait()
        now = timezone.now()
        got = store.job_claim(
            enq.job_id, token=f"t{i}", worker="w", now=now, lease_until=now + timedelta(seconds=30)
        )
        wins.append(got is not None)
        connection.close()

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wins.count(True) == 1


def test_single_machine_mode_on_postgresql_is_refused_at_start():
    env = {k: v for k, v in __import__("os").environ.items() if k != "REDIS_URL"}
    env.update(DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres", PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode != 0
    assert "single-machine mode" in out.stderr and "REDIS_URL" in out.stderr


def test_the_task_result_pages_say_where_job_outcomes_live(admin_client):
    counted_job.enqueue(n=1)
    page = admin_client.get("/admin/django_celery_results/taskresult/").content.decode()
    assert "Results of plain Celery tasks only" in page and "/admin/jobs/job/" in page


def test_a_celery_callback_is_refused_rather_than_silently_dropped():
    with pytest.raises(TypeError, match="no Celery callbacks"):
        counted_job.apply_async(kwargs={"n": 1}, link=counted_job.si(n=2))
    assert not Job.objects.exists()


def test_job_tasks_ack_late_whatever_the_projects_celery_settings_say():
    """A project that keeps Celery's early acks (the wheel's users need not set task_acks_late):
    a job's message is still acked only once its delivery is decided, so a claim that cannot
    reach the database can hand it back, and a worker's death redelivers it."""
    from celery import Celery

    from jobs.core.task import JobTask

    other = Celery("early-acks", set_as_current=False)
    other.conf.task_acks_late = other.conf.task_reject_on_worker_lost = False

    def noop() -> None:
        """A task body."""

    made = other.task(base=JobTask, name="early_acks.job")(noop)
    plain = other.task(name="early_acks.plain")(noop)
    other.finalize()
    assert (made.acks_late, made.reject_on_worker_lost) == (True, True)
    assert (plain.acks_late, plain.reject_on_worker_lost) == (False, False)  # Celery's own tasks keep theirs
