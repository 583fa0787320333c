"""Strava's OAuth (developers.strava.com/docs/authentication): the authorize URL, the code
exchange (grant_type=authorization_code) and the refresh; all three POST to STRAVA_TOKEN_URL
with our client id and secret. Our own missing or refused credentials are StravaConfigError,
never the athlete's revoked authorization."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from django.conf import settings

from sync.strava import (
    StravaAuthError,
    StravaBadResponse,
    StravaConfigError,
    Tokens,
    _request,
)

SCOPE = "activity:read"
READ_SCOPES = ("activity:read", "activity:read_all")  # either lets us list the activities


@dataclass(frozen=True)
class Athlete:
    id: int
    name: str

    def __repr__(self) -> str:  # the name is PII
        return f"Athlete(id={self.id})"


def token_refresh(*, refresh_token: str) -> Tokens:
    """Exchange a refresh token for new tokens (Strava may rotate the refresh token too)."""
    try:
        body = _token_post(grant_type="refresh_token", refresh_token=refresh_token)
    except StravaBadResponse as exc:  # 400 "invalid refresh token": the athlete revoked us
        raise StravaAuthError(f"token refresh refused: {exc}") from None
    return _tokens(body, refresh_token)


def client_configured() -> bool:
    return bool(settings.STRAVA_CLIENT_ID and settings.STRAVA_CLIENT_SECRET)


def _require_client() -> None:
    if not client_configured():
        raise StravaConfigError("STRAVA_CLIENT_ID and STRAVA_CLIENT_SECRET must be set")


def authorize_url(*, redirect_uri: str, state: str, approval_prompt: str = "auto") -> str:
    """Where to send the athlete's browser: Strava's consent page for `activity:read`."""
    _require_client()
    query = {
        "client_id": settings.STRAVA_CLIENT_ID,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "approval_prompt": approval_prompt,
        "scope": SCOPE,
        "state": state,
    }
    return f"{settings.STRAVA_AUTHORIZE_URL}?{urlencode(query)}"


def scope_allows_reading(scope: str) -> bool:
    """Strava returns the accepted scopes comma-separated; the athlete may untick ours."""
    return any(s.strip() in READ_SCOPES for s in (scope or "").split(","))


def token_exchange(*, code: str) -> tuple[Tokens, Athlete]:
    """Trade the callback's one-time `code` for tokens and the athlete (Strava's summary)."""
    body = _token_post(grant_type="authorization_code", code=code)
    tokens = _tokens(body, None)
    athlete = body.get("athlete") if isinstance(body, dict) else None
    try:
        athlete_id = int(athlete["id"])  # type: ignore[index]
    except (KeyError, TypeError, ValueError):
        raise StravaBadResponse("token exchange answer lacks athlete.id") from None
    parts = (str(athlete.get(k) or "").strip() for k in ("firstname", "lastname"))  # type: ignore[union-attr]
    name = " ".join(parts).strip()
    return tokens, Athlete(id=athlete_id, name=name[:200])


def _token_post(**fields: str) -> Any:
    _require_client()
    data = {"client_id": settings.STRAVA_CLIENT_ID, "client_secret": settings.STRAVA_CLIENT_SECRET, **fields}
    try:
        return _request("POST", settings.STRAVA_TOKEN_URL, "oauth/token", data=data)
    except (StravaBadResponse, StravaAuthError) as exc:
        errors = getattr(exc, "errors", [])
        if any(e.get("resource") == "Application" for e in errors) or isinstance(exc, StravaAuthError):
            # Strava refuses our client_id/secret (401 "Authorization Error", resource Application).
            raise StravaConfigError(f"Strava refused STRAVA_CLIENT_ID/STRAVA_CLIENT_SECRET: {exc}") from None
        raise


def _tokens(body: Any, old_refresh: str | None) -> Tokens:
    try:
        return Tokens(
            access_token=str(body["access_token"]),
            refresh_token=str(body.get("refresh_token") or old_refresh or ""),
            expires_at=datetime.fromtimestamp(int(body["expires_at"]), tz=UTC),
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        raise StravaBadResponse("token answer lacks access_token/expires_at") from None
