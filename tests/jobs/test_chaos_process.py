"""Chaos at the process level, with real worker subprocesses on PostgreSQL and Redis: a job that
kills its own worker, a delivery that fails between claim and body, a worker frozen mid-job, and
a stale message of a pruned job. Lease 3 s, rescue 1 s after it lapsed (CHAOS_ENV)."""

from __future__ import annotations

import os
import signal
import time

import pytest
from celery import current_app

from jobs.broker.publish import job_publish
from jobs.models import FINISHED_STATES, Job, JobAttempt, JobState
from jobs.table.clock import db_now
from jobs.table.rows import SPEC, TABLE, db_id, run_sql, to_specs
from tests.helpers import wait_for
from tests.jobs.chaos_control_tasks import (
    CHAOS_ENV,
    chaos_bad_rate_job,
    chaos_flaky_gate_job,
    chaos_list,
    chaos_mark_job,
    chaos_secret_job,
    chaos_stepping_job,
    chaos_suicide_job,
)

# Longer than a lease plus the rescue delay plus a lifeline sweep: anything still to happen has.
PAST_RESCUE = 5.0


def _row(job_id: str) -> Job:
    return Job.objects.get(pk=job_id)


def _ended(job_id: str, timeout: float = 45) -> Job:
    wait_for(
        lambda: Job.objects.filter(pk=job_id, state__in=FINISHED_STATES).exists(),
        timeout=timeout,
        message=f"job {job_id} ended",
    )
    return _row(job_id)


def _outcomes(job_id: str) -> list[str]:
    return list(
        JobAttempt.objects.filter(job_id=job_id).order_by("attempt", "id").values_list("outcome", flat=True)
    )


@pytest.mark.integration
def test_a_job_that_sigkills_its_worker_fails_lost_after_its_attempts_and_the_others_succeed(
    worker_process,
):
    worker_process("suicide", queues=["default"], concurrency=2, pool="prefork", **CHAOS_ENV)
    killer = chaos_suicide_job.enqueue(key="k").job_id
    beside = [chaos_mark_job.enqueue(key="beside", n=i, seconds=0.2).job_id for i in range(10)]

    row = _ended(killer, timeout=50)
    assert row.state == JobState.FAILED
    assert row.last_error.startswith("lost"), row.last_error
    assert row.attempt == 3
    # One `lost` row per lapsed attempt, whoever noticed it (the lifeline or a takeover).
    assert _outcomes(killer) == ["lost", "lost", "lost"]
    assert chaos_list("chaos:suicide:k") == ["1", "2", "3"]  # three bodies ran, each killed its process

    for job_id in beside:
        assert _ended(job_id).state == JobState.SUCCEEDED
    assert sorted(int(n) for n in chaos_list("chaos:runs:beside")) == list(range(10))

    time.sleep(PAST_RESCUE)  # no fourth try comes later
    assert _row(killer).state == JobState.FAILED and _row(killer).attempt == 3
    assert len(chaos_list("chaos:suicide:k")) == 3


@pytest.mark.integration
def test_a_delivery_that_takes_over_a_lapsed_lease_records_the_lost_attempt(worker_process):
    # The lifeline is kept out of it (rescue after 60 s): a second copy of the message — Celery's
    # requeue after the child died, noticed late, or a visibility-timeout restore — takes over.
    env = {**CHAOS_ENV, "JOBS_RESCUE_AFTER": "60"}
    worker_process("takeover", queues=["default"], concurrency=1, pool="prefork", **env)
    job_id = chaos_suicide_job.enqueue(key="takeover").job_id
    wait_for(lambda: chaos_list("chaos:suicide:takeover"), timeout=30, message="the first attempt ran")
    wait_for(
        lambda: Job.objects.filter(pk=job_id, state=JobState.STARTED, lease_expires_at__lt=db_now()).exists(),
        timeout=20,
        message="the first attempt's lease lapsed",
    )
    assert job_publish(_spec(job_id))  # a second copy, as the broker would hand it again
    wait_for(lambda: len(chaos_list("chaos:suicide:takeover")) >= 2, timeout=30, message="a takeover ran")

    wait_for(
        lambda: JobAttempt.objects.filter(job_id=job_id, attempt=1).exists(),
        timeout=5,
        message="the first attempt's row",
    )
    assert JobAttempt.objects.get(job_id=job_id, attempt=1).outcome == "lost"


@pytest.mark.integration
def test_arguments_that_no_longer_decrypt_fail_the_job_once_with_a_reason(worker_process):
    job_id = chaos_secret_job.enqueue(key="garbled", card="4111 1111 1111 1111").job_id
    Job.objects.filter(pk=job_id).update(secret_payload="gAAAAAB-not-a-fernet-token-any-more")
    worker_process("garbled", queues=["default"], concurrency=1, pool="prefork", **CHAOS_ENV)

    row = _ended(job_id)
    assert row.state == JobState.FAILED
    assert row.last_error and "decrypt" in row.last_error
    assert "4111" not in row.last_error
    time.sleep(PAST_RESCUE)  # delivered once, never looping back
    row = _row(job_id)
    assert (row.state, row.attempt) == (JobState.FAILED, 1)
    assert _outcomes(job_id) == ["failed"]
    assert chaos_list("chaos:runs:garbled") == []


@pytest.mark.integration
def test_a_rate_limit_callable_returning_a_malformed_limit_fails_the_job_naming_it(worker_process):
    worker_process("badrate", queues=["default"], concurrency=1, pool="prefork", **CHAOS_ENV)
    job_id = chaos_bad_rate_job.enqueue(key="badrate").job_id

    row = _ended(job_id)
    assert row.state == JobState.FAILED
    assert "'abc'" in row.last_error, row.last_error
    time.sleep(PAST_RESCUE)
    row = _row(job_id)
    assert (row.state, row.attempt) == (JobState.FAILED, 1)
    assert _outcomes(job_id) == ["failed"]
    assert chaos_list("chaos:runs:badrate") == []


@pytest.mark.integration
def test_a_gate_whose_store_fails_once_retries_the_job_whatever_its_retry_on(worker_process):
    worker_process("flakygate", queues=["default"], concurrency=1, pool="prefork", **CHAOS_ENV)
    job_id = chaos_flaky_gate_job.enqueue(key="flaky").job_id

    row = _ended(job_id)
    assert (row.state, row.attempt) == (JobState.SUCCEEDED, 2)
    assert _outcomes(job_id) == ["retrying", "succeeded"]
    assert "ConnectionError" in (JobAttempt.objects.get(job_id=job_id, attempt=1).error or "")
    assert chaos_list("chaos:runs:flaky") == ["2"]  # the body ran once, on the retry


@pytest.mark.integration
def test_a_frozen_worker_thawed_after_its_job_was_rescued_records_nothing(worker_process):
    frozen = worker_process("frozen", queues=["default"], concurrency=1, pool="solo", **CHAOS_ENV)
    job_id = chaos_stepping_job.enqueue(key="f", steps=25, step_seconds=0.2).job_id
    wait_for(lambda: len(chaos_list("chaos:steps:f")) >= 2, timeout=30, message="the first run stepping")
    os.killpg(frozen.proc.pid, signal.SIGSTOP)
    try:
        worker_process("thawed", queues=["default"], concurrency=1, pool="solo", **CHAOS_ENV)
        row = _ended(job_id, timeout=45)  # rescued from the frozen worker, run by the other one
        assert row.state == JobState.SUCCEEDED
    finally:
        os.killpg(frozen.proc.pid, signal.SIGCONT)
    wait_for(
        lambda: "1:lease_lost" in chaos_list("chaos:ended:f"),
        timeout=20,
        message="the thawed run stopping at its checkpoint",
    )
    time.sleep(1)  # the stale run's delivery has ended; anything it would write is written

    row = _row(job_id)
    assert row.state == JobState.SUCCEEDED
    assert row.result == 2  # the second run's result
    assert row.attempt <= 2
    outcomes = _outcomes(job_id)
    assert outcomes.count("succeeded") == 1 and set(outcomes) <= {"lost", "succeeded"}, outcomes
    steps = chaos_list("chaos:steps:f")
    assert [s for s in steps if s.startswith("2:")] == [f"2:{i}" for i in range(25)]
    assert len([s for s in steps if s.startswith("1:")]) < 25  # the stale run stopped early
    assert chaos_list("chaos:ended:f") == ["2:done", "1:lease_lost"]


@pytest.mark.integration
def test_a_frozen_run_that_never_checks_its_lease_finishes_without_overwriting_the_rescuer(worker_process):
    frozen = worker_process("frozen2", queues=["default"], concurrency=1, pool="solo", **CHAOS_ENV)
    job_id = chaos_stepping_job.enqueue(key="nc", steps=20, step_seconds=0.2, check=False).job_id
    wait_for(lambda: len(chaos_list("chaos:steps:nc")) >= 2, timeout=30, message="the first run stepping")
    os.killpg(frozen.proc.pid, signal.SIGSTOP)
    try:
        worker_process("thawed2", queues=["default"], concurrency=1, pool="solo", **CHAOS_ENV)
        assert _ended(job_id, timeout=45).state == JobState.SUCCEEDED
        finished_at = _row(job_id).finished_at
    finally:
        os.killpg(frozen.proc.pid, signal.SIGCONT)
    wait_for(lambda: "1:done" in chaos_list("chaos:ended:nc"), timeout=20, message="the stale run's end")
    time.sleep(1)  # its outcome (and any write-behind) is written by now

    row = _row(job_id)
    assert (row.state, row.result, row.finished_at) == (JobState.SUCCEEDED, 2, finished_at)
    assert row.attempt == 2
    outcomes = _outcomes(job_id)
    assert outcomes.count("succeeded") == 1 and set(outcomes) <= {"lost", "succeeded"}, outcomes


def _spec(job_id: str) -> dict:
    """The job's spec exactly as the layer's sweeps build it to publish (rows.to_specs)."""
    return to_specs(run_sql(f"SELECT {SPEC} FROM {TABLE} WHERE id = %s", [db_id(job_id)]))[0]


@pytest.mark.integration
def test_a_pruned_jobs_stale_message_is_dropped_and_a_plain_send_task_is_adopted(worker_process):
    worker_process("pruned", queues=["default"], concurrency=1, pool="solo", **CHAOS_ENV)
    job_id = chaos_mark_job.enqueue(key="pruned", n=1).job_id
    assert _ended(job_id).state == JobState.SUCCEEDED
    spec = _spec(job_id)
    JobAttempt.objects.filter(job_id=job_id).delete()  # as the pruner does
    Job.objects.filter(pk=job_id).delete()

    assert job_publish(spec)  # the stale copy, as the layer publishes it
    # One solo worker takes one queue in order: once a job published after it ended, so did it.
    after = chaos_mark_job.enqueue(key="after", n=1).job_id
    assert _ended(after).state == JobState.SUCCEEDED
    assert chaos_list("chaos:runs:pruned") == ["1"]  # not run again
    assert not Job.objects.filter(pk=job_id).exists()  # nor adopted as a new job

    plain = current_app.send_task(chaos_mark_job.name, kwargs={"key": "plain", "n": 7}, queue="default")
    row = _ended(str(plain.id))
    assert row.state == JobState.SUCCEEDED and row.result == 7
    assert chaos_list("chaos:runs:plain") == ["7"]
