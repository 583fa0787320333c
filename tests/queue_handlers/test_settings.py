"""A job type's rate limit changed in the admin reaches the jobs layer's limiter at the next job
start, no restart; it is validated and audited. E-mails go to a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry

from jobs.models import Job, JobState
from jobs.testing import drain, manual
from queue_handlers.models import HandlerRateLimit
from tests.queue_handlers.conftest import enqueue

pytestmark = pytest.mark.django_db
PAGE = "/admin/queue_handlers/handlerratelimit/"


def send(n: int, tag: str) -> dict[str, int]:
    with manual():
        for i in range(n):
            enqueue("email", {"to": f"user{i}@example.com", "subject": f"{tag} {i}"})
        return drain("handlers", with_scheduled=False)  # jobs deferred to a later slot stay waiting


def test_a_limit_set_in_the_admin_holds_the_next_jobs_and_a_raised_one_lets_them_go(
    admin_client, smtp, settings
):
    settings.HANDLER_RATE_LIMITS = {"email": "100/60s"}  # the environment's
    # when an operator sets e-mail to one per hour
    response = admin_client.post(f"{PAGE}add/", {"job_type": "email", "rate_limit": "1/3600s"})
    assert response.status_code == 302
    # then of three e-mails one is sent and two wait for their slot (deferred, not dropped)
    assert send(3, "held") == {"succeeded": 1, "snoozed": 2}
    assert len(smtp.messages) == 1
    waiting = Job.objects.filter(state=JobState.SCHEDULED, task="queue_handlers.tasks.handler_job_task")
    assert waiting.count() == 2 and all(j.deferrals == 1 for j in waiting)
    # when the limit is raised, the next jobs start at once
    row = HandlerRateLimit.objects.get()
    admin_client.post(f"{PAGE}{row.pk}/change/", {"job_type": "email", "rate_limit": "50/60s"})
    assert send(2, "freed") == {"succeeded": 2}
    # and both changes are in the admin log, old and new value named
    messages = [e.get_change_message() for e in LogEntry.objects.order_by("action_time")]
    assert messages == ["Set email: 100/60s (default) → 1/3600s.", "Changed: Rate limit: 1/3600s → 50/60s."]
    assert "1/3600s → 50/60s" in admin_client.get(f"{PAGE}{row.pk}/change/").content.decode()
    listing = admin_client.get(PAGE).content.decode()
    assert "50/60s" in listing and "100/60s" in listing  # the limit, and what applies without it


def test_a_malformed_limit_is_refused_with_a_clear_error(admin_client):
    response = admin_client.post(f"{PAGE}add/", {"job_type": "email", "rate_limit": "lots"})
    assert response.status_code == 200
    assert "rate limit &#x27;lots&#x27; is not of the form &#x27;100/60s&#x27;" in response.content.decode()
    assert not HandlerRateLimit.objects.exists()


def test_deleting_the_row_goes_back_to_the_environment(admin_client, smtp, settings):
    settings.HANDLER_RATE_LIMITS = {"email": "1/3600s"}
    row = HandlerRateLimit.objects.create(job_type="email", rate_limit="")  # no limit, from the admin
    assert send(2, "unlimited") == {"succeeded": 2}
    admin_client.post(f"{PAGE}{row.pk}/delete/", {"post": "yes"})
    assert send(2, "env") == {"succeeded": 1, "snoozed": 1}  # the environment's 1 per hour
    assert LogEntry.objects.get().object_repr == "email: no limit"
