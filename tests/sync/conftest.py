from __future__ import annotations

import itertools
import re
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from sync import strava
from sync.models import Participant
from sync.participants import participant_connect
from tests.sync.fake_strava import FakeStrava

_athletes = itertools.count(1000)


@pytest.fixture
def fake_strava(httpserver, settings) -> Iterator[FakeStrava]:
    """Strava at a local HTTP server; the client's settings point at it."""
    fake = FakeStrava()
    httpserver.expect_request(re.compile(r".*")).respond_with_handler(fake.handle)
    settings.STRAVA_API_URL = httpserver.url_for("/api/v3/")
    settings.STRAVA_TOKEN_URL = httpserver.url_for("/oauth/token")
    settings.STRAVA_AUTHORIZE_URL = httpserver.url_for("/oauth/authorize")
    settings.STRAVA_CLIENT_ID = fake.client_id
    settings.STRAVA_CLIENT_SECRET = fake.client_secret
    settings.STRAVA_PER_PAGE = 2
    strava.rate_limits_reset()
    yield fake
    strava.rate_limits_reset()


@pytest.fixture
def broken_http() -> Iterator[Callable[[str], str]]:
    """An HTTP server on loopback that breaks the way networks do; returns its base URL.

    chunked: a chunked body cut off mid-chunk; short: fewer bytes than Content-Length;
    reset: the connection closed before any answer; hang: no answer at all (a read timeout).
    """
    servers: list[socket.socket] = []
    stop = threading.Event()

    def serve(sock: socket.socket, mode: str) -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                if mode == "chunked":
                    conn.sendall(head + b'Transfer-Encoding: chunked\r\n\r\n40\r\n[{"id": 1, "na')
                elif mode == "short":
                    conn.sendall(head + b'Content-Length: 500\r\n\r\n[{"id": 1')
                elif mode == "hang":
                    stop.wait(3)

    def make(mode: str) -> str:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        sock.settimeout(5)
        servers.append(sock)
        threading.Thread(target=serve, args=(sock, mode), daemon=True).start()
        return f"http://127.0.0.1:{sock.getsockname()[1]}/api/v3/"

    yield make
    stop.set()
    for sock in servers:
        sock.close()


@pytest.fixture
def make_participant(fake_strava) -> Callable[..., Participant]:
    """A participant with tokens that Strava knows, and its activities at the fake."""

    def make(activities: list | None = None, expired: bool = False, **kw) -> Participant:
        n = next(_athletes)
        access, refresh = f"access-{n}", f"refresh-{n}"
        fake_strava.activities[access] = list(activities or [])
        fake_strava.refresh[refresh] = (f"access-{n}-new", f"refresh-{n}-new")
        fake_strava.activities[f"access-{n}-new"] = fake_strava.activities[access]
        expires = timezone.now() + (timedelta(hours=-1) if expired else timedelta(hours=5))
        return participant_connect(
            athlete_id=n,
            name=f"Athlete {n}",
            access_token=access,
            refresh_token=refresh,
            expires_at=expires,
            **kw,
        )

    return make
