"""Strava connect as Strava documents it: the admin's link → strava.com/oauth/authorize →
our callback with code and scope (or error=access_denied) → the code exchange → tokens stored
encrypted → the nightly sync uses them. Every refusal is shown on the participant."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import time_machine
from django.db import connection
from django.test import Client
from django.utils import timezone

from jobs.testing import drain, manual
from sync.models import Activity, Participant, SyncRun
from tests.sync.fake_strava import activity

pytestmark = pytest.mark.django_db


def _connect_link(admin_client, participant: Participant) -> str:
    page = admin_client.get(f"/admin/sync/participant/{participant.pk}/change/").content.decode()
    return re.search(r'href="(/sync/strava/connect/[^"]+/)"', page).group(1)


def _to_strava(browser: Client, link: str) -> str:
    """The athlete opens the link: we answer with a redirect to Strava's consent page."""
    response = browser.get(link)
    assert response.status_code == 302, response.content
    return response["Location"]


def _strava_answers(authorize_url: str) -> str:
    """The athlete decides on strava.com (the fake): Strava redirects back to our callback."""
    response = requests.get(authorize_url, allow_redirects=False, timeout=5)
    assert response.status_code == 302, response.text
    back = urlsplit(response.headers["Location"])
    assert (back.scheme, back.netloc, back.path) == ("http", "testserver", "/sync/strava/callback/")
    return f"{back.path}?{back.query}"


def _flow(admin_client, participant: Participant, browser: Client | None = None):
    browser = browser or Client()
    callback = _strava_answers(_to_strava(browser, _connect_link(admin_client, participant)))
    return browser, callback, browser.get(callback)


@pytest.fixture
def newcomer(admin_client) -> Participant:
    """An operator adds a participant by name only; Strava fills in the athlete."""
    response = admin_client.post("/admin/sync/participant/add/", {"name": "Ada", "active": "on"})
    assert response.status_code == 302
    return Participant.objects.get(name="Ada")


def test_authorize_url_carries_what_strava_documents(admin_client, fake_strava, newcomer):
    url = urlsplit(_to_strava(Client(), _connect_link(admin_client, newcomer)))

    assert url.path == "/oauth/authorize"
    q = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert q["client_id"] == "12345" and q["response_type"] == "code"
    assert q["scope"] == "activity:read" and q["approval_prompt"] == "auto"
    assert q["redirect_uri"] == "http://testserver/sync/strava/callback/"
    assert q["state"]  # signed; the callback checks it (test_a_forged_state_is_refused)


def test_connect_then_the_nightly_sync_uses_the_tokens(admin_client, fake_strava, newcomer):
    fake_strava.activities["access-oauth-777"] = [activity(31), activity(32)]

    _, _, response = _flow(admin_client, newcomer)

    assert response.status_code == 200 and "Strava connected" in response.content.decode()
    p = Participant.objects.get(pk=newcomer.pk)
    assert (p.athlete_id, p.needs_reauth, p.connect_error) == (777, False, "")
    assert p.access_token == "access-oauth-777" and p.refresh_token == "refresh-oauth-777"
    with connection.cursor() as cur:
        cur.execute("SELECT access_token_encrypted || refresh_token_encrypted FROM sync_participant")
        assert "oauth" not in cur.fetchone()[0]  # encrypted at rest
    form = fake_strava.requests_to("/oauth/token")[0].form
    assert form["grant_type"] == "authorization_code" and form["code"].startswith("code-")

    from sync.tasks import sync_all_task

    with manual():
        job_id = sync_all_task.enqueue(trigger="scheduled").job_id
        assert drain("sync") == {"succeeded": 2}
    run = SyncRun.objects.get(job_id=job_id, finished_at__isnull=False)
    assert run.participants_succeeded == 1
    assert set(Activity.objects.filter(participant=p).values_list("external_id", flat=True)) == {31, 32}
    assert {s.auth for s in fake_strava.requests_to("/athlete/activities")} == {"Bearer access-oauth-777"}


def test_denied_authorization_is_shown_on_the_participant(admin_client, fake_strava, newcomer):
    fake_strava.decision = "deny"

    _, callback, response = _flow(admin_client, newcomer)

    assert "error=access_denied" in callback
    assert response.status_code == 400 and "denied on Strava" in response.content.decode()
    p = Participant.objects.get(pk=newcomer.pk)
    assert "denied on Strava" in p.connect_error and p.connect_error_at is not None
    assert not p.refresh_token_encrypted and not fake_strava.requests_to("/oauth/token")
    listing = admin_client.get("/admin/sync/participant/").content.decode()
    assert "denied on Strava" in listing


def test_unticked_activity_scope_is_refused(admin_client, fake_strava, newcomer):
    fake_strava.decision = "untick"

    _, callback, response = _flow(admin_client, newcomer)

    assert "scope=read&" in callback or callback.endswith("scope=read")
    assert response.status_code == 400
    assert "did not grant activity:read" in Participant.objects.get(pk=newcomer.pk).connect_error


def test_an_expired_connect_link_is_shown_on_the_participant(admin_client, fake_strava, newcomer, settings):
    settings.STRAVA_CONNECT_MAX_AGE = 3600
    link = _connect_link(admin_client, newcomer)

    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        response = Client().get(link)

    assert response.status_code == 400 and "expired" in response.content.decode()
    assert "connect link expired" in Participant.objects.get(pk=newcomer.pk).connect_error
    assert not fake_strava.requests_to("/oauth/authorize")


def test_an_authorization_that_comes_back_too_late_is_shown(admin_client, fake_strava, newcomer):
    browser = Client()
    callback = _strava_answers(_to_strava(browser, _connect_link(admin_client, newcomer)))

    with time_machine.travel(timezone.now() + timedelta(minutes=20)):
        response = browser.get(callback)

    assert response.status_code == 400
    assert "authorization expired" in Participant.objects.get(pk=newcomer.pk).connect_error
    assert not fake_strava.requests_to("/oauth/token")


def test_a_used_or_expired_code_refused_by_strava_is_shown(admin_client, fake_strava, newcomer):
    browser = Client()
    authorize = _to_strava(browser, _connect_link(admin_client, newcomer))
    callback = _strava_answers(authorize)
    fake_strava.codes.clear()  # Strava no longer knows the code (expired)

    response = browser.get(callback)

    assert response.status_code == 400
    p = Participant.objects.get(pk=newcomer.pk)
    assert "refused the authorization code" in p.connect_error
    assert "AuthorizationCode.code invalid" in p.connect_error and not p.refresh_token_encrypted


def test_a_callback_from_another_browser_stores_nothing(admin_client, fake_strava, newcomer):
    callback = _strava_answers(_to_strava(Client(), _connect_link(admin_client, newcomer)))

    response = Client().get(callback)  # not the browser that opened the link

    assert response.status_code == 400 and "another browser" in response.content.decode()
    assert not Participant.objects.get(pk=newcomer.pk).refresh_token_encrypted
    assert not fake_strava.requests_to("/oauth/token")


def test_a_forged_state_is_refused(fake_strava, newcomer):
    response = Client().get("/sync/strava/callback/?state=forged&code=x&scope=read,activity:read")
    assert response.status_code == 400 and not fake_strava.requests_to("/oauth/token")


def test_reconnect_clears_needs_reauth_and_keeps_the_athlete(admin_client, fake_strava, make_participant):
    p = make_participant()
    Participant.objects.filter(pk=p.pk).update(needs_reauth=True)
    fake_strava.athlete = {"id": p.athlete_id, "firstname": "X", "lastname": "Y"}

    _, _, response = _flow(admin_client, p)

    assert response.status_code == 200
    p.refresh_from_db()
    assert not p.needs_reauth and p.access_token == f"access-oauth-{p.athlete_id}"


def test_another_athlete_on_a_participants_link_is_refused(admin_client, fake_strava, make_participant):
    p = make_participant()
    fake_strava.athlete = {"id": 999_999, "firstname": "Someone", "lastname": "Else"}

    _, _, response = _flow(admin_client, p)

    assert response.status_code == 400
    p.refresh_from_db()
    assert "another Strava athlete" in p.connect_error and p.athlete_id != 999_999
    assert p.access_token.startswith("access-") and "oauth" not in p.access_token


def test_missing_client_credentials_are_a_configuration_error(admin_client, fake_strava, newcomer, settings):
    link = _connect_link(admin_client, newcomer)
    settings.STRAVA_CLIENT_ID = ""

    response = Client().get(link)

    assert response.status_code == 503
    assert "configuration error" in response.content.decode()
    assert Participant.objects.get(pk=newcomer.pk).connect_error == ""  # not the athlete's fault


def test_refused_client_secret_at_the_exchange_is_a_configuration_error(
    admin_client, fake_strava, newcomer, settings
):
    browser = Client()
    callback = _strava_answers(_to_strava(browser, _connect_link(admin_client, newcomer)))
    settings.STRAVA_CLIENT_SECRET = "rotated-at-strava"

    response = browser.get(callback)

    assert response.status_code == 503 and "configuration error" in response.content.decode()
    assert Participant.objects.get(pk=newcomer.pk).connect_error == ""
