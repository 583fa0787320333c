"""The settings page and the lists in the admin."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from emails import polling
from emails.config import PERIODIC_TASK_NAME
from emails.models import EmailSettings, Suppression
from emails.processor import ses_messages_process
from tests.emails import payloads as p
from tests.emails.conftest import msgs

pytestmark = pytest.mark.django_db
CHANGE = reverse("admin:emails_emailsettings_change", args=[1])


@pytest.fixture
def staff(client, django_user_model):
    user = django_user_model.objects.create_superuser("ops", "ops@example.com", "pw-ops-123")
    client.force_login(user)
    return client


def form(**changes):
    s = EmailSettings.objects.get(pk=1)
    data = {
        f: getattr(s, f)
        for f in (
            "polling_interval_ms",
            "max_messages_per_poll",
            "wait_time_seconds",
            "poll_budget_seconds",
            "queue_url",
            "aws_region",
        )
    }
    for flag in ("system_enabled", "ses_events_enabled", "sqs_polling_enabled"):
        if getattr(s, flag):
            data[flag] = "on"
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_the_settings_list_opens_the_one_record(staff, queue_url):
    response = staff.get(reverse("admin:emails_emailsettings_changelist"))
    assert response.status_code == 302 and response["Location"] == CHANGE
    page = staff.get(CHANGE).content.decode()
    assert "secret" not in page.lower() and "access_key" not in page.lower()


def test_switching_and_retiming_in_the_admin_updates_the_beat_row(staff, queue_url):
    response = staff.post(CHANGE, form(sqs_polling_enabled="on", polling_interval_ms=12_000))
    assert response.status_code == 302
    row = PeriodicTask.objects.get(name=PERIODIC_TASK_NAME)
    assert row.enabled and row.interval.every == 12
    assert polling.status()["enabled"] is True

    staff.post(CHANGE, form(sqs_polling_enabled=None))
    assert not PeriodicTask.objects.get(name=PERIODIC_TASK_NAME).enabled
    assert polling.status()["enabled"] is False


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"polling_interval_ms": 500}, "greater than or equal to 1000"),
        ({"max_messages_per_poll": 11}, "less than or equal to 10"),
        ({"sqs_polling_enabled": "on", "queue_url": ""}, "needs a queue URL"),
    ],
)
def test_invalid_values_in_the_admin_show_an_error_and_change_nothing(staff, queue_url, changes, message):
    before = EmailSettings.objects.values().get()
    response = staff.post(CHANGE, form(**changes))
    assert response.status_code == 200 and message in response.content.decode()
    assert EmailSettings.objects.values().get() == before


def test_lists_show_masked_addresses_and_suppressions_are_editable(staff):
    ses_messages_process(messages=msgs([p.sns(p.ses_event("Bounce", "b", to=["jane@example.com"]))]))

    for name in ("suppression", "emailevent", "emaillog"):
        page = staff.get(reverse(f"admin:emails_{name}_changelist")).content.decode()
        assert "jane@example.com" not in page
    assert "j***@example.com" in staff.get(reverse("admin:emails_suppression_changelist")).content.decode()

    staff.post(
        reverse("admin:emails_suppression_add"),
        {"address": "Manual@Example.com", "reason": "manual", "detail": "asked us"},
    )
    assert Suppression.objects.filter(address="manual@example.com", reason="manual").exists()
    found = staff.get(reverse("admin:emails_suppression_changelist"), {"q": "jane@example.com"})
    assert "1 result" in found.content.decode()
