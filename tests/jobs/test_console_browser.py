"""Issue 19's console findings in a real headless Chromium (Debian's /usr/bin/chromium): the
dashboard's verdict banner changing by itself as the cluster changes, handler jobs by their
display names, and admin lists readable at 1,280 px. Screenshots go to /tmp/ops-shots/."""

from __future__ import annotations

import pytest
from django.utils import timezone

from jobs.models import Heartbeat
from jobs.observe import health
from tests.helpers import free_port
from tests.jobs import test_ops_browser as ops
from tests.jobs.test_ops_browser import SHOTS, wait_for

page = ops.page  # the logged-in operator's tab (a fixture of the console's browser tests)

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def level(tab) -> str:
    return tab.get_attribute("#verdict", "data-level") or ""


def test_the_banner_turns_healthy_then_down_without_a_reload(page, worker_process, settings):
    settings.HEALTH_CACHE_SECONDS = 1
    settings.SLACK_SIGNING_SECRET = settings.SLACK_BOT_TOKEN = ""
    settings.WEBHOOK_SIGNING_SECRET = ""
    settings.QUEUE_PROVIDER = "celery"
    health.readiness_reset()
    page.goto(f"{page.base}/admin/jobs/job/dashboard/?refresh=0")
    assert level(page) == "down"  # no worker answers yet
    assert "no worker answered" in page.inner_text("#verdict-workers")
    assert "celery -A project worker" in page.inner_text("#verdict-workers .verdict-fix")
    page.screenshot(path=str(SHOTS / "banner-down-no-worker.png"), full_page=False)

    Heartbeat.objects.create(name="beat", at=timezone.now())
    worker_process("banner", concurrency=2, CELERY_EXTRA_IMPORTS="tests.jobs.tasks")
    wait_for(lambda: level(page) == "healthy", timeout=30, what="the banner turning healthy")
    text = page.inner_text("#verdict")
    assert "Healthy" in text and "pii (warning)" in text and "Slack is not configured" in text
    page.screenshot(path=str(SHOTS / "banner-healthy-warnings.png"), full_page=False)

    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"  # the broker goes away
    wait_for(lambda: level(page) == "down", timeout=15, what="the banner turning down")
    assert "start Redis" in page.inner_text("#verdict-broker")
    assert 'section "The broker does not answer"' in page.inner_text("#verdict-broker")
    page.screenshot(path=str(SHOTS / "banner-down-broker.png"), full_page=False)


def test_handler_jobs_show_their_names_and_are_found_by_name_and_short_id(page, settings):
    from queue_handlers.services import enqueue_job

    settings.WEBHOOK_SIGNING_SECRET = "s3cret-for-signing"
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    hook = enqueue_job("webhook", {"url": "http://127.0.0.1:9/hook", "payload": {"n": 1}})
    enqueue_job("email", {"to": ["ops@example.com"], "subject": "hi", "body": "hello"})
    short = hook.job_id[:8]

    page.goto(f"{page.base}/admin/jobs/job/")
    names = page.locator("td.field-name").all_inner_texts()
    assert any(n.startswith("handler:webhook") for n in names)
    assert any(n.startswith("handler:email") for n in names)
    page.screenshot(path=str(SHOTS / "jobs-display-names.png"), full_page=False)

    for term in ("webhook", short):
        page.fill("#searchbar", term)
        page.press("#searchbar", "Enter")
        page.wait_for_load_state()
        rows = page.locator("#result_list tbody tr").all_inner_texts()
        assert len(rows) == 1 and short in rows[0] and "handler:webhook" in rows[0], (term, rows)
    page.screenshot(path=str(SHOTS / "jobs-search-short-id.png"), full_page=False)


def test_the_pii_detection_list_keeps_status_and_reason_on_screen_at_1280_px(page):
    from pii.models import Detection

    for n in range(5):
        Detection.objects.create(
            team_id="T0123456789ABCDEF",
            channel=f"C0PII{n:06d}ABCDEFGHIJ",
            user="U0AUTHOR00000000",
            ts=f"1733250000.{n:06d}",
            types={"email": 2, "phone_number": 1, "credit_card": 1, "iban": 1},
            actions={"delete_message": "cant_delete_message", "notify_author": "sent", "files": "n/a"},
            status="partial",
            reason="chat.delete refused: cant_delete_message (the installer is not an admin) " * 3,
        )
    _fits_at_1280(page, "/admin/pii/detection/", ("status", "reason"), "pii-detections-1280.png")


def test_the_widest_app_lists_fit_at_1280_px(page):
    """Every app's admin gets the same list style (the project's admin base template): the
    eleven-column e-mail attempt and sync run lists keep their last columns on screen."""
    from invoices.models import EmailAttempt
    from sync.models import SyncRun
    from tests.invoices.factories import invoice_with_lines

    now = timezone.now()
    for n in range(3):
        invoice = invoice_with_lines()
        EmailAttempt.objects.create(
            invoice=invoice, kind="invoice", recipient=invoice.customer_email, priority=5, status="sent"
        )
        SyncRun.objects.create(
            trigger="scheduled",
            job_id=f"0f6c2a9e-5b1d-4c3e-9a7f-{n:012d}",
            state="succeeded",
            started_at=now,
            finished_at=now,
            participants_total=123456,
            participants_succeeded=123450,
            participants_failed=6,
            activities_created=987654,
            activities_updated=12345,
        )
    _fits_at_1280(page, "/admin/invoices/emailattempt/", ("created_at", "sent_at"), "email-attempts-1280.png")
    _fits_at_1280(page, "/admin/sync/syncrun/", ("participants", "activities"), "sync-runs-1280.png")


def _fits_at_1280(page, path: str, last_columns: tuple[str, ...], shot: str) -> None:
    """The list's own box (it scrolls sideways when the table is wider than it): the last
    columns lie inside it and inside the window, and nothing is hidden sideways."""
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{page.base}{path}")
    page.screenshot(path=str(SHOTS / shot), full_page=False)
    edge = page.evaluate(
        "() => { const r = document.querySelector('#changelist .results').getBoundingClientRect();"
        " return Math.min(r.right, window.innerWidth); }"
    )
    for column in last_columns:
        box = page.locator(f"th.column-{column}").bounding_box()
        assert box is not None and box["x"] + box["width"] <= edge + 1, (path, column, box, edge)
    scroll = page.evaluate(
        "() => { const r = document.querySelector('#changelist .results'); "
        "return [r.scrollWidth, r.clientWidth]; }"
    )
    assert scroll[0] <= scroll[1] + 1, (path, scroll)
