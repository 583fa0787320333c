"""Key rotation covers every encrypted column — Strava tokens, Slack installations' tokens and
jobs' encrypted arguments — and `rotate_tokens --check` refuses while a row still needs the old key."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from jobs import Job
from jobs.testing import assert_enqueued, manual
from pii.installations import workspace_tokens
from pii.models import SlackInstallation
from pii.tasks import slack_message_scan_task
from sync.models import Participant

pytestmark = pytest.mark.django_db

TEXT = "my card is 4111 1111 1111 1111"  # a job's sensitive argument: stored encrypted only


def _rows_under(key: str, make_participant, team_id: str) -> Participant:
    """One row in each encrypted table, written while `key` is the (only) key."""
    participant = make_participant()
    installation = SlackInstallation(team_id=team_id, team_name="Rotating Co")
    installation.bot_token, installation.user_token = f"xoxb-{team_id}", f"xoxp-{team_id}"
    installation.save()
    with manual():
        slack_message_scan_task.enqueue(
            event_id=f"Ev{team_id}", team_id=team_id, channel="C0PII", user="U0AUTHOR", ts="1.2", text=TEXT,
            files=[],
        )  # fmt: skip
    return participant


def test_rotate_then_drop_the_old_key_and_every_table_still_decrypts(make_participant, settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEY = old
    participant = _rows_under(old, make_participant, "T0ROT")
    tokens = (participant.access_token, participant.refresh_token)
    job = Job.objects.get(task=slack_message_scan_task.name)
    assert job.secret_payload and TEXT not in json.dumps([job.args, job.kwargs])

    settings.FIELD_ENCRYPTION_KEY = f"{new},{old}"
    out = StringIO()
    call_command("rotate_tokens", stdout=out)
    assert "sync.Participant: re-encrypted 1 row(s)" in out.getvalue()
    assert "pii.SlackInstallation: re-encrypted 1 row(s)" in out.getvalue()
    assert "jobs.Job: re-encrypted 1 row(s)" in out.getvalue()
    assert "older keys may be dropped" in out.getvalue()

    settings.FIELD_ENCRYPTION_KEY = new  # the old key is gone
    p = Participant.objects.get(pk=participant.pk)
    assert (p.access_token, p.refresh_token) == tokens
    found = workspace_tokens(team_id="T0ROT")
    assert (found.bot, found.user, found.source) == ("xoxb-T0ROT", "xoxp-T0ROT", "installation")
    assert assert_enqueued(slack_message_scan_task, text=TEXT)  # the jobs layer reads its real arguments
    assert "older keys may be dropped" in _check()


def test_check_refuses_while_rows_still_need_the_old_key(make_participant, settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEY = old
    _rows_under(old, make_participant, "T0OLD")
    settings.FIELD_ENCRYPTION_KEY = f"{new},{old}"  # deployed with the new key first, not rotated yet

    with pytest.raises(CommandError) as refused:
        _check()
    assert str(refused.value).startswith(
        "3 row(s) still need an older key: do not drop it yet "
        "(sync.Participant 1 row(s); pii.SlackInstallation 1 row(s); jobs.Job 1 row(s))"
    )

    call_command("rotate_tokens", stdout=StringIO())
    settings.FIELD_ENCRYPTION_KEY = old  # a straggler still configured with the old key writes
    late = SlackInstallation(team_id="T0LATE")
    late.bot_token = "xoxb-late"
    late.save()
    settings.FIELD_ENCRYPTION_KEY = f"{new},{old}"
    with pytest.raises(CommandError, match=r"^1 row\(s\) still need an older key: .*pii.SlackInstallation 1"):
        _check()


def _check() -> str:
    out = StringIO()
    call_command("rotate_tokens", check=True, stdout=out, stderr=StringIO())
    return out.getvalue()
