"""The admin in a real headless Chromium (Debian's /usr/bin/chromium): switch polling off and
on again, and see the beat row and status() follow."""

from __future__ import annotations

import os

import pytest
from django_celery_beat.models import PeriodicTask

from emails import polling
from emails.config import PERIODIC_TASK_NAME

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def beat_enabled() -> bool:
    return PeriodicTask.objects.get(name=PERIODIC_TASK_NAME).enabled


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_operator_switches_polling_off_and_on_in_the_admin(
    live_server, queue_url, django_user_model, monkeypatch
):
    # CI installs chromium: a missing browser is a failure, not a skip.
    assert os.path.exists(CHROMIUM), f"{CHROMIUM} missing: apt-get install chromium"
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the ORM calls below are sync.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    django_user_model.objects.create_superuser("ops", "ops@example.com", "pw-ops-123")
    polling.enable_polling(first_poll=False)
    assert beat_enabled()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page()
            page.goto(f"{live_server.url}/admin/login/?next=/admin/emails/emailsettings/")
            page.fill("#id_username", "ops")
            page.fill("#id_password", "pw-ops-123")
            page.click("input[type=submit]")
            page.wait_for_selector("#id_sqs_polling_enabled")
            assert page.is_checked("#id_sqs_polling_enabled")

            page.uncheck("#id_sqs_polling_enabled")
            page.click("input[name=_continue]")
            page.wait_for_selector(".messagelist .success")
            assert not page.is_checked("#id_sqs_polling_enabled")
            assert "disabled" in page.inner_text(".field-beat_row")
            assert not beat_enabled()
            assert polling.status()["enabled"] is False

            page.check("#id_sqs_polling_enabled")
            page.click("input[name=_continue]")
            page.wait_for_selector(".messagelist .success")
            assert "enabled" in page.inner_text(".field-beat_row")
            assert beat_enabled() and polling.status()["enabled"] is True
        finally:
            browser.close()
