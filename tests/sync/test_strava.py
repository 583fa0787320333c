"""The Strava client against a local HTTP server: paging, token refresh, rate limits."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

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


def test_429_says_when_to_come_back_without_sleeping(fake_strava):
    fake_strava.activities["tok"] = [activity(1)]
    fake_strava.fail_next("/athlete/activities", 429, **{"Retry-After": "30"})

    started = time.monotonic()
    with pytest.raises(strava.StravaRateLimited) as err:
        _pages()

    assert err.value.retry_after == 30
    assert time.monotonic() - started < 1  # no wait in the worker: the job snoozes instead
    assert len(fake_strava.requests_to("/athlete/activities")) == 1


def test_429_without_retry_after_waits_for_the_quarter_hour(fake_strava):
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


def test_used_up_window_is_not_spent_on_a_certain_429(fake_strava):
    fake_strava.activities["tok"] = [activity(i) for i in range(1, 4)]  # two pages
    fake_strava.limit_headers = ("200,2000", "200,900")  # this answer used the last request

    with time_machine.travel(datetime(2026, 6, 1, 12, 14, 50, tzinfo=UTC), tick=False):
        with pytest.raises(strava.StravaRateLimited, match="used up") as err:
            _pages()
    assert 10 <= err.value.retry_after <= 11  # until 12:15:00, plus a margin
    assert len(fake_strava.requests_to("/athlete/activities")) == 1
    assert strava.rate_limits().usage_15m == 200 and strava.rate_limits().limit_day == 2000
    fake_strava.limit_headers = ("200,2000", "1,901")  # the new window's usage
    with time_machine.travel(datetime(2026, 6, 1, 12, 15, 1, tzinfo=UTC), tick=False):
        assert len(_pages()) == 2  # the next window: the requests go out again


def test_used_up_day_waits_until_utc_midnight(fake_strava):
    fake_strava.activities["tok"] = [activity(i) for i in range(1, 4)]
    fake_strava.limit_headers = ("200,2000", "50,2000")

    with time_machine.travel(datetime(2026, 6, 1, 20, 0, tzinfo=UTC), tick=False):
        with pytest.raises(strava.StravaRateLimited, match="used up") as err:
            _pages()
    assert 4 * 3600 <= err.value.retry_after <= 4 * 3600 + 2
    assert len(fake_strava.requests_to("/athlete/activities")) == 1


@pytest.mark.parametrize("mode", ["chunked", "short", "reset", "hang"])
def test_every_requests_failure_is_unavailable(broken_http, settings, mode):
    """A truncated chunked body (ChunkedEncodingError), a body shorter than its Content-Length,
    a reset connection and a read timeout are all "try again later"."""
    settings.STRAVA_API_URL = broken_http(mode)
    settings.STRAVA_TIMEOUT = 0.5

    with pytest.raises(strava.StravaUnavailable, match="calling athlete/activities") as err:
        _pages()
    assert "tok" not in str(err.value)


def test_code_exchange_returns_tokens_and_the_athlete(fake_strava):
    fake_strava.codes["c1"] = {"id": 4242, "firstname": "Ada", "lastname": "Lovelace"}

    tokens, athlete = strava.token_exchange(code="c1")

    assert (athlete.id, athlete.name) == (4242, "Ada Lovelace")
    assert tokens.access_token == "access-oauth-4242" and tokens.refresh_token == "refresh-oauth-4242"
    form = fake_strava.requests_to("/oauth/token")[0].form
    assert form == {
        "client_id": "12345",
        "client_secret": "client-secret-xyz",
        "grant_type": "authorization_code",
        "code": "c1",
    }
    assert "Ada" not in repr(athlete)
    with pytest.raises(strava.StravaBadResponse, match="AuthorizationCode.code invalid") as err:
        strava.token_exchange(code="c1")  # a code works once, as at Strava
    assert err.value.errors == [{"resource": "AuthorizationCode", "field": "code", "code": "invalid"}]


def test_missing_or_refused_client_credentials_are_a_configuration_error(fake_strava, settings):
    fake_strava.refresh["r"] = ("a", "r2")
    settings.STRAVA_CLIENT_SECRET = "wrong"
    with pytest.raises(strava.StravaConfigError, match="refused STRAVA_CLIENT_ID"):
        strava.token_refresh(refresh_token="r")
    settings.STRAVA_CLIENT_SECRET = ""
    with pytest.raises(strava.StravaConfigError, match="must be set"):
        strava.token_refresh(refresh_token="r")
    with pytest.raises(strava.StravaConfigError):
        strava.authorize_url(redirect_uri="http://x/cb", state="s")
    assert len(fake_strava.requests_to("/oauth/token")) == 1  # unset: not even asked


def test_authorize_url_is_stravas_documented_one(settings):
    settings.STRAVA_AUTHORIZE_URL = "https://www.strava.com/oauth/authorize"
    settings.STRAVA_CLIENT_ID = "12345"
    settings.STRAVA_CLIENT_SECRET = "s"

    url = urlsplit(strava.authorize_url(redirect_uri="https://app.example/sync/strava/callback/", state="st"))

    assert (url.scheme, url.netloc, url.path) == ("https", "www.strava.com", "/oauth/authorize")
    assert parse_qs(url.query) == {
        "client_id": ["12345"],
        "redirect_uri": ["https://app.example/sync/strava/callback/"],
        "response_type": ["code"],
        "approval_prompt": ["auto"],
        "scope": ["activity:read"],
        "state": ["st"],
    }
