"""An in-process coordinator (the `Coordinator` protocol in a dict, one lock): for tests and
tools that run jobs in one process (`jobs.testing.drain`) with no Redis at all."""

from __future__ import annotations

import threading
import time

from jobs.coordination.base import rate_margin


class MemoryCoordinator:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._leases: dict[str, tuple[str, float]] = {}
        self._slots: dict[str, dict[str, float]] = {}
        self._rates: dict[str, dict[str, float]] = {}
        self._epoch = time.time()

    def lease_acquire(self, key: str, token: str, ttl: float) -> bool:
        with self._lock:
            held = self._leases.get(key)
            if held and held[1] > time.monotonic() and held[0] != token:
                return False
            self._leases[key] = (token, time.monotonic() + ttl)
            return True

    def lease_renew(self, keys: list[str], token: str, ttl: float) -> None:
        with self._lock:
            for key in keys:
                if self._leases.get(key, ("", 0))[0] == token:
                    self._leases[key] = (token, time.monotonic() + ttl)
                if token in self._slots.get(key, {}):
                    self._slots[key][token] = time.monotonic() + ttl

    def lease_release(self, key: str, token: str) -> None:
        with self._lock:
            if self._leases.get(key, ("", 0))[0] == token:
                del self._leases[key]

    def slot_acquire(self, key: str, token: str, limit: int, ttl: float) -> bool:
        with self._lock:
            now = time.monotonic()
            slots = {t: e for t, e in self._slots.get(key, {}).items() if e > now}
            if token not in slots and len(slots) >= limit:
                self._slots[key] = slots
                return False
            slots[token] = now + ttl
            self._slots[key] = slots
            return True

    def slot_release(self, key: str, token: str) -> None:
        with self._lock:
            self._slots.get(key, {}).pop(token, None)

    def rate_reserve(self, key: str, limit: int, period: float, member: str) -> float:
        with self._lock:
            now, margin = time.time(), rate_margin(period)
            span = period + margin
            slots = {m: t for m, t in self._rates.get(key, {}).items() if t > now - span}
            mine = slots.get(member)
            if mine is not None and now - mine <= margin:
                self._rates[key] = slots
                return mine - now
            slots.pop(member, None)
            ordered = sorted(slots.values())
            slot = now if len(ordered) < limit else max(now, ordered[len(ordered) - limit] + span)
            slots[member] = slot
            self._rates[key] = slots
            return slot - now

    def epoch(self, now: float) -> float:
        return 0.0

    def ping(self) -> None:
        return None
