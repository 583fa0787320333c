"""PII settings changed in the admin: validated, audited, and obeyed by the next scan without a
restart (Slack at its HTTP boundary, jobs run here by drain())."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry

from jobs.testing import drain, manual
from pii.models import Detection, DetectionStatus, PiiSettings
from tests.pii.conftest import message_event

pytestmark = pytest.mark.django_db
PAGE = "/admin/pii/piisettings/"
EMAIL, CARD = "jan.kowalski@example.pl", "4111 1111 1111 1111"


def save(admin_client, **fields):
    url = admin_client.get(PAGE).url
    data = {"detection_enabled": "on", "types": list(PiiSettings().types), "finding_action": "delete"}
    data.update(fields)
    if data.get("detection_enabled") is False:
        data.pop("detection_enabled")  # an unticked checkbox is not sent
    return admin_client.post(url, data)


def scan(post_event, text: str, event_id: str) -> None:
    with manual():
        assert (
            post_event(message_event(text, event_id=event_id, ts=f"1712345678.{event_id[-6:]}")).status_code
            == 200
        )
        drain()


def test_notify_only_tells_the_author_and_deletes_nothing(admin_client, post_event, slack_api):
    assert save(admin_client, finding_action="notify").status_code == 302
    scan(post_event, f"my mail is {EMAIL}", "Ev000001")
    det = Detection.objects.get()
    assert det.status == DetectionStatus.ACTIONED and det.actions == {"notify": "notified_ephemeral"}
    assert slack_api.methods() == ["chat.postEphemeral"]  # no chat.delete
    assert "please delete it" in slack_api.calls[0][1]["text"]


def test_switched_off_nothing_is_scanned_and_switched_on_again_it_is(admin_client, post_event, slack_api):
    save(admin_client, detection_enabled=False)
    scan(post_event, f"my mail is {EMAIL}", "Ev000002")
    assert not Detection.objects.exists() and slack_api.methods() == []
    save(admin_client, detection_enabled=True)
    scan(post_event, f"again {EMAIL}", "Ev000003")
    assert Detection.objects.get().actions["delete"] == "deleted"


def test_a_type_left_out_is_ignored(admin_client, post_event, slack_api):
    save(admin_client, types=["CREDIT_CARD"])
    scan(post_event, f"mail {EMAIL}", "Ev000004")
    assert not Detection.objects.exists()
    scan(post_event, f"card {CARD}", "Ev000005")
    assert Detection.objects.get().types == {"CREDIT_CARD": 1}


def test_no_type_while_on_is_refused_clearly_and_changes_are_audited(admin_client):
    response = save(admin_client, types=[])
    assert "choose at least one type, or switch PII detection off" in response.content.decode()
    assert not PiiSettings.objects.exists()
    save(admin_client, finding_action="notify")
    save(admin_client, finding_action="notify", types=["EMAIL", "IBAN"])
    messages = [e.get_change_message() for e in LogEntry.objects.order_by("action_time")]
    assert messages[0] == "Saved (the environment's values until now): What a finding does: delete → notify."
    assert messages[1].startswith(
        "Changed: Types looked for: EMAIL, PHONE, CREDIT_CARD, IBAN, US_SSN, IP_ADDRESS → EMAIL, IBAN"
    )
    assert "What a finding does" in admin_client.get(f"{PAGE}1/change/").content.decode()
