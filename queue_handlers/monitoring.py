"""How the handlers are doing: health (for /healthz) and per-type processing stats (admin).

Stats come from the jobs history (jobs.models.Job rows of the dispatch task, whose kwargs hold
the job type), so they agree with what the jobs admin and Flower show.
"""

from __future__ import annotations

import math
import statistics
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Q
from django.db.models.fields.json import KT
from django.utils import timezone

from jobs import Job, JobState, check_broker, queue_depth
from queue_handlers.health import webhook_signing
from queue_handlers.registry import get_handler_class, known_types, validate_all_handlers

TASK_NAME = "queue_handlers.tasks.handler_job_task"
DURATION_SAMPLE = 5000


def handler_queues() -> list[str]:
    queues = {"handlers"}
    for job_type in known_types():
        try:
            queues.add(get_handler_class(job_type).queue)
        except Exception:
            continue
    return sorted(queues)


def _depth(queue: str) -> int:
    depth = queue_depth(queue)
    if depth is None:
        raise ConnectionError("the broker did not answer")
    return depth


def health_check() -> dict[str, Any]:
    """Registry valid, broker reachable, queue depth under HANDLER_HEALTH_MAX_DEPTH."""
    problems = validate_all_handlers()
    report: dict[str, Any] = {"handlers": len(known_types()), "problems": problems}
    try:
        report["broker"] = check_broker()
        depths = {q: _depth(q) for q in handler_queues()}
    except Exception as exc:
        report["broker"] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
        depths = {}
    report["queue_depth"] = depths
    report["max_depth"] = settings.HANDLER_HEALTH_MAX_DEPTH
    too_deep = [q for q, n in depths.items() if n > settings.HANDLER_HEALTH_MAX_DEPTH]
    if too_deep:
        report["too_deep"] = too_deep
    webhooks = webhook_signing()
    report["webhooks"] = webhooks
    errors = [*problems]
    if not report["broker"].get("ok", False):
        errors.append(f"broker: {report['broker'].get('error', 'unreachable')}")
    if too_deep:
        errors.append(f"queue(s) deeper than {settings.HANDLER_HEALTH_MAX_DEPTH}: {', '.join(too_deep)}")
    if not webhooks["ok"]:
        errors.append(webhooks["error"])
    report["ok"] = not errors
    if errors:
        report["error"] = "; ".join(map(str, errors))
    elif webhooks.get("warning"):
        report["warning"] = webhooks["warning"]
    return report


def get_processing_stats(*, window: int | None = None, now: Any = None) -> dict[str, Any]:
    """Per job type over the last `window` seconds: succeeded, failed, retried, waiting for a
    rate-limit slot (now), queued/running (now), mean and p95 duration of successes."""
    window = window or settings.HANDLER_STATS_WINDOW
    now = now or timezone.now()
    since = now - timedelta(seconds=window)
    finished_in_window = Q(finished_at__gte=since)
    live = Q(state__in=[JobState.QUEUED, JobState.SCHEDULED, JobState.STARTED, JobState.RETRYING])
    base = Job.objects.filter(task=TASK_NAME).filter(finished_in_window | live)
    counts = (
        base.annotate(job_type=KT("kwargs__job_type"))
        .values("job_type")
        .annotate(
            succeeded=Count("id", filter=Q(state=JobState.SUCCEEDED)),
            failed=Count("id", filter=Q(state=JobState.FAILED)),
            cancelled=Count("id", filter=Q(state=JobState.CANCELLED)),
            retried=Count("id", filter=Q(attempt__gt=1)),
            retrying=Count("id", filter=Q(state=JobState.RETRYING)),
            waiting_for_rate_limit=Count("id", filter=Q(state=JobState.SCHEDULED, deferrals__gt=0)),
            scheduled=Count("id", filter=Q(state=JobState.SCHEDULED, deferrals=0)),
            queued=Count("id", filter=Q(state=JobState.QUEUED)),
            running=Count("id", filter=Q(state=JobState.STARTED)),
        )
    )
    by_type: dict[str, dict[str, Any]] = {t: _empty() for t in known_types()}
    for row in counts:
        job_type = row.pop("job_type") or "?"
        by_type.setdefault(job_type, _empty()).update(row)
    for job_type, stats in by_type.items():
        stats.update(_durations(job_type, since))
    return {
        "window_s": window,
        "since": since.isoformat(),
        "now": now.isoformat(),
        "types": dict(sorted(by_type.items())),
    }


def _empty() -> dict[str, Any]:
    return {
        k: 0
        for k in (
            "succeeded",
            "failed",
            "cancelled",
            "retried",
            "retrying",
            "waiting_for_rate_limit",
            "scheduled",
            "queued",
            "running",
        )
    }


def _durations(job_type: str, since: Any) -> dict[str, float | None]:
    rows = (
        Job.objects.filter(
            task=TASK_NAME,
            state=JobState.SUCCEEDED,
            finished_at__gte=since,
            started_at__isnull=False,
            kwargs__job_type=job_type,
        )
        .order_by("-finished_at")
        .values_list("started_at", "finished_at")[:DURATION_SAMPLE]
    )
    seconds = sorted(max((f - s).total_seconds(), 0.0) for s, f in rows if s and f)
    if not seconds:
        return {"mean_s": None, "p95_s": None}
    p95 = seconds[min(len(seconds) - 1, math.ceil(0.95 * len(seconds)) - 1)]
    return {"mean_s": round(statistics.fmean(seconds), 4), "p95_s": round(p95, 4)}
