"""jobs.E001: `manage.py check` fails when a job's queue is not declared or not consumed."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from jobs.console.checks import check_job_queues


def test_the_project_as_shipped_passes_the_queue_check():
    assert check_job_queues() == []
    call_command("check", stdout=StringIO())


def test_a_queue_missing_from_a_worker_list_fails_manage_py_check(tmp_path, settings):
    for name in ("Procfile", "docker-compose.yml"):
        text = (settings.BASE_DIR / name).read_text()
        (tmp_path / name).write_text(text.replace("events,", ""))  # no worker consumes events
    settings.BASE_DIR = tmp_path
    errors = check_job_queues()
    assert {e.id for e in errors} == {"jobs.E001"}
    messages = " ".join(e.msg for e in errors)
    assert "pii.tasks.slack_message_scan_task runs on queue 'events'" in messages
    assert "Procfile" in messages and "docker-compose.yml" in messages
    with pytest.raises(SystemCheckError, match="jobs.E001"):
        call_command("check", stdout=StringIO(), stderr=StringIO())


def test_a_queue_missing_from_celery_queues_fails(monkeypatch):
    from project.celery import app

    monkeypatch.delitem(app.amqp.queues, "sync")  # as if task_queues left it out
    errors = check_job_queues()
    assert any("'sync', which Celery's task_queues does not list" in e.msg for e in errors)


def test_no_task_routes_remain():
    from project.celery import app

    assert not app.conf.task_routes


def test_the_worker_command_readiness_suggests_consumes_every_declared_queue():
    """Readiness's fix for "no worker" is a command built from Celery's task_queues, so it names
    the invoice queues too (a hand-written list once left them out)."""
    from jobs.observe.health import fix_for
    from project.celery import QUEUES

    command = fix_for("workers").split("`")[1]
    assert command.startswith("celery -A project worker")
    consumed = command.split("-Q ")[1].split(",")
    assert sorted(consumed) == sorted(QUEUES)
    assert {"invoices_priority", "invoices_regular"} <= set(consumed)
