"""The scan jobs' soft time limit in a real worker: the in-process test worker's threads pool does
not enforce time limits, so this runs `celery worker` (prefork) as a subprocess with a 1 s limit."""

from __future__ import annotations

import threading

import pytest
from werkzeug import Request, Response

from jobs import Job
from pii.models import Detection, FileScan, FileScanStatus
from project.celery import app
from tests.helpers import wait_for
from tests.pii.conftest import file_url, message_event

pytestmark = pytest.mark.integration

STALL = 4.0  # seconds the download takes: well past the 1 s soft limit, short of the 30 s read timeout


def test_a_scan_that_outlives_its_soft_time_limit_is_failed_never_clean(
    worker_process, post_event, slack_api, slack_settings, httpserver
):
    release = threading.Event()

    def slow_download(request: Request) -> Response:
        release.wait(STALL)  # the headers come late: the worker sits in its read when the limit fires
        return Response(b"hello " * 2000, status=200, content_type="text/plain")

    # A one-shot handler is matched before the fake's own /files-pri/ handler; a second download
    # (a retry) would get the fake's empty file and come out clean, which the test refuses.
    httpserver.expect_oneshot_request("/files-pri/F7/slow.txt").respond_with_handler(slow_download)
    ref = slack_api.add_file("F7", owner="U0AUTHOR", content=b"", mimetype="text/plain", name="slow.txt")
    ref["url_private"] = file_url(httpserver, "F7", "slow.txt")

    s = slack_settings
    w = worker_process(
        "piilimit",
        queues=["events", "pii_detection"],
        concurrency=1,
        PII_SCAN_SOFT_TIME_LIMIT="1",
        SLACK_API_URL=s.SLACK_API_URL,
        SLACK_BOT_TOKEN=s.SLACK_BOT_TOKEN,
        SLACK_USER_TOKEN=s.SLACK_USER_TOKEN,
        SLACK_SIGNING_SECRET=s.SLACK_SIGNING_SECRET,
        SLACK_CLIENT_ID=s.SLACK_CLIENT_ID,
        SLACK_CLIENT_SECRET=s.SLACK_CLIENT_SECRET,
    )
    try:
        assert post_event(message_event("file", subtype="file_share", files=[ref])).status_code == 200
        scan = wait_for(
            lambda: FileScan.objects.filter(file_id="F7").first(), timeout=30, message="the file's record"
        )
    finally:
        release.set()
    assert scan.status == FileScanStatus.FAILED, (scan.status, scan.reason)
    assert "soft time limit" in scan.reason
    job = wait_for(
        lambda: Job.objects.filter(
            task="pii.tasks.slack_file_scan_task", state__in=("succeeded", "failed")
        ).first(),
        timeout=30,
        message="the file scan job to finish",
    )
    assert job.state == "succeeded", job.last_error  # the limit was handled, not a crash
    downloads = wait_for(  # the stalled handler logs its request once released
        lambda: [e[0] for e in httpserver.log if e[0].path == "/files-pri/F7/slow.txt"],
        timeout=10,
        message="the download in the server's log",
    )
    assert len(downloads) == 1  # one download, cut short: not retried to a clean result
    assert not FileScan.objects.filter(status=FileScanStatus.CLEAN).exists()
    assert not Detection.objects.exists()
    assert "Soft time limit (1s) exceeded for pii.tasks.slack_file_scan_task" in w.read_log()
    # The worker is still alive: it answers a ping and its pool runs the next job.
    assert w.proc.poll() is None
    replies = app.control.ping(timeout=1) or []
    assert any(n.startswith("piilimit@") for r in replies for n in r), replies
    post_event(message_event("nothing to see", event_id="Ev002", ts="1712345679.000001"))
    nxt = wait_for(
        lambda: Job.objects.filter(
            task="pii.tasks.slack_message_scan_task", kwargs__event_id="Ev002", state="succeeded"
        ).first(),
        timeout=30,
        message="the next job to run on the same worker",
    )
    assert nxt.worker and nxt.worker.startswith("piilimit@"), nxt.worker
    assert w.proc.poll() is None
