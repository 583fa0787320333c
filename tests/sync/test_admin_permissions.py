"""Starting a sync is a change: a view-only staff login neither sees "sync now" nor can post it."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from jobs import Job
from sync.models import Participant

pytestmark = pytest.mark.django_db
SYNC = "sync.tasks.sync_all_task"


def _staff(django_user_model, *codenames: str) -> Client:
    user = django_user_model.objects.create_user(username="ops", password="pw-ops-123", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="sync", codename__in=codenames)
    )
    client = Client()
    client.force_login(user)
    return client


def test_a_view_only_login_cannot_start_a_sync(django_user_model):
    participant = Participant.objects.create(name="Ada")
    viewer = _staff(django_user_model, "view_syncrun", "view_participant")

    runs = viewer.get("/admin/sync/syncrun/").content.decode()
    people = viewer.get("/admin/sync/participant/").content.decode()
    assert "Run a full sync now" not in runs and "sync-now" not in runs
    assert "sync_selected" not in people

    assert viewer.post("/admin/sync/syncrun/sync-now/").status_code == 403
    viewer.post("/admin/sync/syncrun/", {"action": "sync_all_now"})
    viewer.post("/admin/sync/participant/", {"action": "sync_selected", "_selected_action": [participant.pk]})
    assert not Job.objects.filter(task=SYNC).exists()  # nothing was started


def test_the_change_permission_starts_it(django_user_model):
    participant = Participant.objects.create(name="Ada")
    operator = _staff(
        django_user_model, "view_syncrun", "change_syncrun", "view_participant", "change_participant"
    )
    assert "Run a full sync now" in operator.get("/admin/sync/syncrun/").content.decode()
    operator.post(
        "/admin/sync/participant/", {"action": "sync_selected", "_selected_action": [participant.pk]}
    )
    assert Job.objects.get(task=SYNC).kwargs == {"participant_ids": [participant.pk], "trigger": "manual"}
