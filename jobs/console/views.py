"""The console's own admin pages: the dashboard, a job's page, queue controls, "re-enqueue lost".

Reading needs the admin's view permission on jobs; acting (retry, cancel, discard, pause,
limit, re-enqueue) needs `jobs.change_job` (superusers have it). Every action is a POST with
the admin's CSRF protection and calls a service; the page then says what happened.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from jobs.conf import conf
from jobs.console.actions import JobActionError, job_cancel, job_discard, job_retry
from jobs.console.links import job_links
from jobs.console.lost import jobs_reenqueue_lost, lost_jobs
from jobs.console.queues import QueueError, queue_limit_set, queue_pause, queue_resume
from jobs.core.registry import poll_tasks
from jobs.models import FINISHED_STATES, Job, JobState
from jobs.observe.dashboard import dashboard_context
from jobs.observe.health import readiness
from jobs.observe.verdict import verdict, verdict_from

BULK_MAX = 10_000  # one confirmation acts on at most this many jobs (a page says so)
WAITING = (JobState.QUEUED, JobState.SCHEDULED, JobState.RETRYING)


def can_operate(request: HttpRequest) -> bool:
    return request.user.has_perm("jobs.change_job")


def _can_view(request: HttpRequest) -> None:
    if not request.user.has_perm("jobs.view_job"):
        raise PermissionDenied


def _context(request: HttpRequest, title: str, **extra: Any) -> dict[str, Any]:
    from django.contrib import admin

    return {
        **admin.site.each_context(request),
        "title": title,
        "opts": Job._meta,
        "can_operate": can_operate(request),
        **extra,
    }


def refresh_seconds(raw: str | None, default: str = "10") -> str:
    """The page's auto-refresh period: digits only (0 = off, at most an hour). Anything else —
    `0;url=https://elsewhere` would turn the meta refresh into an open redirect — is the default."""
    raw = (raw or "").strip()
    return str(min(int(raw), 3600)) if raw.isdigit() and len(raw) <= 5 else default


def dashboard(request: HttpRequest) -> HttpResponse:
    """Is it healthy, what is stuck, what failed and why — at a glance."""
    _can_view(request)
    context = dashboard_context()
    lost = lost_jobs()
    _ok, report = readiness()
    consumers = report["checks"].get("consumers", {}).get("queues") or {}
    for row in context["queues"]:
        row["consumers"] = consumers.get(row["queue"])
    context.update(
        lost_count=lost.count(),
        lost_after=conf().lost_after,
        poll_tasks=poll_tasks(),
        refresh=refresh_seconds(request.GET.get("refresh")),
        verdict=verdict_from(report),
    )
    return TemplateResponse(
        request, "admin/jobs/dashboard.html", _context(request, "Jobs dashboard", **context)
    )


def job_page(request: HttpRequest, object_id: str, model_admin: Any) -> HttpResponse:
    """A job's story: every attempt, deferrals, filtered arguments, links, and the buttons."""
    _can_view(request)
    try:
        job = Job.objects.defer("secret_payload", "lease_token").get(pk=object_id)
    except (Job.DoesNotExist, ValidationError, ValueError) as exc:
        raise Http404("no such job") from exc
    attempts = list(job.attempts.order_by("started_at"))
    context = _context(
        request,
        f"{job.display_name or job.task} · {job.state}",
        job=job,
        attempts=attempts,
        snoozes=[a for a in attempts if a.outcome == "snoozed"],
        links=job_links(job),
        retries=Job.objects.filter(retry_of=job.id).only("id", "state", "enqueued_at"),
        can_retry=job.state == JobState.FAILED,
        can_cancel=job.state in WAITING or job.state == JobState.STARTED,
        cancel_grace=conf().cancel_grace,
        can_discard=job.state in FINISHED_STATES,
        run_time=(job.finished_at - job.started_at).total_seconds()
        if job.started_at and job.finished_at
        else None,
    )
    return TemplateResponse(request, "admin/jobs/job/detail.html", context)


def health_json(request: HttpRequest) -> JsonResponse:
    """The dashboard banner's data (polled by the page every few seconds): the verdict and each
    failing or warning check's reason and fix, from the cached readiness report."""
    _can_view(request)
    response = JsonResponse(verdict())
    response["Cache-Control"] = "no-store"
    return response


@require_POST
def job_act(request: HttpRequest, job_id: Any, action: str) -> HttpResponse:
    if not can_operate(request):
        raise PermissionDenied
    job = get_object_or_404(Job.objects.defer("secret_payload"), pk=job_id)
    here = reverse("admin:jobs_job_change", args=[job.pk])
    try:
        if action == "retry":
            job_retry(job=job)
            messages.success(request, "Retried: the same job waits for a worker again.")
            return HttpResponseRedirect(here)
        if action == "cancel":
            was_running = job.state == JobState.STARTED
            job_cancel(job=job)
            messages.success(
                request,
                f"Cancelled: its run is stopped (within {conf().cancel_grace:g} s)."
                if was_running
                else "Cancelled: it will not start.",
            )
        elif action == "discard":
            job_discard(job=job)
            messages.success(request, f"Job {job.pk} discarded from the history.")
            return HttpResponseRedirect(reverse("admin:jobs_job_changelist"))
        else:
            raise Http404("unknown action")
    except JobActionError as exc:
        messages.warning(request, str(exc))
    return HttpResponseRedirect(here)


@require_POST
def queue_control(request: HttpRequest, queue: str) -> HttpResponse:
    """Pause, resume, or set/clear the cluster-wide limit of one queue."""
    if not can_operate(request):
        raise PermissionDenied
    what = request.POST.get("do", "")
    try:
        if what == "pause":
            queue_pause(queue=queue)
            messages.success(request, f"Queue {queue} paused: its jobs wait until it is resumed.")
        elif what == "resume":
            queue_resume(queue=queue)
            messages.success(request, f"Queue {queue} resumed.")
        elif what == "limit":
            raw = request.POST.get("limit", "").strip()
            limit = int(raw) if raw else None
            queue_limit_set(queue=queue, limit=limit)
            messages.success(
                request, f"Queue {queue}: " + (f"at most {limit} running" if limit else "no limit")
            )
        else:
            messages.warning(request, "nothing to do")
    except (QueueError, ValueError) as exc:
        messages.error(request, f"Queue {queue}: {exc}")
    refresh = refresh_seconds(request.GET.get("refresh"), default="")
    suffix = f"?refresh={refresh}" if refresh else ""
    return HttpResponseRedirect(reverse("admin:jobs_dashboard") + suffix)


def reenqueue_lost(request: HttpRequest) -> HttpResponse:
    """GET: how many jobs look lost and which; POST (confirmed): publish them again."""
    _can_view(request)
    lost = lost_jobs()
    if request.method == "POST":
        if not can_operate(request):
            raise PermissionDenied
        result = jobs_reenqueue_lost(jobs=list(lost[:BULK_MAX]))
        messages.success(request, result.summary("re-enqueued"))
        return HttpResponseRedirect(reverse("admin:jobs_dashboard"))
    rows = list(lost.values_list("queue", "task")[:BULK_MAX])
    context = _context(
        request,
        "Confirm: re-enqueue lost jobs",
        count=lost.count(),
        by_queue=Counter(q for q, _ in rows).most_common(),
        by_task=Counter(t for _, t in rows).most_common(20),
        lost_after=conf().lost_after,
        bulk_max=BULK_MAX,
    )
    return TemplateResponse(request, "admin/jobs/confirm_lost.html", context)
