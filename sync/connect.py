"""Connecting a participant to Strava through Strava's OAuth (developers.strava.com/docs/authentication).

1. The admin shows each participant a connect link (signed, valid STRAVA_CONNECT_MAX_AGE) to send
   to the athlete. 2. Opening it redirects to strava.com/oauth/authorize with scope activity:read
   and a `state` that names the participant and a nonce kept in the browser's session (so a
   callback cannot be replayed from another browser). 3. Strava redirects back with `code` and the
   accepted `scope`, or with `error=access_denied`. 4. The code is exchanged for tokens and the
   athlete, stored encrypted. Every way this can fail is written on the participant
   (`connect_error`), except our own misconfiguration, which is an operator's error page.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone

from sync import strava
from sync.models import Participant

logger = logging.getLogger("sync")
LINK_SALT = "sync.strava.connect-link"
STATE_SALT = "sync.strava.oauth-state"
STATE_MAX_AGE = 15 * 60  # from leaving for strava.com to coming back


class ConnectRefused(Exception):
    """The connect attempt failed for a reason the participant record shows (no secrets)."""


@dataclass(frozen=True)
class Started:
    url: str  # Strava's authorize URL to redirect to
    nonce: str  # keep in the browser's session; the callback must bring the same one


def connect_link_token(*, participant: Participant) -> str:
    return signing.dumps({"p": participant.pk}, salt=LINK_SALT)


def participant_connect_start(*, link_token: str, redirect_uri: str) -> tuple[Participant, Started]:
    """Check the link and build Strava's authorize URL; an expired link is recorded."""
    try:
        data = signing.loads(link_token, salt=LINK_SALT, max_age=settings.STRAVA_CONNECT_MAX_AGE)
    except signing.SignatureExpired:
        participant = _participant(signing.loads(link_token, salt=LINK_SALT).get("p"))
        raise _refuse(participant, "the connect link expired; ask for a new one") from None
    except signing.BadSignature:
        raise ConnectRefused("this connect link is not valid") from None
    participant = _participant(data.get("p"))
    if participant is None:
        raise ConnectRefused("this connect link is not valid")
    nonce = secrets.token_urlsafe(16)
    state = signing.dumps({"p": participant.pk, "n": nonce}, salt=STATE_SALT)
    return participant, Started(strava.authorize_url(redirect_uri=redirect_uri, state=state), nonce)


def participant_connect_callback(
    *, state: str, nonce: str | None, code: str = "", scope: str = "", error: str = ""
) -> Participant:
    """Finish the dance: verify state, refuse what Strava or the athlete refused, exchange the code."""
    try:
        data = signing.loads(state, salt=STATE_SALT, max_age=STATE_MAX_AGE)
    except signing.SignatureExpired:
        participant = _participant(signing.loads(state, salt=STATE_SALT).get("p"))
        raise _refuse(participant, "the authorization expired before it came back; connect again") from None
    except signing.BadSignature:
        raise ConnectRefused("unknown or forged authorization state") from None
    participant = _participant(data.get("p"))
    if participant is None:
        raise ConnectRefused("unknown or forged authorization state")
    if not nonce or not secrets.compare_digest(str(data.get("n")), nonce):
        raise ConnectRefused("this authorization was started in another browser; open the connect link again")
    if error:
        why = "denied on Strava" if error == "access_denied" else f"Strava answered {error[:40]}"
        raise _refuse(participant, f"the athlete's authorization was {why}")
    if not strava.scope_allows_reading(scope):
        raise _refuse(
            participant, "the athlete did not grant activity:read; connect again and keep it ticked"
        )
    try:
        tokens, athlete = strava.token_exchange(code=code)
    except strava.StravaBadResponse as exc:  # 400: the code is invalid, expired or already used
        raise _refuse(
            participant, f"Strava refused the authorization code (expired or used): {exc}"
        ) from None
    except strava.StravaUnavailable as exc:
        raise _refuse(participant, f"Strava was unavailable, try again: {exc}") from None
    return participant_tokens_store(participant=participant, tokens=tokens, athlete=athlete)


def participant_tokens_store(
    *, participant: Participant, tokens: strava.Tokens, athlete: strava.Athlete
) -> Participant:
    """Store a fresh token pair (encrypted) and who it belongs to; clears any connect problem."""
    problem = ""
    with transaction.atomic():
        p = Participant.objects.select_for_update().get(pk=participant.pk)
        other = Participant.objects.filter(athlete_id=athlete.id).exclude(pk=p.pk).first()
        if p.athlete_id is not None and p.athlete_id != athlete.id:
            problem = f"authorized as another Strava athlete ({athlete.id}, expected {p.athlete_id})"
        elif other is not None:
            problem = f"Strava athlete {athlete.id} is already participant {other.pk}"
        else:
            p.athlete_id = athlete.id
            if athlete.name and not p.name:
                p.name = athlete.name
            p.access_token, p.refresh_token = tokens.access_token, tokens.refresh_token
            p.token_expires_at = tokens.expires_at
            p.needs_reauth, p.connect_error, p.connect_error_at = False, "", None
            p.connected_at = timezone.now()
            p.save()
    if problem:
        raise _refuse(p, problem)
    logger.info("strava connected", extra={"fields": {"participant_id": p.pk, "athlete_id": athlete.id}})
    return p


def _participant(pk: object) -> Participant | None:
    return Participant.objects.filter(pk=pk).first() if isinstance(pk, int) else None


def _refuse(participant: Participant | None, reason: str) -> ConnectRefused:
    if participant is not None:
        Participant.objects.filter(pk=participant.pk).update(
            connect_error=reason[:300], connect_error_at=timezone.now()
        )
        logger.warning("strava connect refused", extra={"fields": {"participant_id": participant.pk}})
    return ConnectRefused(reason)
