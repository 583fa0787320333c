"""Where a handler job's payload and result live.

The payload (e-mail addresses, prompts, webhook bodies) is PII or close to it, so it is not a
task argument: the dispatch task carries only the job type and this row's id, and the job
history shows those. The row is pruned with the job history (schedules.py).
"""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.db import models


class HandlerJob(models.Model):
    """One enqueued handler job's input and output. Its id is the jobs.Job id."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    job_type = models.CharField(max_length=63, db_index=True)
    payload = models.JSONField()
    result = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.job_type}[{self.id}]"


class HandlerRateLimit(models.Model):
    """A job type's rate limit set in the admin; it wins over HANDLER_RATE_LIMITS and the
    handler's own. Read by the worker at every job start (tasks.handler_rate), so a change counts
    for the next job, no restart. No row: the environment's (or the handler's) limit applies;
    deleting the row goes back to it."""

    job_type = models.CharField(max_length=63, unique=True)
    rate_limit = models.CharField(
        max_length=32,
        blank=True,
        default="",
        help_text='Starts per window across all workers, e.g. "100/60s", "10/s", "30/1h". Empty: no limit.',
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["job_type"]
        verbose_name = "handler rate limit"

    def __str__(self) -> str:
        return f"{self.job_type}: {self.rate_limit or 'no limit'}"

    def clean(self) -> None:
        from jobs import RateLimit

        if self.rate_limit:
            try:
                RateLimit.parse(self.rate_limit)
            except ValueError as exc:
                raise ValidationError({"rate_limit": f"{exc} (e.g. 100/60s, 10/s, 30/1h)"}) from None


class HandlerStats(models.Model):
    """No table: the anchor for the admin's processing-stats page (see admin.py)."""

    class Meta:
        managed = False
        verbose_name = "processing stats"
        verbose_name_plural = "processing stats"
        default_permissions = ("view",)

    def __str__(self) -> str:
        return "processing stats"
