"""One participant's sync, called directly: tokens, upsert by external id, bad items, failures."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from sync import strava
from sync.models import Activity, OutcomeState, Participant, SyncRun, SyncTrigger
from sync.participants import participant_sync
from sync.runs import sync_run_fan_out
from tests.sync.fake_strava import activity

pytestmark = pytest.mark.django_db


def _run() -> SyncRun:
    return SyncRun.objects.create(
        trigger=SyncTrigger.MANUAL, job_id=str(uuid.uuid4()), started_at=timezone.now()
    )


def test_tokens_are_encrypted_at_rest_and_rotate_keys(make_participant, settings):
    p = make_participant()
    with connection.cursor() as cur:
        cur.execute(
            "SELECT access_token_encrypted, refresh_token_encrypted FROM sync_participant WHERE id = %s",
            [p.pk],
        )
        stored = " ".join(cur.fetchone())
    assert "access-" not in stored and "refresh-" not in stored
    assert Participant.objects.get(pk=p.pk).access_token.startswith("access-")

    from cryptography.fernet import Fernet

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEY = old
    p.access_token = "secret-a"
    p.save()
    settings.FIELD_ENCRYPTION_KEY = f"{new},{old}"  # rotation: new first, old still reads
    assert Participant.objects.get(pk=p.pk).access_token == "secret-a"


def test_sync_stores_activities_and_rerun_changes_nothing(make_participant, fake_strava):
    p = make_participant([activity(1), activity(2), activity(3, distance=10000.5)])

    first = participant_sync(run=_run(), participant=p)
    rows = {a.external_id: (a.distance_m, a.updated_at) for a in Activity.objects.all()}
    second = participant_sync(run=_run(), participant=p)

    assert (first.state, first.fetched, first.created) == (OutcomeState.SUCCEEDED, 3, 3)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 3)
    assert {a.external_id: (a.distance_m, a.updated_at) for a in Activity.objects.all()} == rows
    assert rows[3][0] == 10000.5
    assert Activity.objects.get(external_id=1).participant_id == p.pk


def test_an_edited_activity_is_updated_in_place(make_participant, fake_strava):
    p = make_participant([activity(1), activity(2)])
    participant_sync(run=_run(), participant=p)
    fake_strava.activities[f"access-{p.athlete_id}"][0]["distance"] = 4321.0

    outcome = participant_sync(run=_run(), participant=p)

    assert (outcome.created, outcome.updated, outcome.unchanged) == (0, 1, 1)
    assert Activity.objects.count() == 2
    assert Activity.objects.get(external_id=1).distance_m == 4321.0


def test_malformed_items_are_counted_and_the_rest_stored(make_participant):
    bad = [{"id": "x"}, {"id": 9, "start_date": "yesterday"}, activity(8, distance=-1), "junk"]
    p = make_participant([activity(1), *bad, activity(2)])

    outcome = participant_sync(run=_run(), participant=p)

    assert outcome.state == OutcomeState.SUCCEEDED
    assert (outcome.fetched, outcome.created, outcome.invalid) == (6, 2, 4)
    assert set(Activity.objects.values_list("external_id", flat=True)) == {1, 2}


def test_expired_token_is_refreshed_and_the_new_pair_stored(make_participant, fake_strava):
    p = make_participant([activity(1)], expired=True)

    participant_sync(run=_run(), participant=p)

    p.refresh_from_db()
    n = p.athlete_id
    assert (p.access_token, p.refresh_token) == (f"access-{n}-new", f"refresh-{n}-new")
    assert p.token_expires_at > timezone.now() + timedelta(hours=5)
    assert fake_strava.requests_to("/oauth/token")[0].form["refresh_token"] == f"refresh-{n}"
    assert {s.auth for s in fake_strava.requests_to("/athlete/activities")} == {f"Bearer access-{n}-new"}


def test_a_401_with_an_unexpired_token_refreshes_once(make_participant, fake_strava):
    p = make_participant([activity(1)])
    fake_strava.fail_next("/athlete/activities", 401)

    outcome = participant_sync(run=_run(), participant=p)

    assert outcome.state == OutcomeState.SUCCEEDED and outcome.created == 1
    assert len(fake_strava.requests_to("/oauth/token")) == 1


def test_revoked_access_fails_the_participant_and_later_runs_skip_it(make_participant, fake_strava):
    p = make_participant([activity(1)], expired=True)
    fake_strava.refresh.clear()  # Strava no longer accepts the refresh token

    run = _run()
    with pytest.raises(strava.StravaAuthError):
        participant_sync(run=run, participant=p)

    outcome = run.outcomes.get()
    assert outcome.state == OutcomeState.FAILED and "authorization revoked" in outcome.error
    p.refresh_from_db()
    assert p.needs_reauth
    later = sync_run_fan_out(run=_run())
    assert later.outcomes.get().state == OutcomeState.SKIPPED
    assert later.finished_at is not None


def test_transient_failure_is_retrying_until_the_final_attempt(make_participant, fake_strava):
    p = make_participant([activity(1)])
    fake_strava.broken[f"access-{p.athlete_id}"] = 502
    run = _run()

    with pytest.raises(strava.StravaUnavailable):
        participant_sync(run=run, participant=p, attempt=1, final=False)
    assert run.outcomes.get().state == OutcomeState.RETRYING
    with pytest.raises(strava.StravaUnavailable):
        participant_sync(run=run, participant=p, attempt=3, final=True)
    outcome = run.outcomes.get()
    assert (outcome.state, outcome.attempts) == (OutcomeState.FAILED, 3)
    assert "502" in outcome.error


def test_next_sync_asks_only_for_recent_activities(make_participant, fake_strava, settings):
    settings.SYNC_OVERLAP_HOURS = 48
    p = make_participant([activity(1)])
    participant_sync(run=_run(), participant=p)
    p.refresh_from_db()
    participant_sync(run=_run(), participant=p)

    afters = [int(s.args["after"]) for s in fake_strava.requests_to("/athlete/activities")]
    assert afters[0] <= (timezone.now() - timedelta(days=29)).timestamp()
    expected = (p.synced_through - timedelta(hours=48)).timestamp()
    assert abs(afters[-1] - expected) < 2


def test_no_token_reaches_the_logs(make_participant, fake_strava, caplog):
    caplog.set_level(logging.DEBUG)
    p = make_participant([activity(1)], expired=True)
    participant_sync(run=_run(), participant=p)

    text = caplog.text + " ".join(str(r.__dict__) for r in caplog.records)
    assert "access-" not in text and "refresh-" not in text and "client-secret" not in text


def test_missing_client_credentials_are_a_configuration_error_not_a_revoked_athlete(
    make_participant, fake_strava, settings
):
    p = make_participant([activity(1)], expired=True)  # needs a refresh, which needs the secret
    settings.STRAVA_CLIENT_SECRET = ""
    run = _run()

    with pytest.raises(strava.StravaConfigError):
        participant_sync(run=run, participant=p)

    outcome = run.outcomes.get()
    assert outcome.state == OutcomeState.FAILED
    assert outcome.error.startswith("configuration error: STRAVA_CLIENT_ID and STRAVA_CLIENT_SECRET")
    p.refresh_from_db()
    assert not p.needs_reauth  # the athlete did nothing wrong: the next run tries again


@pytest.mark.parametrize("final", [False, True])
def test_a_truncated_response_never_leaves_the_participant_running(
    make_participant, broken_http, settings, final
):
    p = make_participant([activity(1)])
    settings.STRAVA_API_URL = broken_http("chunked")
    run = _run()
    SyncRun.objects.filter(pk=run.pk).update(fanned_out_at=timezone.now())  # p is its only participant

    with pytest.raises(strava.StravaUnavailable, match="ChunkedEncodingError"):
        participant_sync(run=run, participant=p, attempt=3 if final else 1, final=final)

    outcome = run.outcomes.get()
    assert outcome.state == (OutcomeState.FAILED if final else OutcomeState.RETRYING)
    assert outcome.finished_at is not None
    run.refresh_from_db()
    assert (run.finished_at is not None) == final


def test_rate_limited_participant_waits_as_retrying_not_running(make_participant, fake_strava):
    p = make_participant([activity(1)])
    fake_strava.fail_next("/athlete/activities", 429, **{"Retry-After": "120"})
    run = _run()

    with pytest.raises(strava.StravaRateLimited):
        participant_sync(run=run, participant=p)

    outcome = run.outcomes.get()
    assert (outcome.state, outcome.error) == (OutcomeState.RETRYING, "rate limited, back in 120s")


@pytest.mark.django_db(transaction=True)
def test_a_database_error_mid_sync_is_recorded_not_left_running(make_participant, fake_strava):
    """The database itself refuses (a lock held elsewhere, lock_timeout): still not `running`."""
    import psycopg

    p = make_participant([activity(1), activity(2)])
    run = _run()
    participant_sync(run=run, participant=p)  # the rows exist now
    db = connection.settings_dict
    other = psycopg.connect(
        host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], password=db["PASSWORD"], dbname=db["NAME"]
    )
    try:
        other.execute("SELECT id FROM sync_activity WHERE external_id = 1 FOR UPDATE")  # held, not committed
        with connection.cursor() as cur:
            cur.execute("SET lock_timeout = '200ms'")
        again = _run()
        with pytest.raises(OperationalError):
            participant_sync(run=again, participant=p, attempt=1, final=False)
        assert again.outcomes.get().state == OutcomeState.RETRYING
        with pytest.raises(OperationalError):
            participant_sync(run=again, participant=p, attempt=3, final=True)
        outcome = again.outcomes.get()
        assert outcome.state == OutcomeState.FAILED and "lock timeout" in outcome.error
    finally:
        other.close()
        with connection.cursor() as cur:
            cur.execute("SET lock_timeout = 0")
