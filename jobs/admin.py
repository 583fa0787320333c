"""The operator's console: the job list, a job's page and the bulk actions (views: jobs/console.py).

The list defaults to jobs that matter (no-op polls hidden, see @job(poll=True)); internal
columns (seq, lease_token, secret_payload) are never shown. Every bulk action first shows a
confirmation page that says how many jobs and which; the work itself is done by services.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.functional import cached_property
from django.utils.html import format_html

import jobs.console.results_admin  # noqa: F401  (django-celery-results' pages say where job outcomes live)
from jobs.broker.queues import declared_queues
from jobs.console import views as console
from jobs.console.actions import jobs_cancel, jobs_discard, jobs_retry
from jobs.console.checks import job_queues
from jobs.core.registry import poll_tasks
from jobs.models import Job, JobState

HIDDEN = ("lease_token", "secret_payload")
_SHORT_ID = re.compile(r"^[0-9a-f]{4,32}$")


def id_prefix_range(term: str) -> tuple[uuid.UUID, uuid.UUID] | None:
    """The ids that start with `term` (the short id the list shows, or more of a full id) as a
    primary-key range: an index range scan, not a text search over a million rows."""
    hexed = term.strip().lower().replace("-", "")
    if not _SHORT_ID.match(hexed):
        return None
    return uuid.UUID(hexed.ljust(32, "0")), uuid.UUID(hexed.ljust(32, "f"))


class RelevanceFilter(admin.SimpleListFilter):
    """Default: hide succeeded no-op polls, the 5-second ticks that would bury real work."""

    title = "show"
    parameter_name = "show"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("all", "everything, polls included")]

    def choices(self, changelist: Any) -> Any:
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": "jobs that matter",
        }
        yield {
            "selected": self.value() == "all",
            "query_string": changelist.get_query_string({self.parameter_name: "all"}),
            "display": "everything, polls included",
        }

    def queryset(self, request: HttpRequest, queryset: QuerySet[Job]) -> QuerySet[Job]:
        if self.value() == "all":
            return queryset
        return queryset.exclude(state=JobState.SUCCEEDED, task__in=poll_tasks())


class QueueFilter(admin.SimpleListFilter):
    """Choices from the declared queues: no DISTINCT over a million rows."""

    title = "queue"
    parameter_name = "queue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        QUEUES = declared_queues()

        return [(q, q) for q in QUEUES]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Job]) -> QuerySet[Job]:
        return queryset.filter(queue=self.value()) if self.value() else queryset


class TaskFilter(admin.SimpleListFilter):
    """Choices from the registered jobs (what can be in the table), not a scan of the table."""

    title = "task"
    parameter_name = "task"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(name, name) for name in sorted(job_queues())]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Job]) -> QuerySet[Job]:
        return queryset.filter(task=self.value()) if self.value() else queryset


class CappedPaginator(Paginator):
    """Counts at most COUNT_CAP rows: an exact count of a filtered million-row table is slow and
    no operator pages that far (the list says "10000" then; filters narrow it)."""

    COUNT_CAP = 10_000

    @cached_property
    def count(self) -> int:
        return self.object_list.order_by()[: self.COUNT_CAP].count()  # type: ignore[attr-defined]


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = (
        "short_id",
        "name",
        "queue",
        "state_badge",
        "attempts",
        "deferrals",
        "enqueued_at",
        "scheduled_for",
        "finished_at",
        "run_time",
        "error",
    )
    list_display_links = ("short_id", "name")
    list_filter = (RelevanceFilter, "state", QueueFilter, TaskFilter)
    # The short id the list shows (a prefix of the id), the display name and the task name.
    search_fields = ("task", "display_name")
    search_help_text = "a job's id or the short id the list shows, a name (handler:webhook) or task"
    paginator = CappedPaginator
    actions = ("retry_jobs", "cancel_jobs", "discard_jobs")
    exclude = HIDDEN
    show_full_result_count = False
    list_per_page = 50
    change_list_template = "admin/jobs/job/change_list.html"

    class Media:
        css = {"all": ("jobs/admin_lists.css",)}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Job]:
        return super().get_queryset(request).defer(*HIDDEN)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Job], search_term: str
    ) -> tuple[QuerySet[Job], bool]:
        ids = id_prefix_range(search_term)
        if ids is not None:  # an id or its prefix: nothing else looks like 4+ hex digits here
            by_id = queryset.filter(id__gte=ids[0], id__lte=ids[1])
            if by_id.exists():
                return by_id, False
        return super().get_search_results(request, queryset, search_term)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Job | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Job | None = None) -> bool:
        return False  # "discard" (finished jobs only) replaces delete

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        return actions if console.can_operate(request) else {}

    # -- columns --------------------------------------------------------------------------------
    @admin.display(description="job", ordering="id")
    def short_id(self, obj: Job) -> str:
        return str(obj.id)[:8]

    @admin.display(description="name", ordering="task")
    def name(self, obj: Job) -> str:
        """`handler:webhook` rather than the dispatcher's task name; the task name otherwise."""
        if obj.display_name:
            return format_html(
                '<span class="job-name">{}</span><br><small class="job-task">{}</small>',
                obj.display_name,
                obj.task,
            )
        return obj.task

    @admin.display(description="scheduled for", ordering="scheduled_at")
    def scheduled_for(self, obj: Job) -> Any:
        return obj.scheduled_at if obj.state in (JobState.SCHEDULED, JobState.RETRYING) else "—"

    @admin.display(description="error")
    def error(self, obj: Job) -> str:
        """The last error's first line, cut short: the job's page shows it whole."""
        text = (obj.last_error or "").strip().splitlines()
        if not text:
            return "—"
        first = text[0]
        return format_html('<span class="job-error" title="{}">{}</span>', first[:500], first[:120])

    @admin.display(description="state", ordering="state")
    def state_badge(self, obj: Job) -> str:
        return format_html('<span class="job-state job-state-{}">{}</span>', obj.state, obj.state)

    @admin.display(description="attempt")
    def attempts(self, obj: Job) -> str:
        return f"{obj.attempt}/{obj.max_attempts}"

    @admin.display(description="run time")
    def run_time(self, obj: Job) -> str:
        if obj.started_at and obj.finished_at:
            return f"{(obj.finished_at - obj.started_at).total_seconds():.2f} s"
        return "—"

    # -- pages ----------------------------------------------------------------------------------
    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        return [
            path("dashboard/", wrap(console.dashboard), name="jobs_dashboard"),
            path("health.json", wrap(console.health_json), name="jobs_health"),
            path("lost/", wrap(console.reenqueue_lost), name="jobs_lost"),
            path("queue/<str:queue>/", wrap(console.queue_control), name="jobs_queue"),
            path("<uuid:job_id>/act/<str:action>/", wrap(console.job_act), name="jobs_job_act"),
            *super().get_urls(),
        ]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        return console.job_page(request, object_id, self)

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        return super().changelist_view(request, {**(extra_context or {}), "title": "Jobs"})

    # -- bulk actions, each behind a confirmation page -----------------------------------------
    @admin.action(description="Retry selected failed jobs…")
    def retry_jobs(self, request: HttpRequest, queryset: QuerySet[Job]) -> HttpResponse | None:
        return self._confirmed(request, queryset, "retry_jobs", JobState.FAILED, jobs_retry, "retried")

    @admin.action(description="Cancel selected waiting jobs…")
    def cancel_jobs(self, request: HttpRequest, queryset: QuerySet[Job]) -> HttpResponse | None:
        waiting = (JobState.QUEUED, JobState.SCHEDULED, JobState.RETRYING)
        return self._confirmed(request, queryset, "cancel_jobs", waiting, jobs_cancel, "cancelled")

    @admin.action(description="Discard selected finished jobs…")
    def discard_jobs(self, request: HttpRequest, queryset: QuerySet[Job]) -> HttpResponse | None:
        finished = (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)
        return self._confirmed(request, queryset, "discard_jobs", finished, jobs_discard, "discarded")

    def _confirmed(
        self, request: HttpRequest, queryset: QuerySet[Job], action: str, states: Any, run: Any, verb: str
    ) -> HttpResponse | None:
        states = (states,) if isinstance(states, str) else tuple(states)
        applies = queryset.filter(state__in=states)
        if request.POST.get("confirm") == "yes":
            result = run(jobs=applies.order_by("enqueued_at")[: console.BULK_MAX])
            self.message_user(request, result.summary(verb), messages.SUCCESS)
            return None
        by_task = Counter(applies.values_list("task", flat=True)[: console.BULK_MAX])
        context = {
            **self.admin_site.each_context(request),
            "title": f"Confirm: {action.replace('_', ' ')}",
            "opts": self.model._meta,
            "action": action,
            "verb": verb,
            "count": applies.count(),
            "others": queryset.exclude(state__in=states).count(),
            "states": ", ".join(states),
            "by_task": by_task.most_common(20),
            "selected": request.POST.getlist(ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
            "bulk_max": console.BULK_MAX,
        }
        return TemplateResponse(request, "admin/jobs/job/confirm_bulk.html", context)
