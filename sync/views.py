"""The two public pages of Strava's OAuth: the connect link an athlete opens, and the callback.

No login: the athlete is not a user of this site. The signed link names the participant, the
signed `state` plus a session nonce tie the callback to the browser that started it.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from sync import strava
from sync.connect import ConnectRefused, participant_connect_callback, participant_connect_start

NONCE_KEY = "sync.strava.nonce"


def _redirect_uri(request: HttpRequest) -> str:
    return settings.STRAVA_REDIRECT_URI or request.build_absolute_uri(reverse("sync:strava-callback"))


def _page(request: HttpRequest, status: int, title: str, detail: str) -> HttpResponse:
    ctx = {"title": title, "detail": detail}
    return render(request, "sync/connect_result.html", ctx, status=status)


def _not_configured(request: HttpRequest) -> HttpResponse:
    return _page(
        request,
        503,
        "Strava is not configured on this site",
        "A configuration error on our side (STRAVA_CLIENT_ID / STRAVA_CLIENT_SECRET missing or refused), "
        "not a problem with your Strava account. The operator has to fix it; try again later.",
    )


@require_GET
def strava_connect(request: HttpRequest, link: str) -> HttpResponse:
    try:
        _, started = participant_connect_start(link_token=link, redirect_uri=_redirect_uri(request))
    except strava.StravaConfigError:
        return _not_configured(request)
    except ConnectRefused as exc:
        return _page(request, 400, "This connect link cannot be used", str(exc))
    request.session[NONCE_KEY] = started.nonce
    return HttpResponseRedirect(started.url)


@require_GET
def strava_callback(request: HttpRequest) -> HttpResponse:
    q = request.GET
    try:
        participant_connect_callback(
            state=q.get("state", ""),
            nonce=request.session.pop(NONCE_KEY, None),
            code=q.get("code", ""),
            scope=q.get("scope", ""),
            error=q.get("error", ""),
        )
    except strava.StravaConfigError:
        return _not_configured(request)
    except ConnectRefused as exc:
        return _page(request, 400, "Strava was not connected", str(exc))
    return _page(request, 200, "Strava connected", "Your activities will be synced from tonight on.")
