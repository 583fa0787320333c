"""Syncing one participant: fresh tokens, every new activity page, an upsert by Strava's id.

Running it twice changes nothing: activities are matched on `external_id` (unique) and only rows
whose fields differ are written. The outcome row says what happened, in counts, without PII.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from jobs import TRANSIENT_ERRORS
from sync import strava
from sync.models import Activity, OutcomeState, Participant, SyncOutcome, SyncRun

logger = logging.getLogger("sync")
REFRESH_MARGIN = timedelta(minutes=2)
FIELDS = (
    "participant_id",
    "name",
    "sport_type",
    "distance_m",
    "moving_time_s",
    "elapsed_time_s",
    "start_date",
)
# Infrastructure hiccups the job retries with backoff, like a Strava outage.
INFRA_ERRORS = TRANSIENT_ERRORS
RETRIED: tuple[type[Exception], ...] = (strava.StravaUnavailable, *INFRA_ERRORS)


def participant_connect(
    *, athlete_id: int, access_token: str, refresh_token: str, expires_at: datetime, name: str = ""
) -> Participant:
    """Store (or replace) a participant's tokens after the OAuth dance; clears needs_reauth."""
    participant, _ = Participant.objects.get_or_create(athlete_id=athlete_id, defaults={"name": name})
    if name:
        participant.name = name
    participant.access_token = access_token
    participant.refresh_token = refresh_token
    participant.token_expires_at = expires_at
    participant.needs_reauth = False
    participant.save()
    return participant


def participant_access_token(*, participant: Participant, force_refresh: bool = False) -> str:
    """A usable access token: refreshed (and the new pair stored encrypted) when close to expiry."""
    expires = participant.token_expires_at
    if not force_refresh and expires and expires > timezone.now() + REFRESH_MARGIN:
        return participant.access_token
    tokens = strava.token_refresh(refresh_token=participant.refresh_token)
    participant.access_token = tokens.access_token
    participant.refresh_token = tokens.refresh_token
    participant.token_expires_at = tokens.expires_at
    participant.save(update_fields=["access_token_encrypted", "refresh_token_encrypted", "token_expires_at"])
    logger.info("strava token refreshed", extra={"fields": {"participant_id": participant.pk}})
    return tokens.access_token


def participant_sync(
    *, run: SyncRun, participant: Participant, attempt: int = 1, final: bool = True
) -> SyncOutcome:
    """Sync one participant for `run`; transient errors are re-raised for the job to retry
    unless this is the final attempt, and every failure is recorded on the outcome."""
    outcome, _ = SyncOutcome.objects.get_or_create(run=run, participant=participant)
    if outcome.state == OutcomeState.SUCCEEDED:  # a redelivered or re-run job: already done
        return outcome
    began = timezone.now()
    _set(
        outcome,
        state=OutcomeState.RUNNING,
        attempts=attempt,
        started_at=began,
        error="",
        fetched=0,
        created=0,
        updated=0,
        unchanged=0,
        invalid=0,
    )
    try:
        counts = _fetch_and_store(participant)
    except strava.StravaRateLimited as exc:
        # Not an attempt: the job snoozes until the window resets, the outcome says so meanwhile.
        _finish(run, outcome, OutcomeState.RETRYING, error=f"rate limited, back in {exc.retry_after:.0f}s")
        raise
    except strava.StravaAuthError as exc:
        Participant.objects.filter(pk=participant.pk).update(needs_reauth=True)
        _finish(run, outcome, OutcomeState.FAILED, error=f"authorization revoked: {exc}")
        raise
    except strava.StravaConfigError as exc:
        _finish(run, outcome, OutcomeState.FAILED, error=f"configuration error: {exc}")
        raise
    except BaseException as exc:
        # Whatever it is (a truncated body, the database, a soft time limit, a bug), the outcome
        # must not stay `running`: that would keep the day's run open for ever.
        # A non-Exception (worker shutdown) brings the job back, like a retried error.
        retried = (isinstance(exc, RETRIED) or not isinstance(exc, Exception)) and not final
        _finish_safely(run, outcome, OutcomeState.RETRYING if retried else OutcomeState.FAILED, exc)
        raise
    Participant.objects.filter(pk=participant.pk).update(synced_through=began, last_synced_at=timezone.now())
    _finish(run, outcome, OutcomeState.SUCCEEDED, **counts)
    return outcome


def _fetch_and_store(participant: Participant) -> dict[str, int]:
    after = _after(participant)
    counts = {"fetched": 0, "created": 0, "updated": 0, "unchanged": 0, "invalid": 0}
    token = participant_access_token(participant=participant)
    try:
        pages = strava.activities_pages(access_token=token, after=after)
        first = next(pages, None)
    except strava.StravaAuthError:
        # A token revoked early or rotated elsewhere: one refresh, then a refusal is final.
        token = participant_access_token(participant=participant, force_refresh=True)
        pages = strava.activities_pages(access_token=token, after=after)
        first = next(pages, None)
    page = first
    while page is not None:
        for k, v in activities_store(participant=participant, items=page).items():
            counts[k] += v
        page = next(pages, None)
    logger.info("participant synced", extra={"fields": {"participant_id": participant.pk, **counts}})
    return counts


def _after(participant: Participant) -> datetime:
    if participant.synced_through:
        return participant.synced_through - timedelta(hours=settings.SYNC_OVERLAP_HOURS)
    return timezone.now() - timedelta(days=settings.SYNC_INITIAL_DAYS)


def activity_parse(raw: Any) -> dict[str, Any] | None:
    """Strava's activity summary as our fields; None when it is not a usable activity."""
    if not isinstance(raw, dict):
        return None
    try:
        external_id = int(raw["id"])
        start = parse_datetime(str(raw["start_date"]))
        distance = float(raw.get("distance") or 0)
        moving = int(raw.get("moving_time") or 0)
        elapsed = int(raw.get("elapsed_time") or 0)
    except (KeyError, TypeError, ValueError):
        return None
    if start is None or timezone.is_naive(start) or distance < 0 or moving < 0 or elapsed < 0:
        return None
    return {
        "external_id": external_id,
        "name": str(raw.get("name") or "")[:255],
        "sport_type": str(raw.get("sport_type") or raw.get("type") or "")[:50],
        "distance_m": distance,
        "moving_time_s": moving,
        "elapsed_time_s": elapsed,
        "start_date": start,
    }


def activities_store(*, participant: Participant, items: list[Any]) -> dict[str, int]:
    """Upsert one page by external id; malformed items are counted and skipped, not fatal."""
    counts = {"fetched": len(items), "created": 0, "updated": 0, "unchanged": 0, "invalid": 0}
    parsed: dict[int, dict[str, Any]] = {}
    for raw in items:
        fields = activity_parse(raw)
        if fields is None:
            counts["invalid"] += 1
            logger.warning(
                "invalid activity skipped",
                extra={
                    "fields": {
                        "participant_id": participant.pk,
                        "activity_id": raw.get("id") if isinstance(raw, dict) else None,
                    }
                },
            )
            continue
        fields["participant_id"] = participant.pk
        parsed[fields["external_id"]] = fields
    if not parsed:
        return counts
    now = timezone.now()
    with transaction.atomic():
        existing = {
            a.external_id: a
            for a in Activity.objects.select_for_update().filter(external_id__in=list(parsed))
        }
        new, changed = [], []
        for ext_id, fields in parsed.items():
            row = existing.get(ext_id)
            if row is None:
                new.append(Activity(**fields))
            elif any(getattr(row, f) != fields[f] for f in FIELDS):
                for f in FIELDS:
                    setattr(row, f, fields[f])
                row.updated_at = now
                changed.append(row)
            else:
                counts["unchanged"] += 1
        if new:  # a concurrent insert of the same id updates instead of failing the page
            Activity.objects.bulk_create(
                new,
                update_conflicts=True,
                unique_fields=["external_id"],
                update_fields=[*FIELDS, "updated_at"],
            )
        if changed:
            Activity.objects.bulk_update(changed, [*FIELDS, "updated_at"])
    counts["created"], counts["updated"] = len(new), len(changed)
    return counts


def _set(outcome: SyncOutcome, **fields: Any) -> None:
    SyncOutcome.objects.filter(pk=outcome.pk).update(**fields)
    for k, v in fields.items():
        setattr(outcome, k, v)


def _finish_safely(run: SyncRun, outcome: SyncOutcome, state: str, exc: BaseException) -> None:
    """Record the failure even when the database is what failed: a fresh connection, and if
    that fails too the error is logged (ids only) and the original exception goes on."""
    error = f"{type(exc).__name__}: {exc}"
    try:
        _finish(run, outcome, state, error=error)
    except Exception:
        from django.db import connection

        connection.close()  # a broken connection is replaced on the next query
        try:
            _finish(run, outcome, state, error=error)
        except Exception:
            logger.exception(
                "could not record the sync outcome",
                extra={"fields": {"outcome_id": outcome.pk, "run_id": run.pk, "state": state}},
            )


def _finish(run: SyncRun, outcome: SyncOutcome, state: str, **fields: Any) -> None:
    from sync.runs import sync_run_finish_if_done

    if "error" in fields:
        fields["error"] = fields["error"][:500]
    _set(outcome, state=state, finished_at=timezone.now(), **fields)
    if state != OutcomeState.RETRYING:
        sync_run_finish_if_done(run=run)
