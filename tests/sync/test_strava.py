"""The Strava client against a local HTTP server: paging, token refresh, rate limits."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from sync import strava
from tests.sync.fake_strava import activity

AFTER = datetime.now(UTC) - timedelta(days=30)


def _pages(token: str = "tok") -> list[list[dict]]:
    return list(strava.activities_pages(access_token=token, after=AFTER))


def test_pages_until_a_short_page(fake_strava):
    fake_strava.activities["tok"] = [activity(i) for i in range(1, 6)]

    pages = _pages()

    assert [len(p) for p in pages] == [2, 2, 1]
    seen = fake_strava.requests_to("/athlete/activities")
    assert [s.args["page"] for s in seen] == ["1", "2", "3"]
    assert {s.args["per_page"] for s in seen} == {"2"}
    assert {s.args["after"] for s in seen} == {str(int(AFTER.timestamp()))}
    assert {s.auth for s in seen} == {"Bearer tok"}


def test_exact_multiple_of_page_size_stops_at_the_empty_page(fake_strava):
    fake_strava.activities["tok"] = [activity(i) for i in range(1, 5)]

    assert [len(p) for p in _pages()] == [2, 2]
    assert len(fake_strava.requests_to("/athlete/activities")) == 3


def test_only_activities_after_the_timestamp(fake_strava):
    fake_strava.activities["tok"] = [activity(1, days_ago=40), activity(2, days_ago=2)]

    assert [a["id"] for p in _pages() for a in p] == [2]


def test_token_refresh_posts_the_refresh_grant(fake_strava):
    fake_strava.refresh["old-refresh"] = ("new-access", "new-refresh")

    tokens = strava.token_refresh(refresh_token="old-refresh")

    assert (tokens.access_token, tokens.refresh_token) == ("new-access", "new-refresh")
    assert tokens.expires_at > datetime.now(UTC) + timedelta(hours=5)
    form = fake_strava.requests_to("/oauth/token")[0].form
    assert form == {
        "client_id": "12345",
        "client_secret": "client-secret-xyz",
        "grant_type": "refresh_token",
        "refresh_token": "old-refresh",
    }
    assert "new-access" not in repr(tokens) and "new-refresh" not in repr(tokens)


def test_refused_refresh_token_is_an_auth_error(fake_strava):
    with pytest.raises(strava.StravaAuthError, match="refused"):
        strava.token_refresh(refresh_token="revoked")


def test_401_403_5xx_and_a_dead_server_map_to_our_errors(fake_strava, settings):
    with pytest.raises(strava.StravaAuthError):
        _pages("unknown-token")
    fake_strava.fail_next("/athlete/activities", 503)
    with pytest.raises(strava.StravaUnavailable, match="503"):
        _pages()
    fake_strava.fail_next("/athlete/activities", 404)
    with pytest.raises(strava.StravaBadResponse):
        _pages()
    settings.STRAVA_API_URL = "http://127.0.0.1:9/api/v3/"  # nothing listens on the discard port
    with pytest.raises(strava.StravaUnavailable, match="ConnectionError"):
        _pages()


def test_429_is_waited_out_and_retried(fake_strava):
    fake_strava.activities["tok"] = [activity(1)]
    fake_strava.fail_next("/athlete/activities", 429, **{"Retry-After": "1"})

    started = time.monotonic()
    pages = _pages()

    assert [a["id"] for p in pages for a in p] == [1]
    seen = fake_strava.requests_to("/athlete/activities")
    assert len(seen) == 2
    assert seen[1].at - seen[0].at >= 0.95 and time.monotonic() - started >= 0.95


def test_429_retries_are_bounded(fake_strava, settings):
    settings.STRAVA_MAX_429_RETRIES = 2
    fake_strava.fail_next("/athlete/activities", 429, times=10, **{"Retry-After": "0"})

    with pytest.raises(strava.StravaRateLimited):
        _pages()
    assert len(fake_strava.requests_to("/athlete/activities")) == 3


def test_429_with_a_long_wait_fails_at_once_instead_of_hammering(fake_strava):
    # No Retry-After: Strava's 15-minute window resets on the quarter hour, 10 minutes away.
    fake_strava.fail_next(
        "/athlete/activities",
        429,
        times=10,
        **{"X-RateLimit-Limit": "200,2000", "X-RateLimit-Usage": "201,500"},
    )
    with time_machine.travel(datetime(2026, 6, 1, 12, 5, tzinfo=UTC), tick=True):
        with pytest.raises(strava.StravaRateLimited) as err:
            _pages()
    assert 590 < err.value.retry_after < 610
    assert len(fake_strava.requests_to("/athlete/activities")) == 1


def test_used_up_window_waits_for_the_quarter_hour_before_the_next_request(fake_strava):
    fake_strava.activities["tok"] = [activity(i) for i in range(1, 4)]  # two pages
    fake_strava.limit_headers = ("200,2000", "200,900")  # this answer used the last request

    with time_machine.travel(datetime(2026, 6, 1, 12, 14, 59, tzinfo=UTC), tick=True):
        _pages()
        seen = fake_strava.requests_to("/athlete/activities")
        assert len(seen) == 2
        boundary = datetime(2026, 6, 1, 12, 15, tzinfo=UTC).timestamp()
        assert seen[0].at < boundary <= seen[1].at
    assert strava.rate_limits().usage_15m == 200 and strava.rate_limits().limit_day == 2000


def test_used_up_day_is_not_waited_for_in_a_worker(fake_strava):
    fake_strava.activities["tok"] = [activity(i) for i in range(1, 4)]
    fake_strava.limit_headers = ("200,2000", "50,2000")

    with pytest.raises(strava.StravaRateLimited, match="used up"):
        _pages()
    assert len(fake_strava.requests_to("/athlete/activities")) == 1
