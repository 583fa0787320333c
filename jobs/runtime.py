"""One background thread per process. Each step runs on its own clock and fails on its own
(a rejected history row never stops lease renewal or the mover):
- flush the write-behind history (every process);
- renew the leases this process holds: Redis leases and slots, and the job rows it runs;
- in worker main processes: move due jobs onto their queues, and every few seconds relay,
  reconcile and rescue (jobs.reconcile)."""

from __future__ import annotations

import atexit
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from jobs import history, store
from jobs.coordination import coordinator

logger = logging.getLogger("jobs.runtime")
TICK = 0.05


class Runtime:
    def __init__(self) -> None:
        self.token = f"{socket.gethostname()}:{os.getpid()}"
        self.held: dict[str, tuple[float, str]] = {}
        self.jobs: dict[str, str] = {}
        self.mover = False
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._next: dict[str, float] = {}

    # -- what this process holds ---------------------------------------------------------------
    def hold(self, key: str, ttl: float, token: str | None = None) -> None:
        with self._lock:
            self.held[key] = (ttl, token or self.token)
        self.ensure_started()

    def unhold(self, key: str) -> None:
        with self._lock:
            self.held.pop(key, None)

    def hold_job(self, job_id: str, token: str) -> None:
        with self._lock:
            self.jobs[job_id] = token
        self.ensure_started()

    def unhold_job(self, job_id: str) -> None:
        with self._lock:
            self.jobs.pop(job_id, None)

    def start_mover(self) -> None:
        """Move due jobs and reconcile from this process (worker main processes)."""
        self.mover = True
        self.ensure_started()

    def ensure_started(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            with self._lock:
                if self._thread is None or not self._thread.is_alive():
                    self._stop.clear()
                    self._thread = threading.Thread(target=self._loop, name="jobs-runtime", daemon=True)
                    self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._step("flush", 0, history.flush)

    # -- the loop -------------------------------------------------------------------------------
    def _loop(self) -> None:
        from jobs import reconcile

        while not self._stop.wait(TICK):
            if history.pending_events():
                self._step("flush", settings.JOBS_HISTORY_FLUSH_INTERVAL, history.flush)
            if self.held or self.jobs:
                self._step("renew", settings.JOBS_LEASE_TTL / 3, self._renew)
            if self.mover:
                self._step("move", settings.JOBS_MOVER_INTERVAL, reconcile.move_due)
                self._step("sweep", settings.JOBS_RECONCILE_EVERY, self._sweep)

    def _step(self, name: str, every: float, fn: Callable[[], object]) -> None:
        now = time.monotonic()
        if now < self._next.get(name, 0.0):
            return
        self._next[name] = now + every
        try:
            fn()
        except Exception as exc:  # this step backs off; the others go on
            logger.warning(
                "jobs runtime step failed", extra={"fields": {"step": name, "error": type(exc).__name__}}
            )
            close_old_connections()
            self._next[name] = now + max(every, 1.0)

    def _sweep(self) -> None:
        from jobs import reconcile

        reconcile.relay()
        reconcile.reconcile()
        reconcile.rescue()

    def _renew(self) -> None:
        with self._lock:
            groups: dict[tuple[float, str], list[str]] = {}
            for key, (ttl, token) in self.held.items():
                groups.setdefault((ttl, token), []).append(key)
            jobs = list(self.jobs.items())
        errors = []
        if jobs:
            until = store.db_time(timezone.now() + timedelta(seconds=float(settings.JOBS_LEASE_TTL)))
            try:
                store.executemany(store.RENEW_SQL, [[until, store.db_id(j), t] for j, t in jobs])
            except Exception as exc:
                errors.append(exc)
                close_old_connections()
        for (ttl, token), keys in groups.items():
            try:
                coordinator().lease_renew(keys, token, ttl)
            except Exception as exc:
                errors.append(exc)
        if errors:
            raise errors[0]


_runtime: Runtime | None = None


def runtime() -> Runtime:
    global _runtime
    if _runtime is None:
        _runtime = Runtime()
        atexit.register(_runtime.stop)  # a command or web process writes its last events
    return _runtime


def _after_fork() -> None:
    global _runtime
    _runtime = None
    history._buffer.clear()  # the parent flushes its own events


os.register_at_fork(after_in_child=_after_fork)
