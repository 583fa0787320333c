"""The database coordinator for the single-machine mode (SQLite: one writer at a time, so each
operation inside one transaction is atomic). PostgreSQL is refused for this mode at start
(project/settings.py): its check-then-write would not be atomic without Redis."""

from __future__ import annotations

import time

from django.db import transaction

from jobs.coordination.base import rate_margin
from jobs.models import Lease


def _live(k: str) -> Lease | None:
    return Lease.objects.filter(key=k, expires_at__gt=time.time()).first()


def _put(k: str, value: str, ttl: float) -> None:
    Lease.objects.update_or_create(key=k, defaults={"value": value, "expires_at": time.time() + ttl})


class DatabaseCoordinator:
    def lease_acquire(self, k: str, token: str, ttl: float) -> bool:
        with transaction.atomic():
            held = _live(k)
            if held and held.value != token:
                return False
            _put(k, token, ttl)
            return True

    def lease_renew(self, keys: list[str], token: str, ttl: float) -> None:
        expires = time.time() + ttl
        Lease.objects.filter(key__in=keys, value=token).update(expires_at=expires)
        Lease.objects.filter(key__in=[f"{k}:{token}" for k in keys]).update(expires_at=expires)

    def lease_release(self, k: str, token: str) -> None:
        Lease.objects.filter(key=k, value=token).delete()

    def slot_acquire(self, k: str, token: str, limit: int, ttl: float) -> bool:
        now = time.time()
        with transaction.atomic():
            Lease.objects.filter(key__startswith=f"{k}:", expires_at__lte=now).delete()
            mine = f"{k}:{token}"
            taken = Lease.objects.filter(key__startswith=f"{k}:").exclude(key=mine).count()
            if taken >= limit:
                return False
            _put(mine, "slot", ttl)
            return True

    def slot_release(self, k: str, token: str) -> None:
        Lease.objects.filter(key=f"{k}:{token}").delete()

    def rate_reserve(self, k: str, limit: int, period: float, member: str) -> float:
        now, margin = time.time(), rate_margin(period)
        span = period + margin
        with transaction.atomic():
            prefix = f"{k}:"
            Lease.objects.filter(key__startswith=prefix, expires_at__lte=now).delete()
            mine = Lease.objects.filter(key=prefix + member).first()
            if mine is not None:
                if now - (mine.expires_at - span) <= margin:
                    return mine.expires_at - span - now
                mine.delete()
            slots = sorted(
                e - span
                for e in Lease.objects.filter(key__startswith=prefix).values_list("expires_at", flat=True)
            )
            slot = now if len(slots) < limit else max(now, slots[len(slots) - limit] + span)
            Lease.objects.create(key=prefix + member, value="rate", expires_at=slot + span)
            return slot - now

    def epoch(self, now: float) -> float:
        return 0.0  # the database does not forget; a lost broker file is found by the reconciler

    def ping(self) -> None:
        Lease.objects.exists()

    def prune_expired(self) -> int:
        return Lease.objects.filter(expires_at__lt=time.time()).delete()[0]


__all__ = ["DatabaseCoordinator"]
