"""The Tasks API's enqueue shortcuts (jobs.tasks_api) keep Django's behaviour: a Task validated
once is remembered, an invalid one is refused every time, results equal the constructor's, and
task_enqueued still reaches its receivers. No worker: rows are written, never published."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from django.utils import timezone

from jobs.tasks_api import DjangoTasksBackend
from jobs.tasks_api.compat import InvalidTask, TaskResult, TaskResultStatus, task_backends, task_enqueued
from jobs.tasks_api.results import result_build
from tests.jobs.dtasks import dt_add, dt_unique


def test_an_invalid_task_is_refused_every_time_after_a_valid_one_passed():
    narrow = DjangoTasksBackend("narrow", {"QUEUES": ["default"]})
    narrow.validate_task(dt_add)
    narrow.validate_task(dt_add)  # remembered: passes again
    assert dt_add in narrow._ready
    for _ in range(2):  # dt_unique's queue "emails" is not one of this backend's
        with pytest.raises(InvalidTask, match="emails"):
            narrow.validate_task(dt_unique)
    assert dt_unique not in narrow._ready
    with pytest.raises(InvalidTask, match="nope"):
        dt_add.using(queue_name="nope")  # Django's own check at .using(), after dt_add was remembered


def test_a_deferred_task_is_checked_every_time_and_not_remembered():
    backend = task_backends["default"]
    later = dt_add.using(run_after=timezone.now() + timedelta(hours=1))
    backend.validate_task(later)
    assert later not in backend._ready


def test_a_new_tasks_setting_makes_a_backend_that_checks_again(settings):
    task_backends["default"].validate_task(dt_unique)
    settings.TASKS = {"default": {"BACKEND": "jobs.tasks_api.DjangoTasksBackend", "QUEUES": ["default"]}}
    with pytest.raises(InvalidTask, match="emails"):
        task_backends["default"].validate_task(dt_unique)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((), {}),
        ((1, "a", 2.5, True, None), {"k": "v", "n": 3}),
        (((1, 2), [3, {"x": (4,)}]), {"nested": {"a": [1, (2, 3)]}}),
        ((b"bytes",), {"b": b"x"}),
        ([1, 2], None),
    ],
)
def test_result_build_equals_the_constructors_result(args, kwargs):
    now = timezone.now()
    built = result_build(
        task=dt_add,
        job_id="id-1",
        status=TaskResultStatus.READY,
        backend="default",
        args=args,
        kwargs=kwargs,
        enqueued_at=now,
        return_value=7,
    )
    made = TaskResult(
        task=dt_add,
        id="id-1",
        status=TaskResultStatus.READY,
        enqueued_at=now,
        started_at=None,
        last_attempted_at=None,
        finished_at=None,
        args=list(args),
        kwargs=dict(kwargs or {}),
        backend="default",
        errors=[],
        worker_ids=[],
    )
    object.__setattr__(made, "_return_value", 7)
    for name in [f.name for f in dataclasses.fields(TaskResult)]:  # every field Django declares
        assert getattr(built, name) == getattr(made, name), name
        assert type(getattr(built, name)) is type(getattr(made, name)), name
    assert built.args is not args and built.kwargs is not kwargs  # copies, as the constructor's


def test_result_build_refuses_what_json_cannot_hold_as_the_constructor_does():
    with pytest.raises(TypeError, match="Unsupported type"):
        result_build(
            task=dt_add, job_id="x", status=TaskResultStatus.READY, backend="default", args=(object(),)
        )


@pytest.mark.django_db
def test_enqueue_sends_task_enqueued_to_a_receiver_with_the_result_it_returns():
    seen: list[TaskResult] = []

    def receiver(sender, task_result, **kw):
        seen.append(task_result)

    task_enqueued.connect(receiver)
    try:
        result = dt_add.enqueue(1, 2)
    finally:
        task_enqueued.disconnect(receiver)
    assert seen == [result]
    assert result.status == TaskResultStatus.READY and result.args == [1, 2] and result.kwargs == {}


def test_result_build_uses_the_constructor_when_taskresults_fields_differ(monkeypatch):
    from jobs.tasks_api import results

    monkeypatch.setattr(results, "_BYPASS", False)  # as on a Django whose TaskResult changed
    built = result_build(task=dt_add, job_id="x", status=TaskResultStatus.READY, backend="default", args=(1,))
    assert built.args == [1] and built.kwargs == {}
    assert built.errors == [] and built.worker_ids == [] and built._return_value is None


@pytest.mark.django_db
def test_remembered_plans_keep_each_tasks_priority_and_run_after():
    """The backend remembers a valid Task's enqueue options: `.using()` variants of one task
    still get their own priority, and a deferred one its time, however the calls interleave."""
    from jobs.models import Job, JobState

    later = timezone.now() + timedelta(hours=1)
    ids = {}
    for _ in range(2):
        ids["first"] = dt_add.using(priority=100).enqueue(1, 1).id
        ids["last"] = dt_add.using(priority=-100).enqueue(1, 2).id
        ids["later"] = dt_add.using(run_after=later).enqueue(1, 3).id
        ids["plain"] = dt_add.enqueue(1, 4).id
    rows = {name: Job.objects.get(pk=job_id) for name, job_id in ids.items()}
    assert (rows["first"].priority, rows["last"].priority, rows["plain"].priority) == (0, 9, 5)
    assert rows["later"].state == JobState.SCHEDULED and rows["later"].scheduled_at == later
    assert rows["plain"].state == JobState.QUEUED and rows["plain"].scheduled_at is None
