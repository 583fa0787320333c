"""The layer's wiring into Django's and Celery's life cycle, connected once from `ready()`.

- every process: the write-behind flush on the runtime thread; the console's system check,
  queue controls and metrics receivers (importing them connects them);
- worker nodes (`worker_ready`): the plugins register their loops — stager, reconciler,
  lifeline — on that node's runtime (any node may run them: every move is a conditional update);
  a solo node claims early when asked (core/early.py) and holds the layer's unacked messages in
  memory (broker/transport.py);
- worker processes: revoke and terminate from Celery's controls go through the job table;
- beat: the entries to run at start; migrate: the schedules declared in code.
"""

from __future__ import annotations

import logging
from typing import Any

from celery.concurrency.solo import TaskPool as SoloPool
from celery.signals import beat_init, task_revoked, worker_process_shutdown, worker_ready, worker_shutdown
from django.db.models.signals import post_migrate

from jobs.broker import transport
from jobs.conf import conf
from jobs.console import checks, queues
from jobs.console.revoke import job_revoked
from jobs.core import early
from jobs.observe import metrics
from jobs.plugins import cron, lifeline, reconciler, stager
from jobs.runtime import reset_after_fork, runtime
from jobs.table import history
from jobs.tasks_api import worker as django_tasks_worker

logger = logging.getLogger("jobs")
RECEIVERS = (checks, queues, metrics)  # connected by importing them
PLUGIN_STEPS = ("stager", "reconciler", "clock", "lifeline")


def connect() -> None:
    django_tasks_worker.connect()  # workers learn Django @task functions they were not told about
    history.set_waker(_flusher)
    reset_after_fork(history.forget)
    worker_ready.connect(start_plugins, dispatch_uid="jobs.plugins", weak=False)
    worker_process_shutdown.connect(_stop, dispatch_uid="jobs.stop.process", weak=False)
    worker_shutdown.connect(_stop, dispatch_uid="jobs.stop.worker", weak=False)
    task_revoked.connect(job_revoked, dispatch_uid="jobs.revoked", weak=False)
    beat_init.connect(cron.run_at_beat_start, dispatch_uid="jobs.beat_init", weak=False)
    post_migrate.connect(_ensure_schedules, dispatch_uid="jobs.schedules", weak=False)


def _flusher() -> None:
    """The first buffered history write of this process gets it a flusher."""
    rt = runtime()
    if not rt.has("flush"):
        rt.every(
            "flush",
            lambda: conf().history_flush_interval,
            history.flush,
            when=lambda: history.pending_events() > 0,
        )
        rt.on_stop(history.flush)


def start_plugins(sender: Any = None, **_kw: Any) -> None:
    if sender is not None:
        early.install(sender)
        # A solo node runs each message as it takes it: nothing held waits unclaimed, so the
        # layer's messages need no Redis record of their own (jobs/broker/transport.py).
        transport.hold_in_memory(isinstance(sender.pool, SoloPool) and not conf().broker_unacked)
    rt = runtime()
    for plugin in (stager, reconciler, lifeline):
        plugin.register(rt)
    if conf().embedded_mode:
        logger.warning("single-machine mode: filesystem broker under var/, locks in the database")


def stop_plugins() -> None:
    """This process stops running the plugins' loops (a test worker's teardown)."""
    rt = runtime()
    for name in PLUGIN_STEPS:
        rt.cancel(name)


def _stop(**_kw: Any) -> None:
    early.uninstall()
    transport.hold_in_memory(False)  # what is held is still put back from memory at the close
    runtime().stop()


def _ensure_schedules(sender: Any, **_kw: Any) -> None:
    if sender.name == "jobs":
        cron.ensure_schedules()
