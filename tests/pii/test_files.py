"""Shared files, end to end: fetched with the bot token, fail closed, scanned, removed. The jobs
run in this process through jobs.testing's drain()."""

from __future__ import annotations

import logging

import pytest

from jobs import Job
from jobs.testing import drain, manual
from pii.models import Detection, FileScan, FileScanStatus
from tests.pii.conftest import TOKEN, file_url, message_event
from tests.pii.test_flow import EMAIL, _assert_nowhere, _done

pytestmark = pytest.mark.django_db


def test_file_contents_scanned_with_the_bot_token_and_removed(post_event, slack_api, httpserver, caplog):
    caplog.set_level(logging.INFO)
    csv = f"name,email,phone\nJan,{EMAIL},+48 601 234 567\n".encode()
    ref = slack_api.add_file("F1", owner="U0AUTHOR", content=csv, mimetype="text/csv", name="contacts.csv")
    clean = slack_api.add_file("F4", owner="U0AUTHOR", content=b"hello", mimetype="text/plain", name="n.txt")
    photo = {"id": "F2", "name": "photo.png", "mimetype": "image/png", "filetype": "png", "size": 2000}
    big = {"id": "F3", "name": "big.txt", "mimetype": "text/plain", "filetype": "text", "size": 10_000_000}
    for r in (ref, clean, photo, big):
        r["url_private"] = file_url(httpserver, r["id"], r["name"])
    with manual():
        post_event(message_event("see attached", subtype="file_share", files=[ref, photo, big, clean]))
        assert drain() == {"succeeded": 3}  # the message scan and the two text files' scans
    assert FileScan.objects.count() == 4
    assert Detection.objects.filter(source="file", status="actioned").exists()
    scans = {f.file_id: f for f in FileScan.objects.all()}
    assert scans["F1"].status == FileScanStatus.PII_FOUND
    assert scans["F2"].status == FileScanStatus.NOT_SCANNED and "not a text" in scans["F2"].reason
    assert scans["F3"].status == FileScanStatus.NOT_SCANNED and "MAX_BYTES" in scans["F3"].reason
    assert scans["F4"].status == FileScanStatus.CLEAN
    file_det = Detection.objects.get(source="file")
    assert file_det.file_id == "F1" and file_det.types == {"EMAIL": 1, "PHONE": 1}
    assert "F1" not in slack_api.files  # removed with the admin token
    downloads = [e[0] for e in httpserver.log if e[0].path.startswith("/files-pri/")]
    assert {r.path for r in downloads} == {"/files-pri/F1/contacts.csv", "/files-pri/F4/n.txt"}
    assert all(r.headers["Authorization"] == f"Bearer {TOKEN}" for r in downloads)
    file_jobs = Job.objects.filter(task="pii.tasks.slack_file_scan_task")
    assert {j.queue for j in file_jobs} == {"pii_detection"} and file_jobs.count() == 2
    assert all(j.kwargs["file"] == "[filtered]" for j in file_jobs)
    _assert_nowhere([EMAIL, "601 234 567"], caplog.text)


def test_sign_in_page_instead_of_the_file_is_failed_never_clean(post_event, slack_api, httpserver):
    slack_api.tokens[TOKEN].scopes.discard("files:read")  # installed without files:read
    ref = slack_api.add_file(
        "F5", owner="U0AUTHOR", content=EMAIL.encode(), mimetype="text/plain", name="a.txt"
    )
    ref["url_private"] = file_url(httpserver, "F5", "a.txt")
    with manual():
        post_event(message_event("file", subtype="file_share", files=[ref]))
        _done("pii.tasks.slack_file_scan_task")
    scan = FileScan.objects.get()
    assert scan.status == FileScanStatus.FAILED and "HTML page" in scan.reason


@pytest.mark.parametrize(
    "url,reason",
    [
        ("http://evil.example.invalid/a.txt", "not in PII_FILE_ALLOWED_HOSTS"),
        ("http://files.slack.com/files-pri/F9/a.txt", "not https"),
    ],
)
def test_file_url_that_would_leak_the_token_is_refused(post_event, slack_api, url, reason):
    files = [
        {
            "id": "F9",
            "name": "a.txt",
            "mimetype": "text/plain",
            "filetype": "text",
            "size": 10,
            "url_private": url,
        }
    ]
    with manual():
        post_event(message_event("file", subtype="file_share", files=files))
        _done("pii.tasks.slack_file_scan_task")
    scan = FileScan.objects.get()
    assert scan.status == FileScanStatus.FAILED and reason in scan.reason


@pytest.mark.parametrize(
    "case,reason",
    [
        ("redirect", "redirected"),  # Slack's answer to a token it does not know: off to sign-in
        ("content_type", "does not match"),  # a zip where Slack said text/plain
        ("budget", "scan budget"),
    ],
)
def test_file_that_cannot_be_scanned_whole_is_failed_never_clean(
    post_event, slack_api, httpserver, settings, case, reason
):
    mimetype = "application/zip" if case == "content_type" else "text/plain"
    ref = slack_api.add_file(
        "F6", owner="U0AUTHOR", content=b"hello " * 2000, mimetype=mimetype, name="a.txt"
    )
    ref.update(mimetype="text/plain", filetype="text", url_private=file_url(httpserver, "F6", "a.txt"))
    if case == "redirect":
        slack_api.revoke(TOKEN)
    if case == "budget":
        settings.PII_SCAN_BUDGET, settings.PII_SCAN_CHUNK_CHARS = 0.0, 1000
    with manual():
        post_event(message_event("file", subtype="file_share", files=[ref]))
        _done("pii.tasks.slack_file_scan_task")
    scan = FileScan.objects.get()
    assert scan.status == FileScanStatus.FAILED and reason in scan.reason, scan.reason
