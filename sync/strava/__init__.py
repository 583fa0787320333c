"""The Strava API, and nothing else: one module, requests underneath, errors re-raised as ours.

Rate limits are Strava's per application: `X-RateLimit-Limit` / `X-RateLimit-Usage` carry
"15-minute,daily" pairs and the 15-minute window resets on the quarter hour (UTC). The last
values seen are kept per process; before each request an exhausted window raises
StravaRateLimited (with `retry_after`) instead of spending a request on a certain 429, and a 429
raises it too. Nothing here ever sleeps: the job turns the error into `Snooze`, so the wait
happens in the scheduled set, not in a worker slot that other queues share.

OAuth follows https://developers.strava.com/docs/authentication: `authorize_url` →
the athlete approves on strava.com → our callback gets `code` and `scope` (or
`error=access_denied`) → `token_exchange` (grant_type=authorization_code) returns the tokens and
the athlete; `token_refresh` keeps them fresh.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin

import requests
from django.conf import settings

logger = logging.getLogger("sync.strava")
WINDOW = 15 * 60


class StravaError(Exception):
    """Base of every error this module raises; messages carry no tokens and no PII."""


class StravaUnavailable(StravaError):
    """5xx, timeout or connection failure: transient, worth another attempt later."""


class StravaRateLimited(StravaError):
    """Over the rate limit: come back after `retry_after` seconds (the job snoozes)."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StravaAuthError(StravaError):
    """401/403, or a refresh token Strava refuses: access revoked; retrying will not help."""


class StravaBadResponse(StravaError):
    """Another 4xx, or a body that is not what the API documents: permanent."""

    def __init__(self, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []  # Strava's `errors` list: resource, field, code (no values)


class StravaConfigError(StravaError):
    """Our side is misconfigured (no STRAVA_CLIENT_ID/secret, or Strava refuses them): an
    operator's problem, never reported as the athlete's revoked authorization."""


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_at: datetime

    def __repr__(self) -> str:  # never print a token, even in a traceback's locals
        return f"Tokens(expires_at={self.expires_at.isoformat()})"


@dataclass(frozen=True)
class RateLimits:
    limit_15m: int
    limit_day: int
    usage_15m: int
    usage_day: int
    seen_at: float  # epoch seconds


_session: requests.Session | None = None
_state_lock = threading.Lock()
_last_limits: RateLimits | None = None


def session() -> requests.Session:
    """Made on first use (never at import), so test settings and proxies apply."""
    global _session
    if _session is None:
        s = requests.Session()
        s.headers["Accept"] = "application/json"
        _session = s
    return _session


def rate_limits() -> RateLimits | None:
    """The last X-RateLimit-* values this process saw."""
    return _last_limits


def rate_limits_reset() -> None:
    global _last_limits
    with _state_lock:
        _last_limits = None


def activities_pages(
    *, access_token: str, after: datetime, per_page: int | None = None
) -> Iterator[list[dict[str, Any]]]:
    """The athlete's activities starting after `after`, one page (a list of dicts) at a time.

    Stops at the first page shorter than per_page, so an exact multiple costs one empty page.
    """
    per_page = per_page or settings.STRAVA_PER_PAGE
    url = urljoin(_base(), "athlete/activities")
    page = 1
    while True:
        params = {"after": int(after.timestamp()), "page": page, "per_page": per_page}
        body = _request(
            "GET",
            url,
            "athlete/activities",
            params=params,
            headers={"Authorization": f"Bearer {access_token}"},
        )
        if not isinstance(body, list):
            raise StravaBadResponse("athlete/activities did not return a list")
        if body:
            yield body
        if len(body) < per_page:
            return
        page += 1


def _base() -> str:
    base = settings.STRAVA_API_URL
    return base if base.endswith("/") else base + "/"


def _request(method: str, url: str, what: str, **kwargs: Any) -> Any:
    """One API call; `what` names the endpoint in errors (never the query or a token)."""
    _check_window(what)
    try:
        resp = session().request(method, url, timeout=settings.STRAVA_TIMEOUT, **kwargs)
        body_bytes = resp.content  # a truncated body fails here, inside the same mapping
    except requests.RequestException as exc:
        # ConnectionError, Timeout, ChunkedEncodingError, ContentDecodingError, TooManyRedirects...
        # all say "try again later", and none may leave a participant half-synced.
        raise StravaUnavailable(f"{type(exc).__name__} calling {what}") from None
    _note_limits(resp)
    status = resp.status_code
    if status == 429:
        wait = _retry_after(resp)
        logger.warning("strava rate limited", extra={"fields": {"endpoint": what, "wait_s": round(wait, 2)}})
        raise StravaRateLimited(f"429 from {what}, retry after {wait:.0f}s", wait)
    if status >= 500:
        raise StravaUnavailable(f"{status} from {what}")
    if status in (401, 403):
        raise StravaAuthError(f"{status} from {what}")
    if status >= 400:
        raise StravaBadResponse(f"{status} from {what}{_codes(body_bytes)}", _errors(body_bytes))
    try:
        return resp.json()
    except ValueError:
        raise StravaBadResponse(f"{what} returned a body that is not JSON") from None


def _errors(body: bytes) -> list[dict[str, Any]]:
    """Strava's documented error shape: {"message": ..., "errors": [{resource, field, code}]}."""
    try:
        errors = json.loads(body).get("errors") or []
    except (ValueError, AttributeError):
        return []
    return [
        {k: str(e.get(k, ""))[:50] for k in ("resource", "field", "code")}
        for e in errors
        if isinstance(e, dict)
    ]


def _codes(body: bytes) -> str:
    errors = _errors(body)
    return (
        (" (" + ", ".join(f"{e['resource']}.{e['field']} {e['code']}" for e in errors) + ")")
        if errors
        else ""
    )


def _pair(value: str | None) -> tuple[int, int] | None:
    try:
        a, b = (int(x.strip()) for x in (value or "").split(","))
    except ValueError:
        return None
    return a, b


def _note_limits(resp: requests.Response) -> None:
    global _last_limits
    limit, usage = _pair(resp.headers.get("X-RateLimit-Limit")), _pair(resp.headers.get("X-RateLimit-Usage"))
    if limit and usage:
        with _state_lock:
            _last_limits = RateLimits(limit[0], limit[1], usage[0], usage[1], time.time())


def _until_window_reset(now: float) -> float:
    return WINDOW - (now % WINDOW) + 0.5


def _until_day_reset(now: float) -> float:
    today = datetime.fromtimestamp(now, tz=UTC).date()
    midnight = datetime(today.year, today.month, today.day, tzinfo=UTC) + timedelta(days=1)
    return midnight.timestamp() - now + 1


def _retry_after(resp: requests.Response) -> float:
    header = resp.headers.get("Retry-After")
    if header:
        try:
            return max(float(header), 0.0)
        except ValueError:
            pass
    now = time.time()
    limit, usage = _pair(resp.headers.get("X-RateLimit-Limit")), _pair(resp.headers.get("X-RateLimit-Usage"))
    if limit and usage and usage[1] >= limit[1]:
        return _until_day_reset(now)
    return _until_window_reset(now)


def _check_window(what: str) -> None:
    """Before a request: if the last answer said a window is used up, say when it resets."""
    seen = _last_limits
    if seen is None:
        return
    now = time.time()
    wait = 0.0
    if seen.usage_day >= seen.limit_day and _same_utc_day(seen.seen_at, now):
        wait = _until_day_reset(now)
    elif seen.usage_15m >= seen.limit_15m and int(seen.seen_at // WINDOW) == int(now // WINDOW):
        wait = _until_window_reset(now)
    if wait > 0:
        raise StravaRateLimited(f"rate limit used up before calling {what}", wait)


def _same_utc_day(a: float, b: float) -> bool:
    return datetime.fromtimestamp(a, tz=UTC).date() == datetime.fromtimestamp(b, tz=UTC).date()


# OAuth lives beside the API client; imported last because it uses _request and the errors.
from sync.strava.oauth import (  # noqa: E402
    Athlete,
    authorize_url,
    client_configured,
    scope_allows_reading,
    token_exchange,
    token_refresh,
)

__all__ = [
    "Athlete",
    "RateLimits",
    "StravaAuthError",
    "StravaBadResponse",
    "StravaConfigError",
    "StravaError",
    "StravaRateLimited",
    "StravaUnavailable",
    "Tokens",
    "activities_pages",
    "authorize_url",
    "client_configured",
    "rate_limits",
    "rate_limits_reset",
    "scope_allows_reading",
    "session",
    "token_exchange",
    "token_refresh",
]
