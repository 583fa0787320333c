"""What the operator's dashboard shows, as a few indexed queries that stay fast at 1 M job rows.

- per queue, unfinished and failed counts by state: one GROUP BY on (state, queue) restricted to
  those states (index jobs_job_state_queue; succeeded rows, the bulk, are never read);
- the oldest waiting job per queue: one index probe on (queue, state, enqueued_at) per queue;
- throughput: finished rows of the last hour / day grouped by minute / hour (index on finished_at);
- running now: the partial index on started rows whose lease is still in the future (a dead
  worker's jobs drop out within one lease, before rescue takes them); slowest and most failing
  jobs of the last day, by display name (`handler:webhook`), else task name.
No-op polls (@job(poll=True) that succeeded) are left out of the charts: they are not work.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Max, Q
from django.db.models.functions import TruncHour, TruncMinute
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from jobs.broker.queues import declared_queues
from jobs.core.registry import poll_tasks
from jobs.models import Job, JobState, QueueControl

WAITING = (JobState.SCHEDULED, JobState.QUEUED, JobState.RETRYING)
COUNTED = (*WAITING, JobState.STARTED, JobState.FAILED)


def _known_queues() -> list[str]:
    QUEUES = declared_queues()

    return list(QUEUES)


def queue_rows(*, now: datetime | None = None) -> list[dict[str, Any]]:
    """One row per queue: counts by state, oldest waiting age, paused flag and global limit."""
    now = now or timezone.now()
    counts: dict[str, dict[str, int]] = {}
    for row in Job.objects.filter(state__in=COUNTED).values("queue", "state").annotate(n=Count("*")):
        counts.setdefault(row["queue"], {})[row["state"]] = row["n"]
    controls = {c.queue: c for c in QueueControl.objects.all()}
    declared = set(_known_queues())
    names = list(dict.fromkeys([*_known_queues(), *sorted(counts), *sorted(controls)]))
    rows = []
    for queue in names:
        by_state = counts.get(queue, {})
        oldest = None
        if by_state.get(JobState.QUEUED):
            oldest = (
                Job.objects.filter(queue=queue, state=JobState.QUEUED)
                .order_by("enqueued_at")
                .values_list("enqueued_at", flat=True)
                .first()
            )
        control = controls.get(queue)
        rows.append(
            {
                "queue": queue,
                "declared": queue in declared,
                "counts": by_state,
                "waiting": sum(by_state.get(s, 0) for s in WAITING),
                "oldest_wait_s": round((now - oldest).total_seconds()) if oldest else None,
                "paused": bool(control and control.paused),
                "limit": control.global_limit if control else None,
            }
        )
    return rows


def _not_noise() -> Q:
    return ~Q(state=JobState.SUCCEEDED, task__in=poll_tasks())


def throughput(*, now: datetime | None = None, hours: int = 1) -> list[dict[str, Any]]:
    """Completed and failed per minute (hours=1, 60 points) or per hour (hours=24, 24 points)."""
    now = now or timezone.now()
    step = timedelta(minutes=1) if hours == 1 else timedelta(hours=1)
    trunc = TruncMinute if hours == 1 else TruncHour
    start = now - timedelta(hours=hours)
    rows = (
        Job.objects.filter(finished_at__gte=start, state__in=(JobState.SUCCEEDED, JobState.FAILED))
        .filter(_not_noise())
        .annotate(bucket=trunc("finished_at"))
        .values("bucket", "state")
        .annotate(n=Count("*"))
    )
    found: dict[tuple[datetime, str], int] = {}
    for r in rows:
        found[(r["bucket"].replace(second=0, microsecond=0), r["state"])] = r["n"]
    first = trunc_to(start + step, step)
    points = []
    for i in range(hours * 60 if hours == 1 else hours):
        at = first + i * step
        points.append(
            {"at": at, "succeeded": found.get((at, "succeeded"), 0), "failed": found.get((at, "failed"), 0)}
        )
    return points


def trunc_to(at: datetime, step: timedelta) -> datetime:
    at = at.replace(second=0, microsecond=0)
    return at.replace(minute=0) if step >= timedelta(hours=1) else at


def running(*, now: datetime | None = None, limit: int = 10) -> dict[str, Any]:
    """What runs now, per worker: started rows whose lease is still held (a killed worker stops
    renewing, so its jobs leave this list when their lease lapses, not when rescue runs)."""
    now = now or timezone.now()
    started = Job.objects.filter(state=JobState.STARTED, lease_expires_at__gt=now)
    per_worker = list(started.values("worker").annotate(n=Count("*")).order_by("-n", "worker"))
    fields = ("id", "task", "display_name", "queue", "worker", "started_at")
    jobs = list(started.order_by("started_at").only(*fields)[:limit])
    return {
        "per_worker": per_worker,
        "jobs": jobs,
        "more": max(sum(w["n"] for w in per_worker) - len(jobs), 0),
    }


def task_leaders(*, now: datetime | None = None, limit: int = 5) -> dict[str, list[dict[str, Any]]]:
    """The slowest (average run time) and the most failing tasks of the last 24 hours."""
    now = now or timezone.now()
    day = Job.objects.filter(finished_at__gte=now - timedelta(days=1))
    run_time = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
    slowest = list(
        day.filter(started_at__isnull=False, state__in=(JobState.SUCCEEDED, JobState.FAILED))
        .values("task", "display_name")
        .annotate(avg=Avg(run_time), max=Max(run_time), n=Count("*"))
        .order_by("-avg")[:limit]
    )
    for row in slowest:  # intervals (PostgreSQL) or timedeltas (SQLite) -> seconds
        for key in ("avg", "max"):
            value = row[key]
            row[key] = round(value.total_seconds() if isinstance(value, timedelta) else float(value or 0), 3)
    failing = list(
        day.filter(state=JobState.FAILED)
        .values("task", "display_name")
        .annotate(n=Count("*"))
        .order_by("-n", "task", "display_name")[:limit]
    )
    for row in (*slowest, *failing):
        row["name"] = row["display_name"] or row["task"]
    return {"slowest": slowest, "failing": failing}


def dashboard_context(*, now: datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    hour, day = throughput(now=now, hours=1), throughput(now=now, hours=24)
    return {
        "now": now,
        "queues": queue_rows(now=now),
        "hour": hour,
        "day": day,
        "hour_svg": bar_chart(hour, label_every=10, fmt="%H:%M"),
        "day_svg": bar_chart(day, label_every=4, fmt="%H:00"),
        "running": running(now=now),
        "leaders": task_leaders(now=now),
        "totals": {
            "hour_succeeded": sum(p["succeeded"] for p in hour),
            "hour_failed": sum(p["failed"] for p in hour),
        },
    }


def bar_chart(points: list[dict[str, Any]], *, label_every: int, fmt: str) -> SafeString:
    """A stacked bar chart (succeeded green, failed red) as inline SVG, drawn here: no JS, no CDN."""
    width, height, pad = 720, 160, 28
    top = max([p["succeeded"] + p["failed"] for p in points] + [1])
    bar_w = (width - pad) / max(len(points), 1)
    parts = [
        f'<svg class="jobs-chart" viewBox="0 0 {width} {height + 20}" width="100%" role="img" '
        f'xmlns="http://www.w3.org/2000/svg"><text x="0" y="10" font-size="10">peak {top}</text>'
        f'<line x1="{pad}" y1="{height}" x2="{width}" y2="{height}" stroke="#999"/>'
    ]
    for i, p in enumerate(points):
        x = pad + i * bar_w
        ok_h = (height - 12) * p["succeeded"] / top
        bad_h = (height - 12) * p["failed"] / top
        title = escape(f"{p['at']:{fmt}} succeeded {p['succeeded']} failed {p['failed']}")
        parts.append(
            f"<g><title>{title}</title>"
            f'<rect x="{x:.1f}" y="{height - ok_h:.1f}" width="{bar_w * 0.8:.1f}" '
            f'height="{ok_h:.1f}" fill="#417690"/>'
            f'<rect x="{x:.1f}" y="{height - ok_h - bad_h:.1f}" width="{bar_w * 0.8:.1f}" '
            f'height="{bad_h:.1f}" fill="#ba2121"/></g>'
        )
        if i % label_every == 0:
            parts.append(f'<text x="{x:.1f}" y="{height + 14}" font-size="10">{p["at"]:{fmt}}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every interpolated text is a number or escaped above
