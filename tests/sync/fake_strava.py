"""A Strava stand-in on pytest-httpserver: athletes' activities by access token, the token
endpoint, rate-limit headers, and failures on demand. It records every request it answers."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

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
            if request.path.endswith("/oauth/token"):
                return self._token(request)
            if request.path.endswith("/athlete/activities"):
                return self._activities(request, auth.removeprefix("Bearer "))
            return self._json({"message": "Record Not Found"}, 404)

    def _token(self, request: Request) -> Response:
        form = request.form
        if form.get("grant_type") != "refresh_token" or not form.get("client_secret"):
            return self._json({"message": "Bad Request"}, 400)
        pair = self.refresh.get(form.get("refresh_token", ""))
        if pair is None:
            return self._json(
                {
                    "message": "Bad Request",
                    "errors": [{"resource": "RefreshToken", "field": "refresh_token", "code": "invalid"}],
                },
                400,
            )
        expires = int((datetime.now(UTC) + timedelta(hours=6)).timestamp())
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
