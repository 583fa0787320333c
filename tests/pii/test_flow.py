"""End to end with a real worker, real PostgreSQL and Redis, and Slack at its HTTP boundary."""

from __future__ import annotations

import json
import logging

import pytest
from django.db import connection
from werkzeug import Response

from jobs.models import Job
from pii.models import Detection, DetectionStatus, FileScan, FileScanStatus
from tests.helpers import wait_for
from tests.pii.conftest import TOKEN, message_event

pytestmark = pytest.mark.django_db(transaction=True)

EMAIL, CARD, IBAN = "jan.kowalski@example.pl", "4111 1111 1111 1111", "DE89 3704 0044 0532 0130 00"


def _job(task: str = "pii.tasks.slack_message_scan_task", state: str | None = None) -> Job | None:
    qs = Job.objects.filter(task=task)
    if state:
        qs = qs.filter(state=state)
    return qs.first()


def _done(task: str = "pii.tasks.slack_message_scan_task") -> Job:
    return wait_for(
        lambda: Job.objects.filter(task=task, state__in=("succeeded", "failed")).first(),
        timeout=30,
        message=f"{task} to finish",
    )


def test_message_with_pii_is_deleted_author_told_and_only_redacted_kept(
    celery_worker, post_event, slack_api, caplog
):
    caplog.set_level(logging.DEBUG)
    text = f"Hi! my mail is {EMAIL}, card {CARD}, IBAN {IBAN}"
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
    delete, notice = slack_api.calls[0][1], slack_api.calls[1][1]
    assert delete == {"channel": "C0PII", "ts": "1712345678.123456"}
    assert notice["user"] == "U0AUTHOR" and "[EMAIL]" in notice["text"]
    assert "payment card" in notice["text"] and EMAIL not in notice["text"]
    assert slack_api.calls[0][3]["Authorization"] == f"Bearer {TOKEN}"
    _assert_nowhere([EMAIL, "4111 1111", "DE89 3704", "my mail is jan"], caplog.text)


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


def test_clean_message_does_nothing(celery_worker, post_event, slack_api):
    post_event(message_event("Release 1.2.3.4 is out, see § 4.2.1, order 123456789 on 2024-03-15"))
    job = _done()
    assert job.state == "succeeded" and job.result == {"pii": False}
    assert not Detection.objects.exists() and slack_api.calls == []


def test_rate_limit_is_retried_after_retry_after(celery_worker, post_event, slack_api):
    slack_api.reply(
        "chat.delete",
        Response(
            json.dumps({"ok": False, "error": "ratelimited"}),
            status=429,
            headers={"Retry-After": "1"},
            content_type="application/json",
        ),
    )
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
    wait_for(lambda: _job(state="succeeded"), timeout=10, message="job succeeded")


@pytest.mark.parametrize("error", ["invalid_auth", "not_authed", "token_revoked", "account_inactive"])
def test_auth_error_fails_with_a_clear_reason_and_no_retry(celery_worker, post_event, slack_api, error):
    slack_api.reply("chat.delete", {"ok": False, "error": error})
    post_event(message_event(f"card {CARD}"))
    job = _done()
    assert job.state == "failed" and job.attempt == 1
    assert "SlackAuthError" in job.last_error and error in job.last_error
    assert "SLACK_BOT_TOKEN" in job.last_error
    det = Detection.objects.get()
    assert det.status == DetectionStatus.FAILED and error in det.reason
    assert slack_api.methods() == ["chat.delete"]


def test_message_not_found_is_done(celery_worker, post_event, slack_api):
    slack_api.reply("chat.delete", {"ok": False, "error": "message_not_found"})
    post_event(message_event("ssn 123-45-6789"))
    job = _done()
    assert job.state == "succeeded"
    det = Detection.objects.get()
    assert det.status == DetectionStatus.GONE and det.actions == {"delete": "not_found"}
    assert slack_api.methods() == ["chat.delete"]


def test_server_errors_are_retried_then_succeed(celery_worker, post_event, slack_api, settings):
    slack_api.reply("chat.delete", Response("upstream down", status=503))
    post_event(message_event("ip 10.20.30.40"))
    wait_for(
        lambda: Detection.objects.filter(status=DetectionStatus.ACTIONED).exists(),
        timeout=30,
        message="actioned after a 503",
    )
    assert slack_api.methods().count("chat.delete") == 2
    job = wait_for(lambda: _job(state="succeeded"), timeout=10, message="job succeeded")
    assert job.attempt == 2


def test_ephemeral_refused_falls_back_to_a_dm(celery_worker, post_event, slack_api):
    slack_api.reply("chat.postEphemeral", {"ok": False, "error": "user_not_in_channel"})
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
    assert slack_api.calls[-1][1]["channel"] == "D0DM"


def test_cant_delete_is_recorded_and_author_still_told(celery_worker, post_event, slack_api):
    slack_api.reply("chat.delete", {"ok": False, "error": "cant_delete_message"})
    post_event(message_event(f"{EMAIL}"))
    assert _done().state == "succeeded"
    det = Detection.objects.get()
    assert det.status == DetectionStatus.PARTIAL
    assert det.actions == {"delete": "failed: cant_delete_message", "notify": "notified_ephemeral"}


def test_files_text_scanned_with_token_others_recorded_not_scanned(
    celery_worker, post_event, slack_api, httpserver, caplog
):
    caplog.set_level(logging.INFO)
    secret_csv = f"name,email\nJan,{EMAIL}\n"
    httpserver.expect_request("/files/F1/contacts.csv").respond_with_data(secret_csv)
    files = [
        {
            "id": "F1",
            "name": "contacts.csv",
            "title": "contacts",
            "mimetype": "text/csv",
            "filetype": "csv",
            "size": len(secret_csv),
            "url_private": httpserver.url_for("/files/F1/contacts.csv"),
        },
        {
            "id": "F2",
            "name": "photo.png",
            "title": "photo",
            "mimetype": "image/png",
            "filetype": "png",
            "size": 2000,
            "url_private": httpserver.url_for("/files/F2/p.png"),
        },
        {
            "id": "F3",
            "name": "big.txt",
            "mimetype": "text/plain",
            "filetype": "text",
            "size": 10_000_000,
            "url_private": httpserver.url_for("/files/F3/big.txt"),
        },
        {
            "id": "F4",
            "name": "notes.txt",
            "title": "call 0171 2345678",
            "mimetype": "text/plain",
            "filetype": "text",
            "size": 5,
            "url_private": httpserver.url_for("/files/F4/n.txt"),
        },
    ]
    httpserver.expect_request("/files/F4/n.txt").respond_with_data("hello")
    post_event(message_event("see attached", subtype="file_share", files=files))
    wait_for(lambda: FileScan.objects.count() == 4, timeout=30, message="four file records")
    _done("pii.tasks.slack_file_scan_task")
    scans = {f.file_id: f for f in FileScan.objects.all()}
    assert scans["F1"].status == FileScanStatus.PII_FOUND
    assert scans["F2"].status == FileScanStatus.NOT_SCANNED and "not a text" in scans["F2"].reason
    assert scans["F3"].status == FileScanStatus.NOT_SCANNED and "MAX_BYTES" in scans["F3"].reason
    assert scans["F4"].status == FileScanStatus.CLEAN
    wait_for(
        lambda: Detection.objects.filter(source="file", status="actioned").exists(),
        timeout=30,
        message="file detection actioned",
    )
    file_det = Detection.objects.get(source="file")
    assert file_det.file_id == "F1" and file_det.types == {"EMAIL": 1}
    assert "[EMAIL]" in file_det.redacted_excerpt
    name_det = Detection.objects.get(source="message")  # the title "call 0171 2345678"
    assert name_det.types == {"PHONE": 1}
    downloads = [e for e in httpserver.log if e[0].path.startswith("/files/")]
    assert {e[0].path for e in downloads} == {"/files/F1/contacts.csv", "/files/F4/n.txt"}
    assert all(e[0].headers["Authorization"] == f"Bearer {TOKEN}" for e in downloads)
    file_jobs = Job.objects.filter(task="pii.tasks.slack_file_scan_task")
    assert {j.queue for j in file_jobs} == {"pii_detection"} and file_jobs.count() == 2
    assert all(j.kwargs["file"] == "[filtered]" for j in file_jobs)
    assert "files.delete" in slack_api.methods()
    _assert_nowhere([EMAIL, "0171 2345678"], caplog.text)


def test_file_host_outside_allow_list_never_gets_the_token(celery_worker, post_event, slack_api, settings):
    files = [
        {
            "id": "F9",
            "name": "a.txt",
            "mimetype": "text/plain",
            "filetype": "text",
            "size": 10,
            "url_private": "http://evil.example.invalid/a.txt",
        }
    ]
    post_event(message_event("file", subtype="file_share", files=files))
    _done("pii.tasks.slack_file_scan_task")
    scan = FileScan.objects.get()
    assert scan.status == FileScanStatus.FAILED and "not in PII_FILE_ALLOWED_HOSTS" in scan.reason
