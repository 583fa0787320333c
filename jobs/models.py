"""The job table: one row per accepted job, the source of truth about it (Oban's `oban_jobs`).

A row is written when the job is enqueued (in the caller's transaction when there is one) and
holds everything needed to run it again; Redis only carries it. See docs/ARCHITECTURE.md.
"""

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
WAITING_FOR_TIME = (JobState.SCHEDULED, JobState.RETRYING)


class Job(models.Model):
    """A job as Oban would see it: state, attempts, arguments, result and last error.

    `args`/`kwargs` are what people may see (sensitive values "[filtered]"); when they differ
    from the real arguments, the real ones are in `secret_payload`, Fernet-encrypted.
    `published_at` is NULL while no broker holds the job (the relay publishes it);
    `lease_expires_at` is renewed while a process runs it (rescue looks for lapsed ones).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    task = models.CharField(max_length=200)  # indexed by jobs_job_task_state (task first)
    # What the job is, for people (`handler:webhook`), set at enqueue by the task's `display`
    # option; NULL shows the task name. Never holds arguments that are not already shown.
    display_name = models.CharField(max_length=200, null=True, blank=True)
    queue = models.CharField(max_length=100, default="default")
    state = models.CharField(max_length=16, choices=JobState.choices, default=JobState.QUEUED)
    attempt = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=1)
    priority = models.PositiveSmallIntegerField(null=True, blank=True)
    args = models.JSONField(null=True, blank=True)
    kwargs = models.JSONField(null=True, blank=True)
    secret_payload = models.TextField(null=True, blank=True, editable=False)
    result = models.JSONField(null=True, blank=True)
    unique_key = models.CharField(max_length=100, null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    scheduled_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=200, null=True, blank=True)
    lease_token = models.CharField(max_length=100, null=True, blank=True, editable=False)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(null=True, blank=True)
    deferrals = models.PositiveIntegerField(default=0)
    retry_of = models.UUIDField(null=True, blank=True)
    # A gate's key while the job is parked behind it (queue limit, single flight): the holder
    # wakes the oldest waiter when it lets go.
    waiting_for = models.CharField(max_length=200, null=True, blank=True)

    class Meta:
        ordering = ["-enqueued_at"]
        indexes = [
            models.Index(fields=["state", "queue"], name="jobs_job_state_queue"),
            models.Index(fields=["task", "state"], name="jobs_job_task_state"),
            models.Index(fields=["queue", "state", "enqueued_at"], name="jobs_job_queue_wait"),
            models.Index(fields=["finished_at"], name="jobs_job_finished"),
            models.Index(fields=["enqueued_at"], name="jobs_job_enqueued"),
            # The mover's and the relay's sweeps touch only unfinished rows.
            models.Index(
                fields=["scheduled_at"],
                name="jobs_job_due",
                condition=models.Q(state__in=["scheduled", "retrying"]),
            ),
            models.Index(
                fields=["enqueued_at"],
                name="jobs_job_unpublished",
                condition=models.Q(state="queued", published_at__isnull=True),
            ),
            models.Index(
                fields=["unique_key", "enqueued_at"],
                name="jobs_job_unique",
                condition=models.Q(unique_key__isnull=False),
            ),
            models.Index(
                fields=["waiting_for", "scheduled_at"],
                name="jobs_job_parked",
                condition=models.Q(state="scheduled", waiting_for__isnull=False),
            ),
            models.Index(
                fields=["lease_expires_at"],
                name="jobs_job_running",
                condition=models.Q(state="started"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task}[{self.id}] {self.state}"

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES


class JobAttempt(models.Model):
    """One execution of a job: when, where, how long, and how it ended (the job's story)."""

    class Outcome(models.TextChoices):
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        RETRYING = "retrying"
        SNOOZED = "snoozed"
        LOST = "lost"
        CANCELLED = "cancelled"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="attempts", db_constraint=False)
    attempt = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.FloatField(null=True, blank=True)
    worker = models.CharField(max_length=200, blank=True, default="")
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.RUNNING)
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["job", "started_at"]
        indexes = [models.Index(fields=["started_at"], name="jobs_attempt_started")]

    def __str__(self) -> str:
        return f"{self.job_id} #{self.attempt} {self.outcome}"


class QueueControl(models.Model):
    """Run-time switches of a queue, honoured by every worker: paused, and a cluster-wide
    limit on how many of its jobs run at once (Oban Pro's global_limit)."""

    queue = models.CharField(max_length=100, primary_key=True)
    paused = models.BooleanField(default=False)
    global_limit = models.PositiveIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.queue


class Lease(models.Model):
    """Locks, leases and rate-limit marks for the single-machine mode (no Redis)."""

    key = models.CharField(max_length=250, primary_key=True)
    value = models.CharField(max_length=250, blank=True, default="")
    expires_at = models.FloatField(db_index=True)

    def __str__(self) -> str:
        return self.key


class Heartbeat(models.Model):
    """Last sign of life of a singleton process (beat), for health."""

    name = models.CharField(max_length=50, primary_key=True)
    at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.at}"
