"""'Mark reviewed' changes a record: a view-only staff login neither sees nor can post it."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from emails.models import QuarantinedMessage

pytestmark = pytest.mark.django_db
LIST = "/admin/emails/quarantinedmessage/"


def _staff(django_user_model, name: str, *codenames: str) -> Client:
    user = django_user_model.objects.create_user(username=name, password="pw-ops-123", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="emails", codename__in=codenames)
    )
    client = Client()
    client.force_login(user)
    return client


def test_a_view_only_login_cannot_mark_reviewed(django_user_model):
    row = QuarantinedMessage.objects.create(sqs_message_id="m-1", reason="not JSON", body="{")
    viewer = _staff(django_user_model, "viewer", "view_quarantinedmessage")
    page = viewer.get(LIST)
    assert page.status_code == 200 and "mark_reviewed" not in page.content.decode()

    viewer.post(LIST, {"action": "mark_reviewed", "_selected_action": [row.pk]})
    row.refresh_from_db()
    assert row.reviewed is False

    reviewer = _staff(django_user_model, "reviewer", "view_quarantinedmessage", "change_quarantinedmessage")
    reviewer.post(LIST, {"action": "mark_reviewed", "_selected_action": [row.pk]})
    row.refresh_from_db()
    assert row.reviewed is True
