"""One dispatch task, run in this process by jobs.testing's drain() (the real claim, retry and
failure path, no worker): results, retries, failures, stats and health."""

from __future__ import annotations

import pytest
from django.test import Client

from jobs import Job
from jobs.observe.health import run_checks
from jobs.testing import assert_enqueued, drain, manual
from queue_handlers.monitoring import get_processing_stats, health_check
from queue_handlers.services import enqueue_job, handler_job_result
from queue_handlers.tasks import handler_job_task
from tests.queue_handlers.conftest import enqueue, register
from tests.queue_handlers.handlers_for_tests import CustomEchoHandler, NoHandleJob

pytestmark = pytest.mark.django_db


def test_a_registered_handler_runs_through_the_one_dispatch_task():
    register("custom_job", CustomEchoHandler)
    with manual():
        res = enqueue("custom_job", {"text": "hello"})
        assert_enqueued(handler_job_task, job_type="custom_job", handler_job_id=res.job_id)
        assert drain("handlers") == {"succeeded": 1}
    job = Job.objects.get(pk=res.job_id)
    assert job.state == "succeeded" and job.attempt == 1
    assert job.task == "queue_handlers.tasks.handler_job_task"
    assert job.result == {"job_type": "custom_job", "chars": 5}  # a summary, not the content
    assert handler_job_result(job_id=res.job_id) == {"echo": "HELLO", "attempt": 1}


def test_transient_errors_are_retried_with_backoff_then_succeed():
    register("custom_job", CustomEchoHandler)
    with manual():
        res = enqueue("custom_job", {"text": "again", "fail_times": 1})
        assert drain("handlers") == {"retrying": 1, "succeeded": 1}
    job = Job.objects.get(pk=res.job_id)
    assert job.state == "succeeded" and job.attempt == 2
    assert handler_job_result(job_id=res.job_id)["attempt"] == 2


def test_permanent_errors_fail_once_and_exhausted_retries_fail_with_the_reason():
    register("custom_job", CustomEchoHandler)
    with manual():
        refused = enqueue("custom_job", {"text": "x", "permanent": True})
        exhausted = enqueue("custom_job", {"text": "x", "fail_times": 99})
        assert drain("handlers") == {"failed": 2, "retrying": 2}
    job = Job.objects.get(pk=refused.job_id)
    assert job.state == "failed" and job.attempt == 1
    assert "PermanentJobError: the echo service refuses this text" in job.last_error
    job = Job.objects.get(pk=exhausted.job_id)
    assert job.state == "failed" and job.attempt == 3  # the handler's max_attempts, not the task's cap
    assert "RetriesExhausted: gave up after 3 attempt(s): TransientJobError" in job.last_error

    stats = get_processing_stats()["types"]["custom_job"]
    assert stats["failed"] == 2 and stats["retried"] == 1 and stats["succeeded"] == 0


def test_a_failed_job_can_be_retried_from_the_admin_with_its_payload():
    import redis
    from django.conf import settings

    from jobs.console.actions import job_retry

    register("custom_job", CustomEchoHandler)
    r = redis.Redis.from_url(settings.REDIS_URL)
    r.set("test:echo-down", 1)
    with manual():
        res = enqueue("custom_job", {"text": "later", "refuse_while": "test:echo-down"})
        assert drain("handlers") == {"failed": 1}
        first = Job.objects.get(pk=res.job_id)
        r.delete("test:echo-down")
        again_id = job_retry(job=first)
        assert drain("handlers") == {"succeeded": 1}
    again = Job.objects.get(pk=again_id)
    assert again.pk == first.pk and again.state == "succeeded"  # the same job, run again
    assert handler_job_result(job_id=str(first.id))["echo"] == "LATER"


def test_a_handler_that_breaks_after_enqueue_fails_the_job_clearly():
    register("custom_job", CustomEchoHandler)
    with manual():
        res = enqueue("custom_job", {"text": "x"}, countdown=1)
        register("custom_job", "tests.queue_handlers.gone:Handler")  # deploy broke it
        assert drain("handlers") == {"failed": 1}  # the scheduled job counts as due
    job = Job.objects.get(pk=res.job_id)
    assert job.state == "failed" and "cannot import tests.queue_handlers.gone" in job.last_error


def test_stats_count_outcomes_and_time_successes():
    register("custom_job", CustomEchoHandler)
    with manual():
        for i in range(3):
            enqueue("custom_job", {"text": f"t{i}"})
        enqueue("custom_job", {"text": "x", "permanent": True})
        assert drain("handlers") == {"succeeded": 3, "failed": 1}
    stats = get_processing_stats(window=600)
    custom = stats["types"]["custom_job"]
    assert custom["succeeded"] == 3 and custom["failed"] == 1 and custom["retried"] == 0
    assert custom["waiting_for_rate_limit"] == 0 and custom["queued"] == 0
    assert 0 <= custom["mean_s"] <= custom["p95_s"] < 5
    assert stats["types"]["email"]["succeeded"] == 0  # every known type is listed


@pytest.mark.django_db(transaction=True)  # the depth is real messages: published on commit
def test_health_reports_registry_broker_and_queue_depth(db):
    for i in range(3):  # no worker: they wait on the broker
        enqueue_job("ai_processing", {"prompt": f"p{i}"})
    report = health_check()
    assert report["ok"] is True
    assert report["broker"]["ok"] is True and report["queue_depth"]["handlers"] == 3
    assert report["problems"] == []

    register("lazy_job", NoHandleJob)
    report = health_check()
    assert report["ok"] is False and "does not implement handle_job" in report["problems"][0]


@pytest.mark.django_db(transaction=True)  # the depth is real messages: published on commit
def test_health_fails_past_the_depth_limit_and_when_the_broker_is_down(db, settings):
    from celery import current_app

    settings.HANDLER_HEALTH_MAX_DEPTH = 1
    for i in range(2):
        enqueue_job("ai_processing", {"prompt": f"p{i}"})
    report = health_check()
    assert report["ok"] is False and report["too_deep"] == ["handlers"]

    settings.HANDLER_HEALTH_MAX_DEPTH = 100
    assert health_check()["ok"] is True
    conf = current_app.conf
    saved = conf.broker_url, conf.broker_read_url, conf.broker_write_url
    conf.broker_url = conf.broker_read_url = conf.broker_write_url = "redis://127.0.0.1:1/0"
    try:
        report = health_check()
    finally:
        conf.broker_url, conf.broker_read_url, conf.broker_write_url = saved
    assert report["ok"] is False and report["broker"]["ok"] is False


def test_healthz_has_a_handlers_section(db):
    body = run_checks(["handlers"])[1]
    assert body["checks"]["handlers"]["ok"] is True


def test_admin_stats_page_needs_a_login_and_shows_every_type(db, admin_client):
    url = "/admin/queue_handlers/handlerstats/"
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]
    register("custom_job", CustomEchoHandler)
    page = admin_client.get(url + "?window=24h")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Handler processing stats" in text and "Waiting for rate-limit slot" in text
    for job_type in ("email", "ai_processing", "thought_extraction", "webhook", "custom_job"):
        assert f"<td>{job_type}</td>" in text
    assert "CustomEchoHandler" in text and "registered" in text
    assert admin_client.get("/admin/").content.decode().count("Processing stats") >= 1
