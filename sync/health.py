"""/healthz section: has the current day's sync run, and has it finished in reasonable time?

A run stays open while any participant is not final (retrying, snoozed on Strava's rate limit,
or a job that never came back); SYNC_HEALTH_MAX_RUN_HOURS after its start that is an alert,
not a silent green. Each failing state says why and what to do.

What is merely not set up yet is a warning, not a failure: Strava credentials missing, or no
sync run ever (a fresh install with its first participant, before the first nightly slot).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone

from sync import strava
from sync.models import FINAL_OUTCOMES, Participant, SyncRun
from sync.runs import sync_slot


def check_sync() -> dict[str, Any]:
    now = timezone.now()
    slot = sync_slot(now=now)
    run = SyncRun.objects.filter(local_date=slot.local_date).first()
    last = SyncRun.objects.order_by("-started_at").first()
    report: dict[str, Any] = {
        "schedule_enabled": slot.enabled,
        "local_date": str(slot.local_date),
        "day_run": run.state if run else None,
        "strava_configured": strava.client_configured(),
        "last_run": {"id": last.pk, "state": last.state, "started_at": last.started_at.isoformat()}
        if last
        else None,
    }
    problems: list[str] = []
    warnings: list[str] = []
    lag = (now - slot.at).total_seconds()
    participants = Participant.objects.filter(active=True).exists()
    if slot.enabled and run is None and lag >= settings.SYNC_HEALTH_MAX_LAG and (last or participants):
        (problems if last is not None else warnings).append(
            f"no sync run for {slot.local_date} {lag / 3600:.1f} h after its slot: is beat running "
            "and a worker consuming the 'sync' queue? (`manage.py sync_all` starts it by hand)"
        )
    if run is not None and run.finished_at is None:
        open_hours = (now - run.started_at).total_seconds() / 3600
        report["day_run_open_hours"] = round(open_hours, 2)
        if open_hours >= settings.SYNC_HEALTH_MAX_RUN_HOURS:
            waiting = run.outcomes.exclude(state__in=FINAL_OUTCOMES).count()
            problems.append(
                f"sync run {run.pk} still unfinished after {open_hours:.1f} h ({waiting} participant(s) "
                "not final): see its outcomes in the admin (rate limit, retries, a lost worker)"
            )
    if not report["strava_configured"] and participants:
        warnings.append("STRAVA_CLIENT_ID / STRAVA_CLIENT_SECRET are not set: tokens cannot be refreshed")
    report["ok"] = not problems
    if problems:
        report["problems"] = problems
        report["error"] = "; ".join(problems)
    if warnings:
        report["warnings"] = warnings
    return report
