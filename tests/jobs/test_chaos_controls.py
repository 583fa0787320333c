"""Celery's and the console's controls under load, with real worker subprocesses: revoke (by
Celery's API and through Flower's HTTP API), terminate, a paused queue holding what a worker had
prefetched, and a queue limit of one. Lease 3 s, rescue 1 s after it lapsed (CHAOS_ENV)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from celery import current_app
from django.db.models import Sum
from django.urls import reverse

from jobs.console.actions import job_retry
from jobs.console.queues import queue_limit_set, queue_pause, queue_resume
from jobs.models import FINISHED_STATES, Job, JobAttempt, JobState
from tests.conftest import ROOT, worker_env
from tests.helpers import free_port, wait_for
from tests.jobs.chaos_control_tasks import (
    CHAOS_ENV,
    chaos_bad_rate_job,
    chaos_gated_job,
    chaos_list,
    chaos_mark_job,
)

PAST_RESCUE = 5.0  # a lease, the rescue delay and a lifeline sweep: a rescue would have happened


def _state(job_id: str) -> str | None:
    return Job.objects.filter(pk=job_id).values_list("state", flat=True).first()


def _ended(job_id: str, timeout: float = 45) -> Job:
    wait_for(lambda: _state(job_id) in FINISHED_STATES, timeout=timeout, message=f"job {job_id} ended")
    return Job.objects.get(pk=job_id)


def _busy(key: str, seconds: float) -> str:
    """A long job keeping a one-process worker busy; returns once it runs."""
    job_id = chaos_mark_job.enqueue(key=key, n=0, seconds=seconds).job_id
    wait_for(lambda: chaos_list(f"chaos:started:{key}"), timeout=30, message="the busy job running")
    return job_id


# -- revoke and terminate ---------------------------------------------------------------------------
@pytest.mark.integration
def test_revoking_a_queued_job_cancels_it_and_it_never_runs(worker_process):
    worker_process("revoke", queues=["default"], concurrency=1, pool="prefork", **CHAOS_ENV)
    busy = _busy("busy", seconds=8)  # running while `celery control revoke` starts (a few seconds)
    victim = chaos_mark_job.enqueue(key="victim", n=1).job_id
    by_cli = chaos_mark_job.enqueue(key="victim", n=2).job_id
    current_app.AsyncResult(victim).revoke()
    subprocess.run(  # `celery control revoke`, as an operator types it
        [sys.executable, "-m", "celery", "-A", "project", "control", "revoke", by_cli],
        cwd=ROOT,
        env=worker_env(**CHAOS_ENV),
        check=True,
        capture_output=True,
        timeout=60,
    )

    for job_id in (victim, by_cli):
        assert _ended(job_id).state == JobState.CANCELLED
    assert _ended(busy).state == JobState.SUCCEEDED
    time.sleep(PAST_RESCUE)
    for job_id in (victim, by_cli):
        assert _state(job_id) == JobState.CANCELLED
        assert not JobAttempt.objects.filter(job_id=job_id).exists()
    assert chaos_list("chaos:started:victim") == []


@pytest.mark.integration
def test_terminating_a_running_job_cancels_it_with_a_cancelled_attempt_and_no_rescue(worker_process):
    worker_process("terminate", queues=["default"], concurrency=1, pool="prefork", **CHAOS_ENV)
    job_id = _busy("term", seconds=20)
    current_app.AsyncResult(job_id).revoke(terminate=True, signal="SIGKILL")

    assert _ended(job_id).state == JobState.CANCELLED
    wait_for(lambda: JobAttempt.objects.filter(job_id=job_id).exists(), timeout=10, message="attempt row")
    time.sleep(PAST_RESCUE)  # its lease would have lapsed and been rescued by now
    assert _state(job_id) == JobState.CANCELLED
    outcomes = list(JobAttempt.objects.filter(job_id=job_id).values_list("outcome", flat=True))
    assert outcomes == ["cancelled"]
    assert chaos_list("chaos:started:term") == ["0"]  # killed, never started again
    assert chaos_list("chaos:runs:term") == []


@pytest.mark.integration
def test_the_console_cancels_a_running_job_and_its_process_is_stopped_not_rescued(
    worker_process, admin_client, settings
):
    settings.JOBS_CANCEL_GRACE = 2  # the terminate is sent by this (the web) process
    worker_process("console-cancel", queues=["default"], concurrency=1, pool="prefork", **CHAOS_ENV)
    job_id = _busy("ccancel", seconds=20)
    page = admin_client.get(reverse("admin:jobs_job_change", args=[job_id])).content.decode()
    assert "Cancel the run" in page  # offered for a running job, not only for waiting ones

    admin_client.post(reverse("admin:jobs_job_act", args=[job_id, "cancel"]))
    assert _state(job_id) == JobState.CANCELLED  # at once: its lease is gone
    time.sleep(2 + PAST_RESCUE)  # the grace, then long enough for a rescue to have happened
    assert _state(job_id) == JobState.CANCELLED
    assert list(JobAttempt.objects.filter(job_id=job_id).values_list("outcome", flat=True)) == ["cancelled"]
    assert chaos_list("chaos:started:ccancel") == ["0"]  # terminated mid-run, never started again
    assert chaos_list("chaos:runs:ccancel") == []
    # Its one slot is free long before the 20 s the cancelled run would have taken.
    after = chaos_mark_job.enqueue(key="ccafter", n=1).job_id
    assert _ended(after, timeout=8).state == JobState.SUCCEEDED


@pytest.mark.integration
def test_revoked_jobs_retried_from_the_console_run_once_each(worker_process):
    worker_process("unrevoke", queues=["default"], concurrency=1, pool="prefork", **CHAOS_ENV)
    busy = _busy("rbusy", seconds=3)
    ids = [chaos_mark_job.enqueue(key="retried", n=i).job_id for i in range(5)]
    for job_id in ids:
        current_app.AsyncResult(job_id).revoke()
    assert _ended(busy).state == JobState.SUCCEEDED
    for job_id in ids:
        assert _ended(job_id).state == JobState.CANCELLED

    for job_id in ids:  # the same jobs, the same ids, that every worker had been told to drop
        job_retry(job=Job.objects.get(pk=job_id))
    for job_id in ids:
        assert _ended(job_id).state == JobState.SUCCEEDED
    assert sorted(int(n) for n in chaos_list("chaos:runs:retried")) == list(range(5))


@pytest.fixture
def flower(worker_process) -> Iterator[str]:
    """Flower with a login, on the test's broker; yields its base URL (the login is u:p)."""
    port = free_port()
    log = open(f"/tmp/flower-{port}.log", "w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "project",
            "flower",
            f"--port={port}",
            "--address=127.0.0.1",
            "--basic-auth=u:p",
        ],
        cwd=ROOT,
        env=worker_env(FLOWER_BASIC_AUTH="u:p"),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"flower exited: {Path(log.name).read_text()[-2000:]}")
        try:
            return requests.get(f"{url}/api/workers", auth=("u", "p"), timeout=2).ok
        except requests.ConnectionError:
            return False

    try:
        wait_for(up, timeout=30, interval=0.3, message="flower answering")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _flower_state(url: str, job_id: str) -> str | None:
    r = requests.get(f"{url}/api/task/info/{job_id}", auth=("u", "p"), timeout=5)
    return r.json().get("state") if r.ok else None


@pytest.mark.integration
def test_flower_revokes_a_queued_job_and_reports_failed_and_succeeded_jobs_as_the_table_does(
    flower, worker_process
):
    worker_process("flower", queues=["default"], concurrency=1, pool="prefork", **CHAOS_ENV)
    busy = _busy("fbusy", seconds=3)
    victim = chaos_mark_job.enqueue(key="fvictim", n=1).job_id
    r = requests.post(f"{flower}/api/task/revoke/{victim}", auth=("u", "p"), timeout=10)
    assert r.status_code == 200, r.text
    assert _ended(victim).state == JobState.CANCELLED

    failed = chaos_bad_rate_job.enqueue(key="fbad").job_id
    good = chaos_mark_job.enqueue(key="fgood", n=5).job_id
    assert _ended(failed).state == JobState.FAILED
    assert _ended(good).state == JobState.SUCCEEDED
    assert _ended(busy).state == JobState.SUCCEEDED
    wait_for(lambda: _flower_state(flower, failed) == "FAILURE", timeout=20, message="Flower: FAILURE")
    wait_for(lambda: _flower_state(flower, good) == "SUCCESS", timeout=20, message="Flower: SUCCESS")
    wait_for(lambda: _flower_state(flower, victim) == "REVOKED", timeout=20, message="Flower: REVOKED")
    assert chaos_list("chaos:started:fvictim") == []

    # Flower's Terminate: the running job is cancelled with a cancelled attempt, and not rescued.
    term = _busy("fterm", seconds=20)
    data = {"terminate": "true", "signal": "SIGKILL"}
    r = requests.post(f"{flower}/api/task/revoke/{term}", data=data, auth=("u", "p"), timeout=10)
    assert r.status_code == 200, r.text
    assert _ended(term).state == JobState.CANCELLED
    time.sleep(PAST_RESCUE)
    assert _state(term) == JobState.CANCELLED
    assert list(JobAttempt.objects.filter(job_id=term).values_list("outcome", flat=True)) == ["cancelled"]
    assert chaos_list("chaos:started:fterm") == ["0"] and chaos_list("chaos:runs:fterm") == []


# -- gates -------------------------------------------------------------------------------------------
@pytest.mark.integration
def test_a_paused_queue_defers_what_a_worker_had_prefetched_until_resumed(worker_process):
    worker_process(
        "prefetch",
        queues=["events"],
        concurrency=1,
        pool="prefork",
        CELERY_WORKER_PREFETCH_MULTIPLIER="4",
        **CHAOS_ENV,
    )
    ids = [chaos_gated_job.enqueue(key="pause", n=i, seconds=1.0).job_id for i in range(8)]
    wait_for(lambda: chaos_list("chaos:started:pause"), timeout=30, message="the first job running")
    queue_pause(queue="events")
    first = int(chaos_list("chaos:started:pause")[0])

    def deferrals() -> int:
        return Job.objects.filter(pk__in=ids).aggregate(n=Sum("deferrals"))["n"] or 0

    wait_for(lambda: _state(ids[first]) == JobState.SUCCEEDED, timeout=20, message="the first job done")
    wait_for(lambda: deferrals() >= 1, timeout=20, message="a prefetched job deferred")
    time.sleep(2)  # the other prefetched copies reach the pool meanwhile
    held_back = deferrals()
    assert chaos_list("chaos:started:pause") == [str(first)]  # only the one already running ran
    assert Job.objects.filter(pk__in=ids, state=JobState.SUCCEEDED).count() == 1

    queue_resume(queue="events")
    for job_id in ids:
        assert _ended(job_id).state == JobState.SUCCEEDED
    assert sorted(int(n) for n in chaos_list("chaos:started:pause")) == list(range(8))  # each once
    assert held_back >= 1


@pytest.mark.integration
def test_thirty_jobs_behind_a_queue_limit_of_one_run_once_each_one_at_a_time(worker_process):
    queue_limit_set(queue="events", limit=1)
    worker_process("limit", queues=["events"], concurrency=3, pool="prefork", **CHAOS_ENV)
    ids = [chaos_gated_job.enqueue(key="limit", n=i, seconds=0.1).job_id for i in range(30)]

    wait_for(
        lambda: Job.objects.filter(pk__in=ids, state__in=FINISHED_STATES).count() == 30,
        timeout=60,
        message="thirty jobs ended",
    )
    assert Job.objects.filter(pk__in=ids, state=JobState.SUCCEEDED).count() == 30
    assert sorted(int(n) for n in chaos_list("chaos:started:limit")) == list(range(30))  # once each
    assert set(chaos_list("chaos:max:limit")) == {"1"}  # never two at once
    total = Job.objects.filter(pk__in=ids).aggregate(n=Sum("deferrals"))["n"] or 0
    each = list(Job.objects.filter(pk__in=ids).values_list("deferrals", flat=True))
    # A waiting job holds a reserved turn instead of polling: ~1 deferral each (seen: 0-2).
    assert total <= 2 * 30 and max(each) <= 3, each
