"""Job history: one row per dispatched job, kept current by batched upserts (jobs.history)."""

from __future__ import annotations

import uuid

from django.db import models


class JobState(models.TextChoices):
    SCHEDULED = "scheduled"
    QUEUED = "queued"
    STARTED = "started"
    RETRYING = "retrying"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED_STATES = (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)
PENDING_STATES = (JobState.SCHEDULED, JobState.QUEUED, JobState.RETRYING)


class Job(models.Model):
    """A Celery task as Oban would see it: its state, attempts, arguments and last error.

    `seq` orders the writes that reach this row from several processes: a write only moves the
    row forward (a late "queued" never hides a "succeeded").
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    task = models.CharField(max_length=200, db_index=True)
    queue = models.CharField(max_length=100, db_index=True, default="default")
    state = models.CharField(max_length=16, choices=JobState.choices, default=JobState.QUEUED, db_index=True)
    attempt = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=1)
    priority = models.PositiveSmallIntegerField(null=True, blank=True)
    args = models.JSONField(null=True, blank=True)
    kwargs = models.JSONField(null=True, blank=True)
    result = models.JSONField(null=True, blank=True)
    unique_key = models.CharField(max_length=100, null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True, db_index=True)
    scheduled_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True, db_index=True)
    worker = models.CharField(max_length=200, null=True, blank=True)
    last_error = models.TextField(null=True, blank=True)
    deferrals = models.PositiveIntegerField(default=0)
    retry_of = models.UUIDField(null=True, blank=True)
    seq = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["-enqueued_at"]
        indexes = [models.Index(fields=["state", "queue"]), models.Index(fields=["task", "state"])]

    def __str__(self) -> str:
        return f"{self.task}[{self.id}] {self.state}"

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES


class Lease(models.Model):
    """Locks, leases and rate-limit marks for the single-machine mode (no Redis)."""

    key = models.CharField(max_length=250, primary_key=True)
    value = models.CharField(max_length=250, blank=True, default="")
    expires_at = models.FloatField(db_index=True)

    def __str__(self) -> str:
        return self.key


class ScheduledJob(models.Model):
    """A job waiting for its time (countdown, rate-limit slot, single-flight turn) in the
    single-machine mode; with Redis these wait in a sorted set instead."""

    job_id = models.CharField(max_length=64, primary_key=True)
    due = models.FloatField(db_index=True)
    payload = models.JSONField()

    def __str__(self) -> str:
        return self.job_id


class Heartbeat(models.Model):
    """Last sign of life of a singleton process (beat), for /healthz."""

    name = models.CharField(max_length=50, primary_key=True)
    at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.at}"
