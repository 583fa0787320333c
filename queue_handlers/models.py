"""Where a handler job's payload and result live.

The payload (e-mail addresses, prompts, webhook bodies) is PII or close to it, so it is not a
task argument: the dispatch task carries only the job type and this row's id, and the job
history shows those. The row is pruned with the job history (schedules.py).
"""

from __future__ import annotations

import uuid

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


class HandlerStats(models.Model):
    """No table: the anchor for the admin's processing-stats page (see admin.py)."""

    class Meta:
        managed = False
        verbose_name = "processing stats"
        verbose_name_plural = "processing stats"
        default_permissions = ("view",)

    def __str__(self) -> str:
        return "processing stats"
