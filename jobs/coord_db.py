"""The database coordinator for the single-machine mode: the same contract as Redis, kept in
`jobs_lease` and `jobs_scheduledjob` rows, each operation inside one transaction."""

from __future__ import annotations

import time

from django.db import IntegrityError, transaction

from jobs.coordination import (
    CANCEL_TTL,
    CLAIM_CANCELLED,
    CLAIM_DONE,
    CLAIM_OK,
    CLAIM_RUNNING,
    DONE_TTL,
    key,
)
from jobs.models import Lease, ScheduledJob


def _live(k: str) -> Lease | None:
    return Lease.objects.select_for_update().filter(key=k, expires_at__gt=time.time()).first()


def _put(k: str, value: str, ttl: float) -> None:
    Lease.objects.update_or_create(key=k, defaults={"value": value, "expires_at": time.time() + ttl})


class DatabaseCoordinator:
    def unique_acquire(self, k: str, job_id: str, ttl: float) -> str | None:
        try:
            with transaction.atomic():
                held = _live(k)
                if held:
                    return held.value
                _put(k, job_id, ttl)
                return None
        except IntegrityError:
            return Lease.objects.filter(key=k).values_list("value", flat=True).first()

    def unique_release(self, k: str, job_id: str) -> None:
        Lease.objects.filter(key=k, value=job_id).delete()

    def claim(self, job_id: str, delivery: str, token: str, ttl: float) -> str:
        with transaction.atomic():
            if _live(key("cancel", job_id)):
                return CLAIM_CANCELLED
            k = key("claim", job_id, delivery)
            held = _live(k)
            if held is None or held.value == token:
                _put(k, token, ttl)
                return CLAIM_OK
            return CLAIM_DONE if held.value == CLAIM_DONE else CLAIM_RUNNING

    def claim_done(self, job_id: str, delivery: str) -> None:
        _put(key("claim", job_id, delivery), CLAIM_DONE, DONE_TTL)

    def claim_release(self, job_id: str, delivery: str, token: str) -> None:
        Lease.objects.filter(key=key("claim", job_id, delivery), value=token).delete()

    def cancel(self, job_id: str) -> None:
        with transaction.atomic():
            _put(key("cancel", job_id), "1", CANCEL_TTL)
            ScheduledJob.objects.filter(job_id=job_id).delete()

    def lease_acquire(self, k: str, token: str, ttl: float) -> bool:
        with transaction.atomic():
            held = _live(k)
            if held and held.value != token:
                return False
            _put(k, token, ttl)
            return True

    def lease_renew(self, keys: list[str], token: str, ttl: float) -> None:
        Lease.objects.filter(key__in=keys, value=token).update(expires_at=time.time() + ttl)

    def lease_release(self, k: str, token: str) -> None:
        Lease.objects.filter(key=k, value=token).delete()

    def rate_take(self, k: str, limit: int, period: float, member: str) -> float:
        now = time.time()
        with transaction.atomic():
            Lease.objects.filter(key__startswith=f"{k}:", expires_at__lte=now).delete()
            starts = sorted(
                Lease.objects.select_for_update()
                .filter(key__startswith=f"{k}:")
                .values_list("expires_at", flat=True)
            )
            if len(starts) < limit:
                Lease.objects.create(key=f"{k}:{member}", value="", expires_at=now + period)
                return 0.0
            return starts[len(starts) - limit] - now

    def schedule(self, job_id: str, delay: float, payload: dict) -> None:
        ScheduledJob.objects.update_or_create(
            job_id=job_id, defaults={"due": time.time() + max(delay, 0.0), "payload": payload}
        )

    def pop_due(self, limit: int = 200) -> list[dict]:
        with transaction.atomic():
            rows = list(
                ScheduledJob.objects.select_for_update().filter(due__lte=time.time()).order_by("due")[:limit]
            )
            ScheduledJob.objects.filter(job_id__in=[r.job_id for r in rows]).delete()
        return [r.payload for r in rows]

    def scheduled_count(self) -> int:
        return ScheduledJob.objects.count()

    def is_scheduled(self, job_id: str) -> bool:
        return ScheduledJob.objects.filter(job_id=job_id).exists()

    def ping(self) -> None:
        Lease.objects.exists()


__all__ = ["DatabaseCoordinator", "CLAIM_OK"]
