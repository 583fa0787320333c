"""Health and metrics endpoints.

`/healthz` is public and says only that this process serves (no database, broker or worker
call: it stays fast however the rest is doing, so probes never starve `/slack/events`).
`/healthz/ready` and `/metrics` need the health token (`Authorization: Bearer …`) or the login
of a user allowed to view jobs (`jobs.view_job`; superusers have it): they name workers, queues
and which sections fail, so being staff is not enough.
"""

from __future__ import annotations

import hmac

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from jobs.conf import conf
from jobs.observe.health import readiness
from jobs.observe.metrics import exposition


def authorized(request: HttpRequest) -> bool:
    """A user who may view jobs, or the health token as a bearer token (constant-time compare)."""
    user = getattr(request, "user", None)
    if user is not None and user.is_active and user.has_perm("jobs.view_job"):
        return True
    token = conf().health_token
    header = request.headers.get("Authorization", "")
    if not token or not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header.removeprefix("Bearer ").encode(), token.encode())


def _refused() -> JsonResponse:
    response = JsonResponse({"error": "health token, or a login allowed to view jobs, required"}, status=401)
    response["WWW-Authenticate"] = 'Bearer realm="health"'
    return response


@require_GET
@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness: 200 "ok" while this process serves requests."""
    return HttpResponse(b"ok", content_type="text/plain")


@require_GET
@never_cache
def ready(request: HttpRequest) -> HttpResponse:
    """Readiness: 200 when every check passes, 503 naming the failing ones and what to do."""
    if not authorized(request):
        return _refused()
    ok, report = readiness()
    return JsonResponse(report, status=200 if ok else 503)


@require_GET
@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus exposition: queue depth per state, durations, failures, deferrals."""
    if not authorized(request):
        return _refused()
    body, content_type = exposition()
    return HttpResponse(body, content_type=content_type)
