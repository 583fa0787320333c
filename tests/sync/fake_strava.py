"""A Strava stand-in on pytest-httpserver: athletes' activities by access token, OAuth (the
authorize page, the code exchange and the refresh, with Strava's documented error bodies),
rate-limit headers, and failures on demand. It records every request it answers.

As Strava: an authorization code works once; a wrong client id or secret is 401 "Authorization
Error" on resource Application; a bad code or refresh token is 400 "Bad Request" naming the
resource (AuthorizationCode / RefreshToken); the authorize page refuses a wrong client id,
response_type other than code, or a missing redirect_uri."""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from werkzeug import Request, Response


@dataclass
class Seen:
    path: str
    args: dict[str, str]
    auth: str
    form: dict[str, str]
    at: float


@dataclass
class FakeStrava:
    activities: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # by access token
    refresh: dict[str, tuple[str, str]] = field(default_factory=dict)  # old refresh -> (acc, ref)
    broken: dict[str, int] = field(default_factory=dict)  # access token -> status, every time
    script: list[tuple[str, int, dict[str, str]]] = field(default_factory=list)  # one-shot
    limit_headers: tuple[str, str] | None = None  # (X-RateLimit-Limit, X-RateLimit-Usage)
    client_id: str = "12345"
    client_secret: str = "client-secret-xyz"
    # The athlete who will approve on the authorize page, and what they do there.
    athlete: dict[str, Any] = field(default_factory=lambda: {"id": 777, "firstname": "Ada", "lastname": "L"})
    decision: str = "approve"  # or "deny", or "untick" (approve without activity:read)
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)  # one-time code -> athlete
    _n: Any = field(default_factory=lambda: itertools.count(1))
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, path_end: str, status: int, times: int = 1, **headers: str) -> None:
        """The next `times` requests to a path ending in `path_end` answer `status`."""
        self.script.extend([(path_end, status, headers)] * times)

    def requests_to(self, path_end: str) -> list[Seen]:
        return [s for s in self.seen if s.path.endswith(path_end)]

    def handle(self, request: Request) -> Response:
        with self.lock:
            auth = request.headers.get("Authorization", "")
            self.seen.append(Seen(request.path, dict(request.args), auth, dict(request.form), time.time()))
            for i, (path_end, status, headers) in enumerate(self.script):
                if request.path.endswith(path_end):
                    del self.script[i]
                    return self._json({"message": "scripted"}, status, headers)
            if request.path.endswith("/oauth/authorize"):
                return self._authorize(request)
            if request.path.endswith("/oauth/token"):
                return self._token(request)
            if request.path.endswith("/athlete/activities"):
                return self._activities(request, auth.removeprefix("Bearer "))
            return self._json({"message": "Record Not Found"}, 404)

    def _authorize(self, request: Request) -> Response:
        """The consent page, answered as the athlete decides: a redirect back with code and the
        accepted scope, or with error=access_denied."""
        q = request.args
        if q.get("client_id") != self.client_id:
            return self._json(_bad("Application", "client_id"), 400)
        if q.get("response_type") != "code" or not q.get("redirect_uri"):
            return self._json(
                _bad("Application", "redirect_uri" if q.get("response_type") else "response_type"), 400
            )
        back: dict[str, str] = {"state": q.get("state", "")}
        if self.decision == "deny":
            back["error"] = "access_denied"
        else:
            code = f"code-{next(self._n)}"
            accepted = "read" if self.decision == "untick" else f"read,{q.get('scope', '')}"
            self.codes[code] = dict(self.athlete)
            back.update(code=code, scope=accepted)
        sep = "&" if "?" in q["redirect_uri"] else "?"
        return Response("", 302, {"Location": f"{q['redirect_uri']}{sep}{urlencode(back)}"})

    def _token(self, request: Request) -> Response:
        form = request.form
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return self._json(
                {
                    "message": "Authorization Error",
                    "errors": [{"resource": "Application", "field": "", "code": "invalid"}],
                },
                401,
            )
        expires = int((datetime.now(UTC) + timedelta(hours=6)).timestamp())
        grant = form.get("grant_type")
        if grant == "authorization_code":
            athlete = self.codes.pop(form.get("code", ""), None)  # a code works once
            if athlete is None:
                return self._json(_bad("AuthorizationCode", "code"), 400)
            n = athlete["id"]
            access, refresh = f"access-oauth-{n}", f"refresh-oauth-{n}"
            self.activities.setdefault(access, [])
            self.refresh[refresh] = (f"{access}-new", f"{refresh}-new")
            self.activities.setdefault(f"{access}-new", self.activities[access])
            return self._json(
                {
                    "token_type": "Bearer",
                    "expires_at": expires,
                    "expires_in": 21600,
                    "refresh_token": refresh,
                    "access_token": access,
                    "athlete": {"id": n, "username": None, "resource_state": 2, **athlete},
                }
            )
        if grant != "refresh_token":
            return self._json(_bad("Application", "grant_type"), 400)
        pair = self.refresh.get(form.get("refresh_token", ""))
        if pair is None:
            return self._json(_bad("RefreshToken", "refresh_token"), 400)
        return self._json(
            {"token_type": "Bearer", "access_token": pair[0], "refresh_token": pair[1], "expires_at": expires}
        )

    def _activities(self, request: Request, token: str) -> Response:
        if token in self.broken:
            return self._json({"message": "broken"}, self.broken[token])
        if token not in self.activities:
            return self._json({"message": "Authorization Error"}, 401)
        after = int(request.args.get("after", 0))
        page, per_page = int(request.args.get("page", 1)), int(request.args.get("per_page", 30))
        items = [
            a
            for a in self.activities[token]
            if not isinstance(a, dict)
            or "start_date" not in a
            or (_epoch(a["start_date"]) or after + 1) > after
        ]
        return self._json(items[(page - 1) * per_page : page * per_page])

    def _json(self, body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        h = dict(headers or {})
        if self.limit_headers and "X-RateLimit-Limit" not in h:
            h["X-RateLimit-Limit"], h["X-RateLimit-Usage"] = self.limit_headers
        return Response(json.dumps(body), status, h, content_type="application/json")


def _bad(resource: str, field_name: str) -> dict[str, Any]:
    return {
        "message": "Bad Request",
        "errors": [{"resource": resource, "field": field_name, "code": "invalid"}],
    }


def _epoch(iso: str) -> float | None:
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def activity(ext_id: int, days_ago: float = 1, distance: float = 5000.0, **extra: Any) -> dict:
    start = datetime.now(UTC) - timedelta(days=days_ago)
    return {
        "id": ext_id,
        "name": f"Run {ext_id}",
        "type": "Run",
        "sport_type": "Run",
        "distance": distance,
        "moving_time": 1500,
        "elapsed_time": 1600,
        "start_date": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        **extra,
    }
