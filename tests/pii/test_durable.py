"""No accepted event is lost: Redis is down when Slack delivers, the event is answered and
scanned once Redis is back, and Slack's retries of it are duplicates.

Runs the view and the worker as subprocesses against a private redis-server (the pattern of
tests/jobs/test_redis_restart.py) so stopping it touches nobody else's runs.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from jobs import Job
from pii.models import Detection, SlackEvent
from tests.helpers import wait_for
from tests.jobs.test_redis_restart import ROOT, private_redis  # noqa: F401  (a fixture)
from tests.pii.conftest import ADMIN_TOKEN, SECRET, TOKEN, message_event, sign

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

POST = """
import django, json, sys
django.setup()
from django.test import Client
body = sys.stdin.buffer.read()
headers = json.loads(sys.argv[1])
r = Client(HTTP_HOST="localhost").post("/slack/events", data=body, content_type="application/json", **headers)
print(r.status_code)
"""


def _post(env: dict[str, str], payload: dict, retry: int = 0) -> int:
    body = json.dumps(payload).encode()
    headers = sign(body)
    if retry:
        headers["HTTP_X_SLACK_RETRY_NUM"] = str(retry)
    out = subprocess.run(
        [sys.executable, "-c", POST, json.dumps(headers)],
        input=body,
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=90,
    )
    return int(out.stdout.decode().strip().splitlines()[-1])


@pytest.fixture
def blip(worker_process, private_redis, slack_api, httpserver):  # noqa: F811
    """A worker on the private Redis, an env for the view's subprocess, and the fake Slack."""
    from tests.conftest import worker_env

    url = f"redis://127.0.0.1:{private_redis.port}/0"
    slack = {
        "REDIS_URL": url,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_USER_TOKEN": ADMIN_TOKEN,
        "SLACK_API_URL": httpserver.url_for("/api/"),
        "ALLOWED_HOSTS": "localhost",
    }
    w = worker_process("pii-durable", queues=["events"], concurrency=1, ready=False, **slack)
    wait_for(lambda: "ready." in w.read_log(), timeout=60, message="worker ready")
    slack_api.add_message("C0PII", "1712345678.123456", "U0AUTHOR")
    return worker_env(**slack), private_redis, slack_api


def _scanned_once(env: dict[str, str], payload: dict, slack_api) -> None:
    wait_for(
        lambda: Detection.objects.filter(actions__delete="deleted").exists(),
        timeout=90,
        message="the event scanned after Redis came back",
    )
    assert _post(env, payload, retry=2) == 200  # a later retry: a duplicate
    assert Job.objects.filter(task="pii.tasks.slack_message_scan_task").count() == 1
    assert SlackEvent.objects.filter(event_id=payload["event_id"]).count() == 1
    assert slack_api.deleted == [("C0PII", "1712345678.123456")]  # once


def test_event_refused_during_a_blip_is_not_a_duplicate_when_slack_retries(blip):
    """Holds with either jobs layer: what the view does not answer 200 leaves no row behind."""
    env, redis, slack_api = blip
    payload = message_event("card 4111 1111 1111 1111", event_id="EvBLIP1")
    redis.stop()
    status = _post(env, payload)
    assert status in (200, 503)
    if status == 503:  # nothing was kept: the dedupe row rolled back with the failed enqueue
        assert not SlackEvent.objects.filter(event_id="EvBLIP1").exists()
    redis.start()
    assert _post(env, payload, retry=1) == 200
    _scanned_once(env, payload, slack_api)


def test_redis_down_at_receipt_is_answered_and_scanned_once_after(blip):
    env, redis, slack_api = blip
    payload = message_event("card 4111 1111 1111 1111", event_id="EvBLIP2")
    redis.stop()
    assert _post(env, payload) == 200  # answered although the broker is down
    assert SlackEvent.objects.filter(event_id="EvBLIP2").exists()
    redis.start()
    _scanned_once(env, payload, slack_api)
