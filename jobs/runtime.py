"""One background thread per process: flushes job history, renews the leases this process
holds, and (in worker main processes) moves due scheduled jobs onto their queues."""

from __future__ import annotations

import atexit
import logging
import os
import socket
import threading
import time
import uuid

from django.conf import settings
from django.db import close_old_connections

from jobs import history
from jobs.coordination import coordinator

logger = logging.getLogger("jobs.runtime")
TICK = 0.05


class Runtime:
    def __init__(self) -> None:
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.held: dict[str, tuple[float, str]] = {}
        self.mover = False
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # -- leases held by this process, renewed until released ----------------------------------
    def hold(self, key: str, ttl: float, token: str | None = None) -> None:
        with self._lock:
            self.held[key] = (ttl, token or self.token)
        self.ensure_started()

    def unhold(self, key: str) -> None:
        with self._lock:
            self.held.pop(key, None)

    def start_mover(self) -> None:
        """Move due scheduled jobs onto their queues from this process (worker main processes)."""
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
        try:
            history.flush()
        except Exception:
            pass

    def _loop(self) -> None:
        last_flush = last_renew = 0.0
        while not self._stop.wait(TICK):
            now = time.monotonic()
            try:
                if history.pending_events() and now - last_flush >= settings.JOBS_HISTORY_FLUSH_INTERVAL:
                    last_flush = now
                    history.flush()
                if self.held and now - last_renew >= settings.JOBS_LEASE_TTL / 3:
                    last_renew = now
                    self._renew()
                if self.mover:
                    move_due()
            except Exception:
                logger.exception("jobs runtime tick failed")
                close_old_connections()
                time.sleep(1)

    def _renew(self) -> None:
        with self._lock:
            groups: dict[tuple[float, str], list[str]] = {}
            for key, (ttl, token) in self.held.items():
                groups.setdefault((ttl, token), []).append(key)
        for (ttl, token), keys in groups.items():
            coordinator().lease_renew(keys, token, ttl)


def move_due(limit: int = 200) -> int:
    """Publish scheduled jobs whose time has come; returns how many were moved."""
    from jobs.task import publish_scheduled

    moved = 0
    for payload in coordinator().pop_due(limit):
        publish_scheduled(payload)
        moved += 1
    return moved


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
