"""The operator's console in a real headless Chromium (Debian's /usr/bin/chromium), with real
worker subprocesses on real Redis and PostgreSQL. Screenshots go to /tmp/ops-shots/."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings

from jobs.models import Job, JobState
from tests.jobs.test_ops_support import OPS_IMPORTS, ops_quick_job, ops_tracked_job

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
SHOTS = Path("/tmp/ops-shots")
pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def wait_for(cond: Callable[[], Any], timeout: float = 30, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what or cond}")


@pytest.fixture
def page(live_server, django_user_model, monkeypatch) -> Iterator[Any]:
    """A logged-in operator's browser tab."""
    assert os.path.exists(CHROMIUM), f"{CHROMIUM} missing: `make test` installs it (apt-get install chromium)"
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    django_user_model.objects.create_superuser("ops", "ops@example.com", "pw-ops-123")
    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            tab = browser.new_page(viewport={"width": 1400, "height": 1000})
            tab.base = live_server.url
            tab.goto(f"{live_server.url}/admin/login/?next=/admin/jobs/job/dashboard/%3Frefresh=0")
            tab.fill("#id_username", "ops")
            tab.fill("#id_password", "pw-ops-123")
            tab.click("input[type=submit]")
            tab.wait_for_selector("#queues")
            yield tab
        finally:
            browser.close()


def cell(tab: Any, queue: str, column: str) -> int:
    return int(tab.inner_text(f"#queue-{queue} .c-{column}").strip() or 0)


def dashboard(tab: Any) -> None:
    tab.goto(f"{tab.base}/admin/jobs/job/dashboard/?refresh=0")
    tab.wait_for_selector("#queues")


def test_operator_watches_counts_pauses_and_resumes_a_queue(page, worker_process):
    worker_process("ops1", queues=["events", "default"], concurrency=2, CELERY_EXTRA_IMPORTS=OPS_IMPORTS)

    # Counts change while the worker runs jobs.
    before = int(page.inner_text("#hour-totals").split()[0])
    for n in range(5):
        ops_quick_job.enqueue(n=n)
    wait_for(lambda: Job.objects.filter(task=ops_quick_job.name, state=JobState.SUCCEEDED).count() == 5)
    dashboard(page)
    assert int(page.inner_text("#hour-totals").split()[0]) == before + 5

    # Pause: the row says so, and new jobs wait behind it.
    page.click("#queue-events button.pause")
    page.wait_for_selector("#queue-events .paused-flag")
    time.sleep(1.5)  # the broadcast reaches the worker
    held = [ops_quick_job.enqueue(n=100 + n).job_id for n in range(3)]
    time.sleep(3)
    dashboard(page)
    assert cell(page, "events", "queued") == 3
    assert "3 waiting behind it" in page.inner_text("#queue-events")
    assert Job.objects.filter(pk__in=held, state=JobState.QUEUED).count() == 3
    page.screenshot(path=str(SHOTS / "dashboard-paused.png"), full_page=True)

    # Resume: they run.
    page.click("#queue-events button.resume")
    page.wait_for_selector("#queue-events .pause")
    wait_for(
        lambda: Job.objects.filter(pk__in=held, state=JobState.SUCCEEDED).count() == 3, what="resumed jobs"
    )
    dashboard(page)
    assert cell(page, "events", "queued") == 0
    page.screenshot(path=str(SHOTS / "dashboard.png"), full_page=True)


def test_a_worker_started_while_a_queue_is_paused_does_not_take_its_jobs(page, worker_process):
    page.click("#queue-events button.pause")
    page.wait_for_selector("#queue-events .paused-flag")
    held = ops_quick_job.enqueue(n=1).job_id
    worker_process("ops2", queues=["events"], concurrency=1, CELERY_EXTRA_IMPORTS=OPS_IMPORTS)
    time.sleep(3)
    assert Job.objects.get(pk=held).state == JobState.QUEUED
    page.click("#queue-events button.resume")
    wait_for(lambda: Job.objects.get(pk=held).state == JobState.SUCCEEDED, what="job after resume")


def test_operator_opens_a_failed_job_retries_it_and_it_succeeds(page, worker_process):
    from tests.jobs.tasks import flaky_job

    worker_process("ops3", queues=["default"], concurrency=2, CELERY_EXTRA_IMPORTS=OPS_IMPORTS)
    failed = flaky_job.enqueue(key="ops", fail_times=3).job_id
    wait_for(lambda: Job.objects.get(pk=failed).state == JobState.FAILED, timeout=60, what="failed for good")

    page.goto(f"{page.base}/admin/jobs/job/?state__exact=failed")
    page.click(f"a[href*='{failed}']")
    page.wait_for_selector("#job-state")
    assert page.inner_text("#job-state") == "failed"
    assert "ConnectionError: transient failure 3" in page.inner_text("#last-error")
    assert "fail_times" in page.inner_text("#job-args")
    page.screenshot(path=str(SHOTS / "job-failed.png"), full_page=True)

    page.click("#retry")
    page.wait_for_selector(".messagelist .success")
    # Retry is the job's own: the same job runs again (no second row for the same payload).
    wait_for(lambda: Job.objects.get(pk=failed).state == JobState.SUCCEEDED, what="the retry")
    assert not Job.objects.filter(retry_of=failed).exists()
    page.reload()
    assert page.inner_text("#job-state") == "succeeded"


def test_a_failed_jobs_page_lists_every_attempt(page, worker_process):
    from tests.jobs.tasks import flaky_job

    worker_process("ops4", queues=["default"], concurrency=2, CELERY_EXTRA_IMPORTS=OPS_IMPORTS)
    failed = flaky_job.enqueue(key="attempts", fail_times=3).job_id
    wait_for(lambda: Job.objects.get(pk=failed).state == JobState.FAILED, timeout=60, what="failed for good")
    page.goto(f"{page.base}/admin/jobs/job/{failed}/change/")
    rows = page.query_selector_all("#attempts tr.attempt")
    assert [r.query_selector("td").inner_text() for r in rows] == ["1", "2", "3"]
    assert page.inner_text("#attempts").count("ConnectionError") == 3
    assert "ops4@" in page.inner_text("#attempts")
    page.screenshot(path=str(SHOTS / "job-attempts.png"), full_page=True)


def test_a_queue_limit_of_two_holds_across_two_worker_processes(page, worker_process):
    for name in ("lim1", "lim2"):
        worker_process(name, queues=["pii_detection"], concurrency=3, CELERY_EXTRA_IMPORTS=OPS_IMPORTS)
    page.fill("#queue-pii_detection input[name=limit]", "2")
    page.click("#queue-pii_detection button.set-limit")
    page.wait_for_selector("#queue-pii_detection .limit-flag")
    for n in range(12):
        ops_tracked_job.enqueue(n=n)
    client = redis.Redis.from_url(settings.REDIS_URL)
    wait_for(lambda: client.llen("test:ops_tracked_done") == 12, timeout=60, what="12 tracked jobs")
    assert max(int(v) for v in client.lrange("test:ops_max", 0, -1)) <= 2


def test_reenqueue_lost_after_redis_comes_back_empty(page, worker_process, settings):
    settings.JOBS_LOST_AFTER = 2
    lost = [ops_quick_job.enqueue(n=200 + n).job_id for n in range(4)]
    client = redis.Redis.from_url(settings.REDIS_URL)
    for key in client.scan_iter(count=1000):  # Redis restarted without persistence
        if key != b"tasksvc:test-run":
            client.delete(key)
    time.sleep(2.5)
    dashboard(page)
    assert "4 job(s) have waited" in page.inner_text("#lost-banner")
    page.click("#lost-link")
    assert "4" in page.inner_text("#confirm-summary strong")
    assert "events" in page.inner_text("#content-main")
    page.click("#confirm-yes")
    page.wait_for_selector(".messagelist .success")
    assert "4 job(s) re-enqueued" in page.inner_text(".messagelist")

    worker_process("ops5", queues=["events"], concurrency=2, CELERY_EXTRA_IMPORTS=OPS_IMPORTS)
    wait_for(
        lambda: Job.objects.filter(pk__in=lost, state=JobState.SUCCEEDED).count() == 4, what="lost jobs ran"
    )
    assert sorted(int(v) for v in client.lrange("test:ops_done", 0, -1)) == [200, 201, 202, 203]  # each once
