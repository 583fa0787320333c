"""What a job's run logs: a start and a success are DEBUG lines (the hot path of every delivery),
what needs a look stays INFO, and every event is still counted and signalled with its outcome."""

import logging

import pytest

from jobs import telemetry
from jobs.testing import drain, manual
from tests.jobs.tasks import counted_job, flaky_job

pytestmark = pytest.mark.django_db


def _events(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "jobs.telemetry" and r.levelno == level]


def test_a_success_logs_at_debug_and_a_retry_at_info(caplog):
    caplog.set_level(logging.INFO, logger="jobs.telemetry")
    with manual():
        counted_job.enqueue(n=1)
        flaky_job.enqueue(key="levels", fail_times=1)  # one retry, then success
        assert drain("default") == {"succeeded": 2, "retrying": 1}
    assert _events(caplog, logging.INFO) == ["retry"]  # no start/finish lines at INFO
    caplog.clear()
    caplog.set_level(logging.DEBUG, logger="jobs.telemetry")
    with manual():
        counted_job.enqueue(n=2)
        assert drain("default") == {"succeeded": 1}
    assert _events(caplog, logging.DEBUG) == ["start", "finish"]


def test_every_success_is_counted_and_signalled_with_its_outcome():
    seen: list[dict] = []

    def receiver(sender, **fields):
        seen.append(fields)

    telemetry.job_finished.connect(receiver, dispatch_uid="test.levels")
    before = telemetry.counts["finish"]
    try:
        with manual():
            counted_job.enqueue(n=1)
            counted_job.enqueue(n=2)
            drain("default")
    finally:
        telemetry.job_finished.disconnect(dispatch_uid="test.levels")
    assert telemetry.counts["finish"] - before == 2
    assert [f["outcome"] for f in seen] == ["succeeded", "succeeded"]
