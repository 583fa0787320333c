"""Celery settings the jobs benchmark toggles, read from the environment (never from project/).

BENCH_CELERY_ACKS_LATE, BENCH_CELERY_TASK_EVENTS (worker events, what Flower needs),
BENCH_CELERY_SENT_EVENT (task-sent events at enqueue) and BENCH_CELERY_PREFETCH: "1"/"0" or a number;
unset leaves the app's own value. The same names apply to the project app and the plain app.
"""

from __future__ import annotations

import os

from celery import Celery

_FLAGS = {
    "BENCH_CELERY_ACKS_LATE": "task_acks_late",
    "BENCH_CELERY_TASK_EVENTS": "worker_send_task_events",
    "BENCH_CELERY_SENT_EVENT": "task_send_sent_event",
}


def apply(app: Celery, env: dict[str, str] | None = None) -> dict[str, object]:
    """Set the toggled settings on `app.conf` before its tasks bind; returns what was set."""
    env = os.environ if env is None else env
    changed: dict[str, object] = {}
    for var, name in _FLAGS.items():
        if env.get(var, "") != "":
            changed[name] = env[var] == "1"
    if env.get("BENCH_CELERY_PREFETCH", "") != "":
        changed["worker_prefetch_multiplier"] = int(env["BENCH_CELERY_PREFETCH"])
    for name, value in changed.items():
        set_conf(app, name, value)
    return changed


def set_conf(app: Celery, name: str, value: object) -> None:
    """Set one setting, also under its CELERY_ name: an app configured from Django settings with
    namespace="CELERY" keeps reading `CELERY_TASK_ACKS_LATE` over a plain `task_acks_late` key."""
    app.conf[name] = value
    app.conf[f"CELERY_{name.upper()}"] = value
