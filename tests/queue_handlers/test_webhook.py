"""The webhook handler: signed delivery, SSRF refusals, retries on 5xx/timeouts, never on 4xx."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
import threading
import time

import pytest
from werkzeug import Response

from queue_handlers.base import InvalidPayload, RetriesExhausted, RetryJob
from queue_handlers.services import enqueue_job
from queue_handlers.webhooks import WebhookRefused, WebhookRejected, forbidden_address
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
        "http://[::ffff:10.0.0.1]/hook",  # IPv4-mapped private
        "http://[2002:c0a8:0101::1]/hook",  # 6to4 embedding 192.168.1.1
        "http://[2002:0a00:0001::]/hook",  # 6to4 embedding 10.0.0.1
        "http://[2002:7f00:0001::1]/hook",  # 6to4 embedding 127.0.0.1
        "http://[2002:a9fe:a9fe::1]/hook",  # 6to4 embedding 169.254.169.254 (cloud metadata)
        "http://[64:ff9b::10.0.0.1]/hook",  # NAT64 embedding a private IPv4
        "http://[64:ff9b::a9fe:a9fe]/hook",  # NAT64 embedding the metadata address
        "http://[64:ff9b:1::a00:1]/hook",  # NAT64 local-use prefix
        "http://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/hook",  # Teredo, client 10.0.0.1
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


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("2002:c0a8:0101::1", "6to4-embedded private (192.168.1.1)"),
        ("2002:7f00:0001::1", "6to4-embedded loopback (127.0.0.1)"),
        ("64:ff9b::10.0.0.1", "nat64-embedded private (10.0.0.1)"),
        ("::ffff:10.0.0.1", "ipv4-mapped-embedded private (10.0.0.1)"),
        ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "teredo-client-embedded private (10.0.0.1)"),
    ],
)
def test_embedded_private_ipv4_is_named_in_the_refusal(address, why):
    assert forbidden_address(ipaddress.ip_address(address)) == why


@pytest.mark.parametrize(
    "address", ["2002:0808:0808::1", "64:ff9b::8.8.8.8", "::ffff:8.8.8.8", "2606:4700::1111"]
)
def test_embeddings_of_a_public_ipv4_and_plain_public_ipv6_are_allowed(address):
    assert forbidden_address(ipaddress.ip_address(address)) is None


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


@pytest.fixture
def endless_target():
    """A target that answers 200 and then sends body bytes for ever (or one byte at a time);
    it records how many bytes it got out before the client hung up."""
    sent = {"bytes": 0, "hung_up": threading.Event()}
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)

    def serve(trickle: bool) -> None:
        conn, _ = sock.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100000000000\r\n\r\n"
            )
            chunk = b"x" if trickle else b"x" * 65536
            try:
                while sent["bytes"] < 10**10:
                    conn.sendall(chunk)
                    sent["bytes"] += len(chunk)
                    if trickle:
                        time.sleep(0.05)
            except OSError:
                sent["hung_up"].set()

    def start(trickle: bool = False) -> str:
        threading.Thread(target=serve, args=(trickle,), daemon=True).start()
        return f"http://127.0.0.1:{sock.getsockname()[1]}/hook"

    yield start, sent
    sock.close()


def test_an_endless_answer_is_read_only_up_to_the_byte_cap(endless_target, webhook_settings):
    webhook_settings.WEBHOOK_MAX_RESPONSE_BYTES = 100_000
    start, sent = endless_target
    url = start()

    began = time.monotonic()
    summary = run_now("webhook", {"url": url, "payload": {"a": 1}, "timeout": 5})

    assert summary["status"] == 200 and time.monotonic() - began < 3
    assert sent["hung_up"].wait(5)  # we closed the connection instead of reading on
    assert sent["bytes"] < 50_000_000  # cap + what the socket buffers took, not the 100 GB promised


def test_a_trickling_answer_stops_at_the_timeout(endless_target, webhook_settings):
    start, sent = endless_target
    url = start(trickle=True)

    began = time.monotonic()
    summary = run_now("webhook", {"url": url, "payload": {"a": 1}, "timeout": 1})

    assert summary["status"] == 200
    assert 0.9 <= time.monotonic() - began < 3  # one byte per 50 ms would otherwise go on for ever
    assert sent["hung_up"].wait(5)
