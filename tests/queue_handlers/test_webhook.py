"""The webhook handler: signed delivery, SSRF refusals, retries on 5xx/timeouts, never on 4xx."""

from __future__ import annotations

import hashlib
import hmac
import time

import pytest
from werkzeug import Response

from queue_handlers.base import InvalidPayload, RetriesExhausted, RetryJob
from queue_handlers.services import enqueue_job
from queue_handlers.webhooks import WebhookRefused, WebhookRejected
from tests.queue_handlers.conftest import SECRET, run_now

pytestmark = pytest.mark.django_db


def test_delivers_a_signed_body_with_its_headers(httpserver, webhook_settings):
    httpserver.expect_request("/hook", method="PUT").respond_with_data("ok", status=202)
    summary = run_now(
        "webhook",
        {
            "url": httpserver.url_for("/hook"),
            "method": "put",
            "payload": {"event": "user_signup", "user_id": 123},
            "headers": {"X-Tenant": "acme"},
        },
    )
    assert summary == {"job_type": "webhook", "status": 202, "host": "localhost", "attempt": 1}
    req = httpserver.log[0][0]
    body = req.get_data()
    assert body == b'{"event":"user_signup","user_id":123}'
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(req.headers["X-Webhook-Signature"], expected)
    assert req.headers["X-Tenant"] == "acme" and req.headers["X-Webhook-Id"]
    assert req.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "http://240.0.0.1/hook",
        "ftp://example.com/hook",
        "http://user:pw@example.com/hook",
    ],
)
def test_internal_or_odd_targets_are_refused_at_enqueue(url, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    with pytest.raises(InvalidPayload, match="url: "):
        enqueue_job("webhook", {"url": url, "payload": {}})


def test_a_host_that_resolves_to_loopback_is_refused_when_sent(httpserver, settings):
    settings.WEBHOOK_SIGNING_SECRET = SECRET
    settings.WEBHOOK_ALLOWED_HOSTS = []
    httpserver.expect_request("/hook").respond_with_data("ok")
    url = httpserver.url_for("/hook")  # http://localhost:PORT/hook: passes the literal check
    with pytest.raises(WebhookRefused, match="resolves to a loopback address"):
        run_now("webhook", {"url": url, "payload": {"a": 1}})
    assert httpserver.log == []


def test_4xx_fails_at_once_and_is_not_retried(httpserver, webhook_settings):
    httpserver.expect_request("/hook").respond_with_data("nope", status=410)
    with pytest.raises(WebhookRejected, match="answered 410; not retried"):
        run_now("webhook", {"url": httpserver.url_for("/hook"), "payload": {}})
    assert len(httpserver.log) == 1


def test_redirects_are_not_followed(httpserver, webhook_settings):
    httpserver.expect_request("/hook").respond_with_response(
        Response("", status=302, headers={"Location": "http://169.254.169.254/"})
    )
    with pytest.raises(WebhookRejected, match="302"):
        run_now("webhook", {"url": httpserver.url_for("/hook"), "payload": {}})


def test_5xx_is_retried_until_the_last_attempt(httpserver, webhook_settings):
    httpserver.expect_request("/hook").respond_with_data("down", status=503)
    payload = {"url": httpserver.url_for("/hook"), "payload": {}}
    with pytest.raises(RetryJob, match="attempt 1/5: WebhookUnavailable"):
        run_now("webhook", payload, attempt=1)
    with pytest.raises(RetriesExhausted, match="gave up after 5 attempt"):
        run_now("webhook", payload, attempt=5)


def test_timeout_is_retried(httpserver, webhook_settings):
    httpserver.expect_request("/slow").respond_with_handler(
        lambda request: (time.sleep(1.0), Response("late"))[1]
    )
    with pytest.raises(RetryJob, match="WebhookUnavailable"):
        run_now("webhook", {"url": httpserver.url_for("/slow"), "payload": {}, "timeout": 0.3})


def test_unsigned_delivery_is_refused(httpserver, webhook_settings):
    webhook_settings.WEBHOOK_SIGNING_SECRET = ""
    with pytest.raises(WebhookRefused, match="WEBHOOK_SIGNING_SECRET"):
        run_now("webhook", {"url": httpserver.url_for("/hook"), "payload": {}})
    assert httpserver.log == []


def test_handler_set_headers_cannot_be_overridden():
    with pytest.raises(InvalidPayload, match="set by the handler"):
        enqueue_job(
            "webhook",
            {"url": "https://example.com/h", "payload": {}, "headers": {"X-Webhook-Signature": "forged"}},
        )
