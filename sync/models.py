"""Participants, their activities, and a record of each sync run with one outcome per participant.

`SyncRun.local_date` is unique: the nightly run and the catch-up check both claim the local day
(SYNC_TIMEZONE) by inserting the row, so "exactly one run per local day" holds in the database
whatever the clocks, restarts or DST changes do (docs/sync.md).
"""

from __future__ import annotations

from django.db import models

from sync import crypto


class Participant(models.Model):
    """A challenge participant and its Strava connection. Tokens are stored encrypted and only
    ever arrive through Strava's OAuth (sync.connect); athlete_id is filled in by the callback."""

    name = models.CharField(max_length=200, blank=True)
    athlete_id = models.BigIntegerField(unique=True, null=True, blank=True)
    active = models.BooleanField(default=True, db_index=True)
    access_token_encrypted = models.TextField(blank=True, default="", editable=False)
    refresh_token_encrypted = models.TextField(blank=True, default="", editable=False)
    token_expires_at = models.DateTimeField(null=True, blank=True)
    # Set when Strava refuses the tokens (revoked access): skipped until reconnected.
    needs_reauth = models.BooleanField(default=False, db_index=True)
    # Why the last Strava connect attempt did not connect (denied, expired, scope unticked...).
    connect_error = models.CharField(max_length=300, blank=True, default="")
    connect_error_at = models.DateTimeField(null=True, blank=True)
    connected_at = models.DateTimeField(null=True, blank=True)
    # Activities starting after this (less SYNC_OVERLAP_HOURS) are fetched on the next run.
    synced_through = models.DateTimeField(null=True, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:  # no name: this string reaches logs and admin messages
        return f"participant {self.pk} (athlete {self.athlete_id})"

    @property
    def access_token(self) -> str:
        return crypto.decrypt(self.access_token_encrypted)

    @access_token.setter
    def access_token(self, value: str) -> None:
        self.access_token_encrypted = crypto.encrypt(value)

    @property
    def refresh_token(self) -> str:
        return crypto.decrypt(self.refresh_token_encrypted)

    @refresh_token.setter
    def refresh_token(self, value: str) -> None:
        self.refresh_token_encrypted = crypto.encrypt(value)


class Activity(models.Model):
    external_id = models.BigIntegerField(unique=True)
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="activities")
    name = models.CharField(max_length=255, blank=True)
    sport_type = models.CharField(max_length=50, db_index=True)
    distance_m = models.FloatField(default=0)
    moving_time_s = models.PositiveIntegerField(default=0)
    elapsed_time_s = models.PositiveIntegerField(default=0)
    start_date = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-start_date"]
        verbose_name_plural = "activities"

    def __str__(self) -> str:
        return f"activity {self.external_id}"


class SyncTrigger(models.TextChoices):
    SCHEDULED = "scheduled"
    CATCH_UP = "catch_up"
    MANUAL = "manual"


class SyncRunState(models.TextChoices):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"  # some participants failed, the rest synced
    FAILED = "failed"  # every participant failed


class SyncRun(models.Model):
    trigger = models.CharField(max_length=16, choices=SyncTrigger.choices, db_index=True)
    # The local day this run is the daily sync of; NULL for extra manual runs.
    local_date = models.DateField(null=True, blank=True, unique=True)
    job_id = models.CharField(max_length=64, unique=True)
    participant_ids = models.JSONField(null=True, blank=True)  # None: everyone active
    state = models.CharField(
        max_length=16, choices=SyncRunState.choices, default=SyncRunState.RUNNING, db_index=True
    )
    started_at = models.DateTimeField(db_index=True)
    # Set once every participant has its outcome row: only then can the run be finished.
    fanned_out_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    participants_total = models.PositiveIntegerField(default=0)
    participants_succeeded = models.PositiveIntegerField(default=0)
    participants_failed = models.PositiveIntegerField(default=0)
    participants_skipped = models.PositiveIntegerField(default=0)
    activities_fetched = models.PositiveIntegerField(default=0)
    activities_created = models.PositiveIntegerField(default=0)
    activities_updated = models.PositiveIntegerField(default=0)
    activities_invalid = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"sync run {self.pk} ({self.trigger}, {self.local_date or 'extra'})"


class OutcomeState(models.TextChoices):
    PENDING = "pending"
    RUNNING = "running"
    RETRYING = "retrying"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"


FINAL_OUTCOMES = (OutcomeState.SUCCEEDED, OutcomeState.FAILED, OutcomeState.SKIPPED)


class SyncOutcome(models.Model):
    """What one run did for one participant: the counts, or why it failed (no PII, no tokens)."""

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="outcomes")
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="outcomes")
    state = models.CharField(
        max_length=16, choices=OutcomeState.choices, default=OutcomeState.PENDING, db_index=True
    )
    job_id = models.CharField(max_length=64, blank=True, default="")
    attempts = models.PositiveIntegerField(default=0)
    fetched = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    invalid = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True, default="")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "participant"]
        constraints = [
            models.UniqueConstraint(fields=["run", "participant"], name="sync_outcome_once_per_run")
        ]

    def __str__(self) -> str:
        return f"run {self.run_id} participant {self.participant_id}: {self.state}"
