"""POST /slack/events: signature, url_verification, dedupe, what is ignored, and speed."""

from __future__ import annotations

import json
import logging
import time

import pytest
import time_machine

from jobs import Job
from pii.models import SlackEvent
from pii.views import signature_valid
from tests.pii.conftest import message_event, sign

# Slack's published example ("Verifying requests from Slack").
VECTOR_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
VECTOR_TS = 1531420618
VECTOR_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfm"
    b"ibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
VECTOR_SIG = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"

pytestmark = pytest.mark.django_db


def test_slack_published_vector_verifies(settings):
    settings.SLACK_SIGNING_SECRET = VECTOR_SECRET
    headers = {"X-Slack-Request-Timestamp": str(VECTOR_TS), "X-Slack-Signature": VECTOR_SIG}
    with time_machine.travel(VECTOR_TS + 30, tick=False):
        assert signature_valid(VECTOR_BODY, headers)
        assert not signature_valid(VECTOR_BODY + b"x", headers)
    with time_machine.travel(VECTOR_TS + 5 * 60 + 30, tick=False):  # older than 5 minutes
        assert not signature_valid(VECTOR_BODY, headers)


def test_published_vector_passes_the_endpoint_and_tampering_does_not(client, settings):
    settings.SLACK_SIGNING_SECRET = VECTOR_SECRET
    headers = {"HTTP_X_SLACK_REQUEST_TIMESTAMP": str(VECTOR_TS), "HTTP_X_SLACK_SIGNATURE": VECTOR_SIG}
    with time_machine.travel(VECTOR_TS + 1, tick=False):
        ok = client.post(
            "/slack/events", data=VECTOR_BODY, content_type="application/x-www-form-urlencoded", **headers
        )
        bad = client.post(
            "/slack/events",
            data=VECTOR_BODY.replace(b"foobar", b"foobaz"),
            content_type="application/x-www-form-urlencoded",
            **headers,
        )
    assert ok.status_code == 400  # signed, but a slash command is not an Events API payload
    assert bad.status_code == 401


def test_bad_signature_is_401_and_logged_without_body(client, slack_settings, caplog):
    body = json.dumps(message_event("my card 4111 1111 1111 1111")).encode()
    caplog.set_level(logging.DEBUG)
    headers = sign(body, secret="wrong")
    resp = client.post("/slack/events", data=body, content_type="application/json", **headers)
    assert resp.status_code == 401
    assert "slack signature invalid" in caplog.text
    assert "4111" not in caplog.text and "card" not in caplog.text
    assert not SlackEvent.objects.exists() and not Job.objects.exists()


def test_stale_timestamp_is_refused(post_event):
    resp = post_event(message_event("hello"), ts=int(time.time()) - 6 * 60)
    assert resp.status_code == 401


def test_missing_secret_refuses_everything(client, settings):
    settings.SLACK_SIGNING_SECRET = ""
    body = b"{}"
    resp = client.post("/slack/events", data=body, content_type="application/json", **sign(body, secret=""))
    assert resp.status_code == 401


def test_url_verification_answers_the_challenge(post_event):
    resp = post_event({"type": "url_verification", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmd"})
    assert resp.status_code == 200
    assert resp.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmd"}


def test_malformed_json_is_400(client, slack_settings):
    body = b"{not json"
    resp = client.post("/slack/events", data=body, content_type="application/json", **sign(body))
    assert resp.status_code == 400


def test_get_is_not_allowed(client):
    assert client.get("/slack/events").status_code == 405


@pytest.mark.django_db(transaction=True)
def test_message_enqueues_one_job_fast_without_a_worker(post_event):
    started = time.monotonic()
    resp = post_event(message_event("mail me: jan.kowalski@example.pl"))
    assert resp.status_code == 200
    assert time.monotonic() - started < 1.5
    job = Job.objects.get()
    assert job.task == "pii.tasks.slack_message_scan_task" and job.queue == "events"
    assert job.state == "queued" and job.max_attempts == 3
    assert job.kwargs["text"] == "[filtered]" and job.kwargs["files"] == "[filtered]"
    assert job.kwargs["channel"] == "C0PII" and job.kwargs["ts"] == "1712345678.123456"
    assert "token" not in json.dumps(job.kwargs).lower()
    assert SlackEvent.objects.get().job_id == str(job.id)


@pytest.mark.django_db(transaction=True)
def test_repeated_event_id_and_slack_retries_enqueue_nothing_new(post_event):
    payload = message_event("call +48 601 234 567", event_id="EvDUP")
    assert post_event(payload).status_code == 200
    assert (
        post_event(
            payload, headers={"HTTP_X_SLACK_RETRY_NUM": "1", "HTTP_X_SLACK_RETRY_REASON": "http_timeout"}
        ).status_code
        == 200
    )
    assert post_event(payload, headers={"HTTP_X_SLACK_RETRY_NUM": "2"}).status_code == 200
    assert Job.objects.count() == 1
    assert SlackEvent.objects.count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "event",
    [
        {"subtype": "bot_message", "bot_id": "B1"},
        {"bot_id": "B1"},
        {"subtype": "message_deleted", "hidden": True},
        {"subtype": "channel_join"},
        {"user": "U0BOT"},  # our own bot user (from authorizations)
    ],
)
def test_ignored_messages_enqueue_nothing(post_event, event):
    payload = message_event("a@b.com")
    payload["event"].update(event)
    assert post_event(payload).status_code == 200
    assert not Job.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_message_changed_scans_the_new_text(post_event):
    payload = message_event("")
    payload["event"].update(
        {
            "subtype": "message_changed",
            "ts": "1712345999.000100",
            "message": {
                "type": "message",
                "user": "U0AUTHOR",
                "text": "now a@b.com",
                "ts": "1712345678.123456",
            },
            "previous_message": {"text": "before", "ts": "1712345678.123456"},
        }
    )
    payload["event"].pop("user")
    assert post_event(payload).status_code == 200
    job = Job.objects.get()
    assert job.kwargs["ts"] == "1712345678.123456" and job.kwargs["user"] == "U0AUTHOR"


@pytest.mark.django_db(transaction=True)
def test_unfurl_message_changed_with_same_text_is_ignored(post_event):
    payload = message_event("")
    payload["event"].update(
        {
            "subtype": "message_changed",
            "message": {"user": "U0AUTHOR", "text": "same", "ts": "1.2"},
            "previous_message": {"text": "same", "ts": "1.2"},
        }
    )
    post_event(payload)
    assert not Job.objects.exists()


def test_health_pii_section_fails_without_a_signing_secret_once_slack_is_set_up(settings):
    """Installed but unsigned fails; nothing set up at all is only a warning (tests/pii/test_health.py)."""
    from jobs.observe.health import run_checks
    from pii.models import SlackInstallation

    settings.SLACK_SIGNING_SECRET = "x"
    settings.SLACK_BOT_TOKEN = ""
    assert run_checks(only=["pii"])[0] is True
    SlackInstallation.objects.create(team_id="T1", team_name="Acme", active=True)
    settings.SLACK_SIGNING_SECRET = ""
    ok, body = run_checks(only=["pii"])
    assert ok is False and body["failing"] == ["pii"]
    assert "SLACK_SIGNING_SECRET" in body["checks"]["pii"]["error"]


@pytest.mark.parametrize(
    "headers",
    [
        {},  # no headers at all
        {"HTTP_X_SLACK_SIGNATURE": "v0=" + "0" * 64},  # no timestamp
        {"HTTP_X_SLACK_REQUEST_TIMESTAMP": "soon", "HTTP_X_SLACK_SIGNATURE": "v0=" + "0" * 64},
        {"HTTP_X_SLACK_REQUEST_TIMESTAMP": "１２３", "HTTP_X_SLACK_SIGNATURE": "v0=" + "0" * 64},
        {"HTTP_X_SLACK_REQUEST_TIMESTAMP": "9" * 40, "HTTP_X_SLACK_SIGNATURE": "v0=" + "0" * 64},
        {"HTTP_X_SLACK_REQUEST_TIMESTAMP": str(int(time.time())), "HTTP_X_SLACK_SIGNATURE": "v0=zz"},
        {"HTTP_X_SLACK_REQUEST_TIMESTAMP": str(int(time.time())), "HTTP_X_SLACK_SIGNATURE": "v0=ä" * 20},
    ],
)
def test_malformed_signature_headers_are_401(client, slack_settings, headers):
    body = json.dumps(message_event("hi")).encode()
    resp = client.post("/slack/events", data=body, content_type="application/json", **headers)
    assert resp.status_code == 401


def test_non_utf8_body_is_401_unsigned_and_400_signed(client, slack_settings):
    body = b'{"type": "event_callback", "x": "\xff\xfe"}'  # Latin-1 bytes, not UTF-8
    bad = client.post(
        "/slack/events", data=body, content_type="application/json", **sign(body, secret="wrong")
    )
    good = client.post("/slack/events", data=body, content_type="application/json", **sign(body))
    assert (bad.status_code, good.status_code) == (401, 400)


@pytest.mark.django_db(transaction=True)
def test_attachments_and_blocks_go_to_the_job(post_event):
    payload = message_event(
        "see below",
        attachments=[
            {
                "pretext": "fwd",
                "text": "mail a@b.com",
                "fields": [{"title": "tel", "value": "+1 202 555 0143"}],
            },
            {"from_url": "https://example.com", "text": "unfurl text"},  # Slack's unfurl: not the member's
        ],
        blocks=[{"type": "header", "text": {"type": "plain_text", "text": "SSN 123-45-6789"}}],
    )
    post_event(payload)
    job = Job.objects.get()
    assert job.kwargs["parts"] == "[filtered]"
    from pii.events import message_from_event

    parts = message_from_event(payload)["parts"]
    assert parts == ["SSN 123-45-6789", "fwd", "mail a@b.com", "tel", "+1 202 555 0143"]


@pytest.mark.django_db(transaction=True)
def test_edit_that_adds_an_attachment_is_scanned_and_an_unfurl_is_not(post_event):
    base = {"user": "U0AUTHOR", "text": "same", "ts": "1.2"}
    for i, added in enumerate(
        [{"from_url": "https://x.example", "text": "preview"}, {"text": "card 4111 1111 1111 1111"}]
    ):
        payload = message_event("", event_id=f"EvEdit{i}")
        payload["event"].update(
            {
                "subtype": "message_changed",
                "message": {**base, "attachments": [added]},
                "previous_message": base,
            }
        )
        post_event(payload)
    assert Job.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_app_uninstalled_and_tokens_revoked_disable_the_installation(post_event):
    from pii.installations import workspace_tokens
    from pii.models import SlackInstallation

    row = SlackInstallation(team_id="T0TEAM", bot_user_id="U0BOT", user_id="U0ADMIN")
    row.bot_token, row.user_token = "xoxb-a", "xoxp-b"
    row.save()
    revoked = {"type": "tokens_revoked", "tokens": {"oauth": ["U0ADMIN"], "bot": []}}
    post_event({**message_event("x", event_id="EvRev"), "event": revoked})
    tokens = workspace_tokens(team_id="T0TEAM")
    assert (tokens.bot, tokens.user, tokens.source) == ("xoxb-a", "", "installation")
    post_event({**message_event("x", event_id="EvUn"), "event": {"type": "app_uninstalled"}})
    row.refresh_from_db()
    assert not row.active and row.disabled_reason == "app uninstalled"
    assert workspace_tokens(team_id="T0TEAM").bot == ""
    assert not Job.objects.exists()
