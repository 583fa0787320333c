from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from jobs.models import Job, JobState
from jobs.services import JobActionError, job_cancel, job_retry


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "task",
        "queue",
        "state",
        "attempt",
        "max_attempts",
        "enqueued_at",
        "started_at",
        "finished_at",
    )
    list_filter = ("state", "queue", "task")
    search_fields = ("id", "task")
    date_hierarchy = "enqueued_at"
    actions = ("retry_jobs", "cancel_jobs")
    readonly_fields = [f.name for f in Job._meta.fields]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Job | None = None) -> bool:
        return False

    @admin.action(description="Retry selected failed jobs")
    def retry_jobs(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        self._apply(request, queryset.filter(state=JobState.FAILED), job_retry, "re-queued")

    @admin.action(description="Cancel selected waiting jobs")
    def cancel_jobs(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        self._apply(request, queryset, job_cancel, "cancelled")

    def _apply(self, request: HttpRequest, queryset: QuerySet[Job], action, verb: str) -> None:
        done = 0
        for job in queryset:
            try:
                action(job=job)
                done += 1
            except JobActionError as exc:
                self.message_user(request, str(exc), messages.WARNING)
        self.message_user(request, f"{done} job(s) {verb}.", messages.SUCCESS)
