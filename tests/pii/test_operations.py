"""Retention and rescue (the seed's Pruner and Lifeline) and the event-id pruning."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from jobs import Job
from jobs.plugins.pruner import jobs_prune
from pii.models import SlackEvent
from pii.services import slack_events_prune

pytestmark = pytest.mark.django_db


def test_pii_jobs_keep_the_seeds_retention():
    # Rescue timing belongs to the jobs layer (issue 10 changes it); retention is the seed's.
    assert settings.JOBS_PRUNE_AFTER_DAYS == 7
    assert "events" not in settings.JOBS_PRUNE_AFTER_DAYS_BY_QUEUE
    assert "pii_detection" not in settings.JOBS_PRUNE_AFTER_DAYS_BY_QUEUE


def test_pii_jobs_are_pruned_after_seven_days():
    now = timezone.now()
    for age in (8, 6):
        Job.objects.create(
            task="pii.tasks.slack_message_scan_task",
            queue="events",
            state="succeeded",
            finished_at=now - timedelta(days=age),
            enqueued_at=now - timedelta(days=age),
        )
    jobs_prune(now=now)
    assert [j.finished_at.date() for j in Job.objects.all()] == [(now - timedelta(days=6)).date()]


def test_old_event_ids_are_forgotten():
    old = SlackEvent.objects.create(event_id="Ev-old")
    SlackEvent.objects.filter(pk=old.pk).update(received_at=timezone.now() - timedelta(days=8))
    SlackEvent.objects.create(event_id="Ev-new")
    assert slack_events_prune() == 1
    assert list(SlackEvent.objects.values_list("event_id", flat=True)) == ["Ev-new"]


def test_admin_lists_show_no_pii(admin_client):
    from pii.models import Detection

    Detection.objects.create(
        team_id="T1", channel="C1", user="U1", ts="1.2", types={"EMAIL": 1}, redacted_excerpt="mail [EMAIL]"
    )
    page = admin_client.get("/admin/pii/detection/").content.decode()
    assert "EMAIL×1" in page and "[EMAIL]" not in page
