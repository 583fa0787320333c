"""Django's Tasks API (`@task`, `.enqueue()`, `get_result`) on the jobs layer, with real workers."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from jobs.models import Job, JobState
from jobs.tasks_api import layer_priority
from jobs.tasks_api.compat import (
    InvalidTask,
    TaskResultDoesNotExist,
    TaskResultStatus,
    task_backends,
    task_enqueued,
    task_finished,
    task_started,
)
from tests.helpers import wait_for
from tests.jobs import dtasks
from tests.jobs.dtasks import dt_add, dt_context, dt_fail, dt_order, dt_slow, dt_unique, job_options

try:
    from django.tasks import task
except ImportError:
    from django_tasks import task

IMPORTS = {"CELERY_EXTRA_IMPORTS": "tests.jobs.dtasks"}


def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


def _count(key: str) -> int:
    return int(_redis().get(f"test:dt:{key}") or 0)


def _until(result, status, timeout: float = 30):
    def reached() -> bool:
        result.refresh()
        return result.status == status

    wait_for(reached, timeout=timeout, message=f"{result.task.name} {status}")
    return result


class _Boom(Exception):
    pass


@pytest.mark.django_db(transaction=True)
def test_enqueue_in_a_rolled_back_transaction_leaves_no_job_and_a_committed_one_runs_once(celery_worker):
    with pytest.raises(_Boom), transaction.atomic():
        lost = dt_add.enqueue(1, 2, key="rolled")
        raise _Boom
    with transaction.atomic():
        kept = dt_add.enqueue(2, 3, key="kept")
        assert kept.status == TaskResultStatus.READY
    assert not Job.objects.filter(pk=lost.id).exists()
    with pytest.raises(TaskResultDoesNotExist):
        dt_add.get_result(lost.id)
    _until(kept, TaskResultStatus.SUCCESSFUL)
    assert kept.return_value == 5
    assert kept.attempts == 1 and kept.worker_ids[0]  # the worker that ran it
    time.sleep(1)  # a second run would have counted by now
    assert _count("kept") == 1 and _count("rolled") == 0


@pytest.mark.django_db(transaction=True)
def test_get_result_tells_each_state_from_the_job_row(celery_worker):
    later = dt_add.using(run_after=timezone.now() + timedelta(hours=1)).enqueue(1, 1)
    assert task_backends["default"].get_result(later.id).status == TaskResultStatus.READY
    running = dt_slow.enqueue(key="running", seconds=3)
    _until(running, TaskResultStatus.RUNNING)
    assert running.started_at is not None and running.finished_at is None
    with pytest.raises(ValueError):
        running.return_value  # noqa: B018 - not finished: Django's API says so by raising
    _until(running, TaskResultStatus.SUCCESSFUL)
    assert running.return_value == "running" and running.finished_at is not None
    failed = dt_fail.enqueue("boom")
    _until(failed, TaskResultStatus.FAILED)
    assert [e.exception_class for e in failed.errors] == [ValueError]
    assert "boom" in failed.errors[0].traceback
    with pytest.raises(ValueError):
        failed.return_value  # noqa: B018


@pytest.mark.django_db(transaction=True)
def test_run_after_is_honoured(celery_worker):
    when = timezone.now() + timedelta(seconds=3)
    result = dt_add.using(run_after=when).enqueue(4, 4, key="after")
    assert Job.objects.get(pk=result.id).state == JobState.SCHEDULED
    _until(result, TaskResultStatus.SUCCESSFUL)
    assert result.started_at >= when
    assert result.return_value == 8


@pytest.mark.integration
def test_higher_priority_runs_first(worker_process):
    for n in range(3):
        dt_order.using(priority=-100).enqueue(f"low{n}")
    dt_order.using(priority=100).enqueue("high")
    assert (
        Job.objects.filter(task__startswith="django_tasks:")
        .values_list("priority", flat=True)
        .distinct()
        .count()
        == 2
    )
    worker_process("prio", queues=["default"], concurrency=1, **IMPORTS)
    wait_for(lambda: _redis().llen("test:dt:order") == 4, timeout=30, message="all four ran")
    assert _redis().lindex("test:dt:order", 0) == b"high"


def test_priority_maps_higher_to_the_brokers_first():
    assert [layer_priority(p) for p in (100, 34, 0, -100)] == [0, 3, 5, 9]


@pytest.mark.django_db(transaction=True)
def test_takes_context_sees_the_attempt_and_retries_come_from_job_options(celery_worker):
    result = dt_context.enqueue(fail_until=2)
    _until(result, TaskResultStatus.SUCCESSFUL)
    assert result.return_value == 2  # the second attempt's context said 2
    assert result.attempts == 2
    assert [e.exception_class for e in result.errors] == [ConnectionError]


@pytest.mark.django_db(transaction=True)
def test_signals_fire_for_enqueue_start_and_finish(celery_worker):
    seen: list[tuple[str, str, str]] = []

    def on(name):
        def receiver(sender, task_result, **kw):
            seen.append((name, task_result.id, str(task_result.status)))

        return receiver

    receivers = [
        (sig, on(name))
        for sig, name in ((task_enqueued, "enqueued"), (task_started, "started"), (task_finished, "finished"))
    ]
    for sig, fn in receivers:
        sig.connect(fn)
    try:
        result = dt_fail.enqueue("signal")
        _until(result, TaskResultStatus.FAILED)
        wait_for(lambda: len(seen) >= 3, timeout=10, message="three signals")
    finally:
        for sig, fn in receivers:
            sig.disconnect(fn)
    # task_enqueued fires in the enqueuing thread once the job is published; the worker's thread
    # may start (and finish) the job before that: the order across threads is not defined (nor is
    # it for Django's own DatabaseBackend, whose signal waits for on_commit while workers poll).
    assert sorted(seen) == [
        ("enqueued", result.id, "READY"),
        ("finished", result.id, "FAILED"),
        ("started", result.id, "RUNNING"),
    ]
    assert seen.index(("started", result.id, "RUNNING")) < seen.index(("finished", result.id, "FAILED"))


@pytest.mark.django_db(transaction=True)
def test_uniqueness_and_sensitive_arguments_through_job_options():
    first = dt_unique.enqueue(7, token="s3cret")
    second = dt_unique.enqueue(7, token="other")
    assert second.id == first.id
    row = Job.objects.get(pk=first.id)
    assert row.queue == "emails" and "s3cret" not in str(row.kwargs) and "s3cret" not in str(row.args)
    assert dt_unique.get_result(first.id).kwargs == {"token": "[filtered]"}


def test_a_queue_the_backend_does_not_list_is_refused_at_declaration():
    with pytest.raises(InvalidTask, match="nope"):
        task(queue_name="nope")(dtasks.not_declared)


def test_an_async_function_is_refused_at_declaration():
    async def coro() -> None:  # pragma: no cover - never run
        pass

    coro.__qualname__ = "coro"
    with pytest.raises(InvalidTask):
        task()(coro)


@pytest.mark.integration
def test_sigkilled_worker_mid_task_is_rescued_and_the_result_follows(worker_process):
    env = {**IMPORTS, "BROKER_VISIBILITY_TIMEOUT": "8", "JOBS_LEASE_TTL": "3"}
    victim = worker_process("dtvictim", queues=["default"], concurrency=1, **env)
    result = dt_slow.enqueue(key="killed", seconds=5)
    _until(result, TaskResultStatus.RUNNING)
    victim.kill()
    assert _count("killed") == 0
    worker_process("dtrescuer", queues=["default"], concurrency=1, **env)
    _until(result, TaskResultStatus.SUCCESSFUL, timeout=60)
    assert result.attempts == 2
    assert len(result.worker_ids) == 2  # one per attempt: killed on the first, done on the second
    time.sleep(1)
    assert _count("killed") == 1


@pytest.mark.integration
def test_a_worker_not_told_about_a_task_learns_it_on_first_delivery(worker_process):
    worker_process("dtlearn", queues=["default"], concurrency=1)  # no CELERY_EXTRA_IMPORTS
    result = dt_add.enqueue(20, 22, key="learnt")
    _until(result, TaskResultStatus.SUCCESSFUL)
    assert result.return_value == 42 and _count("learnt") == 1


def test_per_queue_options_reach_the_job_and_a_bad_one_is_refused_at_declaration(settings):
    from jobs.core.options import RateLimit

    settings.TASKS = {
        "default": {
            "BACKEND": "jobs.tasks_api.DjangoTasksBackend",
            "QUEUES": ["default", "emails"],
            "OPTIONS": {"defaults": {"max_attempts": 2}, "queues": {"emails": {"rate_limit": "5/1s"}}},
        }
    }
    declared = task(queue_name="emails")(dtasks.with_queue_options)
    generated = task_backends["default"].job_task(declared)
    assert generated.job_options.max_attempts == 2
    assert generated.job_options.rate_limit == RateLimit(5, 1.0)
    assert generated.name == "django_tasks:tests.jobs.dtasks.with_queue_options"
    settings.TASKS = {
        "default": {
            "BACKEND": "jobs.tasks_api.DjangoTasksBackend",
            "OPTIONS": {"queues": {"default": {"rate_limit": "fast"}}},
        }
    }
    with pytest.raises(InvalidTask, match="rate limit"):
        task()(dtasks.with_bad_option)


@pytest.mark.django_db
def test_get_result_of_an_unknown_id_or_a_plain_job_does_not_exist():
    from tests.jobs.tasks import counted_job

    plain = counted_job.enqueue(n=1, countdown=3600)
    for unknown in ("not-a-uuid", "00000000-0000-0000-0000-000000000000", plain.job_id):
        with pytest.raises(TaskResultDoesNotExist):
            task_backends["default"].get_result(unknown)


def test_job_options_above_task_is_refused():
    with pytest.raises(TypeError, match="under @task"):
        job_options(max_attempts=2)(dt_add)
    with pytest.raises(TypeError, match="unknown option"):
        job_options(retries=2)
