"""One background thread per process: a plain ticker. It knows no step by name; the wings
register theirs (`runtime().every(name, seconds, fn)`): the write-behind flush, lease renewal,
and in worker nodes the plugins (stager, reconciler, lifeline). Each step runs on its own clock
and fails on its own: a rejected history row never stops lease renewal or the stager.

A step may be woken before its time (`wake(name)`, or `wake(name, in_seconds)` for a time
known to be due), so a loop that usually has nothing to do can sleep long and still answer when
there is something (the stager after a snooze, a retry or a freed gate).
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import close_old_connections

logger = logging.getLogger("jobs.runtime")
TICK = 0.05


@dataclass
class Step:
    every: float | Callable[[], float]
    fn: Callable[[], object]
    when: Callable[[], bool] | None = None  # skip the step (cheaply) while this says False
    due: float = 0.0

    def period(self) -> float:
        return self.every() if callable(self.every) else self.every


class Runtime:
    def __init__(self) -> None:
        self.token = f"{socket.gethostname()}:{os.getpid()}"
        self._steps: dict[str, Step] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._final: list[Callable[[], object]] = []

    def every(
        self,
        name: str,
        seconds: float | Callable[[], float],
        fn: Callable[[], object],
        *,
        when: Callable[[], bool] | None = None,
    ) -> None:
        """Run `fn` every `seconds` (a number or a callable read each time) from this process's
        thread; registering a name again replaces its step."""
        with self._lock:
            self._steps[name] = Step(seconds, fn, when)
        self.ensure_started()

    def cancel(self, name: str) -> None:
        with self._lock:
            self._steps.pop(name, None)

    def has(self, name: str) -> bool:
        return name in self._steps

    def wake(self, name: str, in_seconds: float = 0.0) -> None:
        """Run step `name` at the next tick, or `in_seconds` from now when that comes before its
        own time (a job snoozed for 0.3 s is moved then, not at the stager's next poll)."""
        step = self._steps.get(name)
        if step is not None:
            step.due = min(step.due, time.monotonic() + max(in_seconds, 0.0))

    def next_due(self, name: str) -> float | None:
        """Seconds until step `name` runs next (None: no such step); health pages and tests."""
        step = self._steps.get(name)
        return None if step is None else step.due - time.monotonic()

    def on_stop(self, fn: Callable[[], object]) -> None:
        """Run `fn` once when the process stops (after the thread ended): the last flush."""
        self._final.append(fn)

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
        for fn in self._final:
            self._run("final", fn)

    # -- the loop -------------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.wait(TICK):
            self.tick()

    def tick(self) -> None:
        now = time.monotonic()
        for name, step in list(self._steps.items()):
            if now < step.due or (step.when is not None and not step.when()):
                continue
            period = step.period()
            step.due = now + period
            if not self._run(name, step.fn):
                step.due = now + max(period, 1.0)  # this step backs off; the others go on

    @staticmethod
    def _run(name: str, fn: Callable[[], object]) -> bool:
        try:
            fn()
            return True
        except Exception as exc:
            logger.warning(
                "jobs runtime step failed", extra={"fields": {"step": name, "error": type(exc).__name__}}
            )
            close_old_connections()
            return False


_runtime: Runtime | None = None
_fork_hooks: list[Callable[[], object]] = []


def runtime() -> Runtime:
    global _runtime
    if _runtime is None:
        _runtime = Runtime()
        atexit.register(_runtime.stop)  # a command or web process writes its last events
    return _runtime


def reset_after_fork(fn: Callable[[], object] | None = None) -> None:
    """With `fn`: run it in every forked child (a wing forgets its parent's state). Without:
    what a fork does — this process gets a runtime of its own and the hooks run."""
    if fn is not None:
        _fork_hooks.append(fn)
        return
    global _runtime
    _runtime = None
    for hook in _fork_hooks:
        hook()


os.register_at_fork(after_in_child=reset_after_fork)
