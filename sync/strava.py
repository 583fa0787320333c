"""The Strava API, and nothing else: one module, requests underneath, errors re-raised as ours.

Rate limits are Strava's per application: `X-RateLimit-Limit` / `X-RateLimit-Usage` carry
"15-minute,daily" pairs and the 15-minute window resets on the quarter hour (UTC). The last
values seen are kept per process; before each request an exhausted window is waited out (up to
STRAVA_RATE_LIMIT_MAX_WAIT) instead of spending a request on a certain 429. A 429 is waited out
and retried at most STRAVA_MAX_429_RETRIES times; anything longer raises StravaRateLimited.
"""

from __future__ import annotations

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
    """Over the rate limit for longer than we are willing to wait in a worker."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StravaAuthError(StravaError):
    """401/403, or a refresh token Strava refuses: access revoked; retrying will not help."""


class StravaBadResponse(StravaError):
    """Another 4xx, or a body that is not what the API documents: permanent."""


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


def token_refresh(*, refresh_token: str) -> Tokens:
    """Exchange a refresh token for new tokens (Strava may rotate the refresh token too)."""
    if not settings.STRAVA_CLIENT_ID or not settings.STRAVA_CLIENT_SECRET:
        raise StravaAuthError("STRAVA_CLIENT_ID and STRAVA_CLIENT_SECRET must be set to refresh")
    data = {
        "client_id": settings.STRAVA_CLIENT_ID,
        "client_secret": settings.STRAVA_CLIENT_SECRET,
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
    }
    try:
        body = _request("POST", settings.STRAVA_TOKEN_URL, "oauth/token", data=data)
    except StravaBadResponse as exc:  # 400 "invalid refresh token": the athlete revoked us
        raise StravaAuthError(f"token refresh refused: {exc}") from None
    try:
        return Tokens(
            access_token=str(body["access_token"]),
            refresh_token=str(body.get("refresh_token") or refresh_token),
            expires_at=datetime.fromtimestamp(int(body["expires_at"]), tz=UTC),
        )
    except (KeyError, TypeError, ValueError):
        raise StravaBadResponse("token refresh answer lacks access_token/expires_at") from None


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
    """One API call with rate-limit manners; `what` names the endpoint in errors (no query)."""
    retries = settings.STRAVA_MAX_429_RETRIES
    for attempt in range(retries + 1):
        _wait_for_window(what)
        try:
            resp = session().request(method, url, timeout=settings.STRAVA_TIMEOUT, **kwargs)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise StravaUnavailable(f"{type(exc).__name__} calling {what}") from None
        _note_limits(resp)
        status = resp.status_code
        if status == 429:
            wait = _retry_after(resp)
            if attempt >= retries or wait > settings.STRAVA_RATE_LIMIT_MAX_WAIT:
                raise StravaRateLimited(f"429 from {what}, retry after {wait:.0f}s", wait)
            logger.warning(
                "strava rate limited",
                extra={"fields": {"endpoint": what, "wait_s": round(wait, 2), "retry": attempt + 1}},
            )
            time.sleep(wait)
            continue
        if status >= 500:
            raise StravaUnavailable(f"{status} from {what}")
        if status in (401, 403):
            raise StravaAuthError(f"{status} from {what}")
        if status >= 400:
            raise StravaBadResponse(f"{status} from {what}")
        try:
            return resp.json()
        except ValueError:
            raise StravaBadResponse(f"{what} returned a body that is not JSON") from None
    raise AssertionError("unreachable")  # pragma: no cover


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


def _wait_for_window(what: str) -> None:
    """Before a request: if the last answer said a window is used up, wait for its reset."""
    seen = _last_limits
    if seen is None:
        return
    now = time.time()
    wait = 0.0
    if seen.usage_day >= seen.limit_day and _same_utc_day(seen.seen_at, now):
        wait = _until_day_reset(now)
    elif seen.usage_15m >= seen.limit_15m and int(seen.seen_at // WINDOW) == int(now // WINDOW):
        wait = _until_window_reset(now)
    if wait <= 0:
        return
    if wait > settings.STRAVA_RATE_LIMIT_MAX_WAIT:
        raise StravaRateLimited(f"rate limit used up before calling {what}", wait)
    logger.info(
        "strava window used up, waiting", extra={"fields": {"endpoint": what, "wait_s": round(wait, 2)}}
    )
    time.sleep(wait)


def _same_utc_day(a: float, b: float) -> bool:
    return datetime.fromtimestamp(a, tz=UTC).date() == datetime.fromtimestamp(b, tz=UTC).date()
