"""End to end with real PostgreSQL and Slack at its HTTP boundary; the jobs run in this process
through jobs.testing's drain() (the real claim, retry and Snooze path), except where a real
worker's clock is the point."""

from __future__ import annotations

import json
import logging

import pytest
from django.db import connection
from werkzeug import Response

from jobs import Job
from jobs.testing import drain, manual
from pii.models import Detection, DetectionStatus, SlackInstallation
from tests.helpers import wait_for
from tests.pii.conftest import ADMIN_TOKEN, TOKEN, message_event

pytestmark = pytest.mark.django_db

EMAIL, CARD, IBAN = "jan.kowalski@example.pl", "4111 1111 1111 1111", "DE89 3704 0044 0532 0130 00"


def _job(task: str = "pii.tasks.slack_message_scan_task", state: str | None = None) -> Job | None:
    qs = Job.objects.filter(task=task)
    if state:
        qs = qs.filter(state=state)
    return qs.first()


def _done(task: str = "pii.tasks.slack_message_scan_task") -> Job:
    """Run the waiting jobs here (inside manual()) and return the finished one of `task`."""
    drain()
    job = Job.objects.filter(task=task, state__in=("succeeded", "failed")).first()
    assert job is not None, f"no finished {task} job"
    return job


def test_admin_token_deletes_author_told_and_only_redacted_kept(post_event, slack_api, caplog):
    caplog.set_level(logging.DEBUG)
    text = f"Hi! my mail is {EMAIL}, card {CARD}, IBAN {IBAN}"
    with manual():
        assert post_event(message_event(text)).status_code == 200
        job = _done()
    assert job.state == "succeeded", job.last_error
    det = Detection.objects.get()
    assert det.status == DetectionStatus.ACTIONED
    assert det.types == {"EMAIL": 1, "CREDIT_CARD": 1, "IBAN": 1}
    assert det.actions == {"delete": "deleted", "notify": "notified_ephemeral"}
    assert det.redacted_excerpt == "Hi! my mail is [EMAIL], card [CREDIT_CARD], IBAN [IBAN]"
    assert (det.team_id, det.channel, det.user, det.ts) == (
        "T0TEAM",
        "C0PII",
        "U0AUTHOR",
        "1712345678.123456",
    )
    assert slack_api.methods() == ["chat.delete", "chat.postEphemeral"]
    assert slack_api.deleted == [("C0PII", "1712345678.123456")]  # gone from Slack
    delete, notice = slack_api.calls[0], slack_api.calls[1]
    assert delete[3]["Authorization"] == f"Bearer {ADMIN_TOKEN}"  # the admin's user token deletes
    assert notice[3]["Authorization"] == f"Bearer {TOKEN}"  # the bot tells the author
    assert notice[1]["user"] == "U0AUTHOR" and "[EMAIL]" in notice[1]["text"]
    assert "I removed your message" in notice[1]["text"] and EMAIL not in notice[1]["text"]
    _assert_nowhere([EMAIL, "4111 1111", "DE89 3704", "my mail is jan", ADMIN_TOKEN, TOKEN], caplog.text)


def _assert_nowhere(needles: list[str], logs: str) -> None:
    """Search every table of the database and the captured logs for the raw PII."""
    for needle in needles:
        assert needle not in logs, f"{needle!r} in logs"
    with connection.cursor() as cur:
        for table in connection.introspection.table_names():
            cur.execute(f'SELECT * FROM "{table}"')
            dump = json.dumps(cur.fetchall(), default=str, ensure_ascii=False)
            for needle in needles:
                assert needle not in dump, f"{needle!r} stored in {table}"


def test_bot_only_workspace_records_the_refusal_shows_it_and_tells_the_author(
    post_event, slack_api, settings, admin_client
):
    settings.SLACK_USER_TOKEN = ""  # installed with a bot token only
    with manual():
        post_event(message_event(f"ssn 123-45-6789 and {EMAIL}"))
        assert _done().state == "succeeded"
    det = Detection.objects.get()
    assert det.status == DetectionStatus.PARTIAL
    assert det.actions == {"delete": "failed: no_admin_token", "notify": "notified_ephemeral"}
    assert "no admin user token" in det.reason and "/slack/install" in det.reason
    assert ("C0PII", "1712345678.123456") in slack_api.messages  # still in Slack: nobody pretends
    assert "please delete it" in slack_api.posted[0]["text"]
    page = admin_client.get("/admin/pii/detection/").content.decode()
    assert "no admin user token" in page and "123-45-6789" not in page


def test_bot_token_delete_of_a_members_message_is_refused_by_slack(post_event, slack_api, settings):
    """What the old fake let through: a bot token deleting a member's message is cant_delete_message."""
    settings.SLACK_USER_TOKEN = TOKEN  # misconfigured: the bot token where an admin's should be
    with manual():
        post_event(message_event(f"{EMAIL}"))
        assert _done().state == "succeeded"
    det = Detection.objects.get()
    assert det.status == DetectionStatus.PARTIAL
    assert det.actions == {"delete": "failed: cant_delete_message", "notify": "notified_ephemeral"}
    assert "cant_delete_message" in det.reason
    assert ("C0PII", "1712345678.123456") in slack_api.messages


def test_non_admin_user_token_is_refused(post_event, slack_api, settings):
    slack_api.add_token("xoxp-member", "user", "U0MEMBER", is_admin=False)
    settings.SLACK_USER_TOKEN = "xoxp-member"
    with manual():
        post_event(message_event(f"card {CARD}"))
        _done()
    assert Detection.objects.get().actions["delete"] == "failed: cant_delete_message"


def test_clean_message_does_nothing(post_event, slack_api):
    with manual():
        post_event(message_event("Release 1.2.3.4 is out, see § 4.2.1, order 123456789 on 2024-03-15"))
        job = _done()
    assert job.state == "succeeded" and job.result == {"pii": False}
    assert not Detection.objects.exists() and slack_api.calls == []


def test_rate_limit_snoozes_for_retry_after_without_using_an_attempt(celery_worker, post_event, slack_api):
    # A worker: the wait for Retry-After is measured; drain() runs a snoozed job again at once.
    slack_api.ratelimit("chat.delete", retry_after=1)
    post_event(message_event(f"write to {EMAIL}"))
    wait_for(
        lambda: Detection.objects.filter(status=DetectionStatus.ACTIONED).exists(),
        timeout=30,
        message="detection actioned after the rate limit",
    )
    deletes = [c for c in slack_api.calls if c[0] == "chat.delete"]
    assert len(deletes) == 2
    assert deletes[1][2] - deletes[0][2] >= 0.95  # waited for Retry-After
    assert slack_api.methods().count("chat.postEphemeral") == 1
    job = wait_for(lambda: _job(state="succeeded"), timeout=10, message="job succeeded")
    assert job.attempt == 1  # a snooze is not an attempt


@pytest.mark.parametrize("broken", ["revoked", "unknown"])
def test_dead_admin_token_fails_with_a_clear_reason_and_no_retry(post_event, slack_api, settings, broken):
    if broken == "revoked":
        slack_api.revoke(ADMIN_TOKEN)
    else:
        settings.SLACK_USER_TOKEN = "xoxp-not-a-token"
    error = {"revoked": "token_revoked", "unknown": "invalid_auth"}[broken]
    with manual():
        post_event(message_event(f"card {CARD}"))
        job = _done()
    assert job.state == "failed" and job.attempt == 1
    assert "SlackAuthError" in job.last_error and error in job.last_error
    assert "/slack/install" in job.last_error
    det = Detection.objects.get()
    assert det.status == DetectionStatus.FAILED and error in det.reason
    assert slack_api.methods() == ["chat.delete"]


def test_message_already_gone_is_done(post_event, slack_api):
    with manual():
        post_event(message_event("ssn 123-45-6789"))
        slack_api.messages.clear()  # deleted by its author before the job ran
        job = _done()
    assert job.state == "succeeded"
    det = Detection.objects.get()
    assert det.status == DetectionStatus.GONE and det.actions == {"delete": "not_found"}


def test_server_errors_are_retried_then_succeed(post_event, slack_api):
    slack_api.fail_next("chat.delete", Response("upstream down", status=503))
    with manual():
        post_event(message_event("ip 10.20.30.40"))
        assert drain("events") == {"retrying": 1, "succeeded": 1}
    assert Detection.objects.filter(status=DetectionStatus.ACTIONED).exists()
    assert slack_api.methods().count("chat.delete") == 2
    job = _job(state="succeeded")
    assert job is not None and job.attempt == 2


def test_author_not_in_channel_gets_a_dm(post_event, slack_api):
    slack_api.channels["C0PII"].discard("U0AUTHOR")  # left the channel: Slack refuses an ephemeral
    with manual():
        post_event(message_event("call me +44 20 7946 0958"))
        _done()
    det = Detection.objects.get()
    assert det.actions == {"delete": "deleted", "notify": "notified_dm"}
    assert slack_api.methods() == [
        "chat.delete",
        "chat.postEphemeral",
        "conversations.open",
        "chat.postMessage",
    ]
    assert slack_api.posted[-1]["channel"] == "DU0AUTHOR"


def test_attachment_block_and_file_name_pii_is_found(post_event, slack_api):
    event = {
        "attachments": [{"fallback": "fwd", "fields": [{"title": "Card", "value": CARD}]}],
        "blocks": [
            {"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": [
                {"type": "text", "text": "hi "}, {"type": "link", "url": f"mailto:{EMAIL}", "text": EMAIL},
            ]}]},
            {"type": "section", "text": {"type": "mrkdwn", "text": f"IBAN {IBAN}"}},
        ],
        "files": [{"id": "F7", "name": "ssn 123-45-6789.png", "mimetype": "image/png", "filetype": "png"}],
    }  # fmt: skip
    with manual():
        post_event(message_event("hi", subtype="file_share", **event))
        _done()
    det = Detection.objects.get()
    assert det.types == {"CREDIT_CARD": 1, "EMAIL": 1, "IBAN": 1, "US_SSN": 1}
    assert det.status == DetectionStatus.ACTIONED
    assert CARD not in det.redacted_excerpt and "[IBAN]" in det.redacted_excerpt


def test_uninstalled_workspace_tokens_are_not_used(post_event, slack_api):
    SlackInstallation.objects.create(team_id="T0TEAM", active=False, disabled_reason="app uninstalled")
    with manual():
        post_event(message_event(f"{EMAIL}"))
        job = _done()
    assert job.state == "failed" and "not_authed" in job.last_error
    assert slack_api.calls == []  # no token left to send


def test_oauth_installation_tokens_are_used_per_workspace(post_event, slack_api, settings):
    settings.SLACK_BOT_TOKEN = settings.SLACK_USER_TOKEN = ""  # nothing from the environment
    slack_api.add_token("xoxb-team-bot", "bot", "U0BOT")
    slack_api.add_token("xoxp-team-admin", "user", "U0ADMIN", is_admin=True)
    row = SlackInstallation(team_id="T0TEAM", bot_user_id="U0BOT", user_id="U0ADMIN")
    row.bot_token, row.user_token = "xoxb-team-bot", "xoxp-team-admin"
    row.save()
    with manual():
        post_event(message_event(f"{EMAIL}"))
        assert _done().state == "succeeded"
    assert Detection.objects.get().actions == {"delete": "deleted", "notify": "notified_ephemeral"}
    assert slack_api.calls[0][3]["Authorization"] == "Bearer xoxp-team-admin"
    assert slack_api.calls[1][3]["Authorization"] == "Bearer xoxb-team-bot"
