"""No-op polls leave the history after a short retention; polls that did work and real jobs stay."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from jobs.models import Job, JobState
from jobs.plugins.pruner import is_noop, jobs_prune_noop

POLL = "invoices.tasks.invoice_queues_poll_task"


def test_what_counts_as_a_poll_that_did_nothing():
    assert is_noop(None) and is_noop(0) and is_noop({})
    assert is_noop({"received": 0, "processed": 0})
    assert is_noop({"skipped": "polling disabled", "received": 0})
    assert not is_noop({"received": 3, "processed": 3})
    assert not is_noop({"priority": {"received": 1}})
    assert not is_noop(5)


@pytest.mark.django_db
def test_prune_deletes_old_noop_polls_only(settings):
    settings.JOBS_POLL_TASKS = [POLL]
    settings.JOBS_NOOP_KEEP_SECONDS = 3600
    now = timezone.now()
    old, recent = now - timedelta(hours=2), now - timedelta(minutes=10)

    def row(task: str, state: str, finished, result) -> Job:
        return Job.objects.create(
            task=task, queue="sqs_polling", state=state, finished_at=finished, result=result
        )

    noop_old = [row(POLL, JobState.SUCCEEDED, old, {"received": 0}) for _ in range(7)]
    worked = row(POLL, JobState.SUCCEEDED, old, {"received": 2})
    failed_poll = row(POLL, JobState.FAILED, old, None)
    noop_recent = row(POLL, JobState.SUCCEEDED, recent, {"received": 0})
    other = row("emails.tasks.other", JobState.SUCCEEDED, old, None)

    assert jobs_prune_noop(now=now, batch=3) == 7  # pages of 3 walk past the poll that did work
    left = set(Job.objects.values_list("pk", flat=True))
    assert not left & {j.pk for j in noop_old}
    assert {worked.pk, failed_poll.pk, noop_recent.pk, other.pk} <= left
