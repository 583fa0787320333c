"""Health for two audiences: public liveness (fast, silent) and readiness behind credentials."""

from __future__ import annotations

import time

import pytest
from django.test import Client

from jobs.observe import health


@pytest.fixture(autouse=True)
def _fresh_report():
    health.readiness_reset()
    yield
    health.readiness_reset()


def test_liveness_is_fast_tiny_and_says_nothing(db, django_assert_num_queries):
    client = Client()
    client.get("/healthz")  # warm the URL resolver
    started = time.perf_counter()
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    elapsed_ms = (time.perf_counter() - started) * 1000
    assert response.status_code == 200
    assert response.content == b"ok"
    assert elapsed_ms < 50, elapsed_ms


@pytest.mark.django_db
def test_readiness_and_metrics_are_refused_without_credentials(settings):
    settings.HEALTH_TOKEN = "tok-123456"
    client = Client()
    for url in ("/healthz/ready", "/metrics"):
        refused = client.get(url)
        assert refused.status_code == 401
        assert b"worker" not in refused.content and b"database" not in refused.content
        wrong = client.get(url, HTTP_AUTHORIZATION="Bearer nope")
        assert wrong.status_code == 401


@pytest.mark.django_db
def test_readiness_with_the_token_names_what_fails_and_what_to_do(settings):
    from tests.helpers import free_port

    settings.HEALTH_TOKEN = "tok-123456"
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    response = Client().get("/healthz/ready", HTTP_AUTHORIZATION="Bearer tok-123456")
    body = response.json()
    assert response.status_code == 503  # no broker and beat never ticked in this test
    assert {"broker", "workers", "beat"} <= set(body["failing"])
    assert "Redis" in body["checks"]["broker"]["fix"]
    assert "broker unreachable" in body["checks"]["workers"]["error"]
    assert "celery -A project worker" in body["checks"]["workers"]["fix"]
    assert body["checks"]["beat"]["error"] == "beat has never ticked"
    assert "celery -A project beat" in body["checks"]["beat"]["fix"]
    assert body["checks"]["database"]["ok"] is True


@pytest.mark.django_db
def test_readiness_is_cached_for_a_few_seconds(admin_client, settings, monkeypatch):
    settings.HEALTH_CACHE_SECONDS = 30
    calls = []
    real = health.run_checks
    monkeypatch.setattr(health, "run_checks", lambda *a, **k: calls.append(1) or real(["database"]))
    first = admin_client.get("/healthz/ready").json()
    second = admin_client.get("/healthz/ready").json()
    assert len(calls) == 1
    assert first["generated_at"] == second["generated_at"]


@pytest.mark.django_db(transaction=True)
def test_worker_ping_returns_as_soon_as_the_workers_answered(celery_worker, settings):
    settings.HEALTH_PING_TIMEOUT = 3.0
    health._Expected.count = 0
    first = health.check_workers()  # counts the workers (waits the timeout once)
    assert first["ok"] and first["workers"]
    second = health.check_workers()
    assert second["workers"] == first["workers"]
    assert second["ping_ms"] < 1000, second  # not the 3 s timeout


@pytest.mark.django_db
def test_metrics_with_a_staff_login_show_queue_depth(admin_client):
    from jobs.models import Job, JobState

    Job.objects.create(task="x.y", queue="events", state=JobState.QUEUED)
    response = admin_client.get("/metrics")
    assert response.status_code == 200
    text = response.content.decode()
    assert 'jobs_queue_depth{queue="events",state="queued"} 1.0' in text
    assert "jobs_duration_seconds" in text or "jobs_started_total" in text


def test_health_command_prints_the_readiness_report(db, settings):
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    from tests.helpers import free_port

    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"
    out = StringIO()
    with pytest.raises(CommandError, match="failing"):
        call_command("health", stdout=out)
    assert '"fix"' in out.getvalue()
