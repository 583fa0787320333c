"""django-celery-results' task-result pages, with a word on where job outcomes live: a job task
(`@job`) writes no task-result row; its state, result and every attempt are on its job page."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html
from django_celery_results.admin import TaskResultAdmin
from django_celery_results.models import TaskResult


class JobAwareTaskResultAdmin(TaskResultAdmin):
    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        messages.info(
            request,
            format_html(
                "Results of plain Celery tasks only. Jobs (every <code>@job</code> task) keep their "
                'state, result and attempts in <a href="{}">Jobs</a>; <code>AsyncResult(job_id)</code> '
                "reads them there.",
                reverse("admin:jobs_job_changelist"),
            ),
        )
        return super().changelist_view(request, extra_context)


if admin.site.is_registered(TaskResult):
    admin.site.unregister(TaskResult)
admin.site.register(TaskResult, JobAwareTaskResultAdmin)
