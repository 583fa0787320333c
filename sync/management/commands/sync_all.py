"""`manage.py sync_all [--participant ID ...]`: start the sync job now and follow it.

It enqueues the same unique job as the nightly run, so during the nightly run (or within the
hour after it) it follows that run instead of starting another.
"""

from __future__ import annotations

import time
from typing import IO, Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sync.models import Participant, SyncOutcome, SyncRun, SyncTrigger


class _Lines:
    """The progress bar without tqdm (the image installs no `local` extra): a line per change."""

    def __init__(self, *, total: int | None, file: IO[str], **_: Any) -> None:
        self.total, self.n, self._file = total, 0, file
        self._shown: tuple[int, int | None] = (-1, None)

    def refresh(self) -> None:
        if (self.n, self.total) != self._shown:
            self._shown = (self.n, self.total)
            self._file.write(f"sync: {self.n}/{self.total or '?'} participants\n")

    def close(self) -> None:
        pass


def _bar(**kwargs: Any) -> Any:
    try:
        from tqdm import tqdm
    except ImportError:
        return _Lines(**kwargs)
    return tqdm(**kwargs)


class Command(BaseCommand):
    help = "Sync Strava activities now (all active participants, or --participant ID)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--participant",
            type=int,
            action="append",
            dest="participants",
            metavar="ID",
            help="only this participant (repeatable)",
        )
        parser.add_argument("--no-wait", action="store_true", help="enqueue and return")
        parser.add_argument(
            "--timeout", type=float, default=3600, help="seconds to follow the run before giving up waiting"
        )

    def handle(
        self,
        *args,
        participants: list[int] | None = None,
        no_wait: bool = False,
        timeout: float = 3600,
        **options,
    ) -> None:
        from sync.tasks import sync_all_task

        ids = sorted(set(participants)) if participants else None
        if ids:
            known = set(Participant.objects.filter(pk__in=ids).values_list("pk", flat=True))
            if missing := [i for i in ids if i not in known]:
                raise CommandError(f"no participant with id {', '.join(map(str, missing))}")
        res = sync_all_task.enqueue(participant_ids=ids, trigger=SyncTrigger.MANUAL)
        if res.duplicate:
            self.stdout.write(f"A sync is already queued or ran within the hour: job {res.job_id}")
        else:
            self.stdout.write(f"Sync started: job {res.job_id}")
        if no_wait:
            return
        run = self._follow(res.job_id, timeout)
        if run is None:
            return
        self.stdout.write(
            f"Run {run.pk} {run.state}: {run.participants_succeeded} ok, "
            f"{run.participants_failed} failed, {run.participants_skipped} skipped; "
            f"{run.activities_created} new and {run.activities_updated} updated activities"
        )
        if run.participants_failed:
            for o in run.outcomes.filter(state="failed").order_by("participant_id"):
                self.stdout.write(f"  participant {o.participant_id}: {o.error}")

    def _follow(self, job_id: str, timeout: float) -> SyncRun | None:
        from jobs import Job, JobState

        deadline = time.monotonic() + timeout
        bar = None
        try:
            while time.monotonic() < deadline:
                run = SyncRun.objects.filter(job_id=job_id).first()
                job = Job.objects.filter(pk=job_id).only("state", "result").first()
                if (
                    run is None
                    and job is not None
                    and job.state in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)
                ):
                    note = (job.result or {}).get("skipped") if isinstance(job.result, dict) else None
                    self.stdout.write(f"Job {job_id} {job.state}" + (f": {note}" if note else ""))
                    return None
                if run is not None:
                    if bar is None:
                        bar = _bar(
                            total=run.participants_total or None,
                            unit="participant",
                            file=self.stderr._out,
                            desc="sync",
                        )
                    done = SyncOutcome.objects.filter(
                        run=run, state__in=("succeeded", "failed", "skipped")
                    ).count()
                    bar.total = max(run.participants_total, done)
                    bar.n = done
                    bar.refresh()
                    if run.finished_at:
                        return run
                time.sleep(0.2)
        finally:
            if bar is not None:
                bar.close()
        raise CommandError(
            f"job {job_id} has not finished after {timeout:.0f}s; is a worker consuming the 'sync' queue?"
        )
