"""Prometheus metrics (prometheus-client), fed by the jobs telemetry signals.

Counters and histograms are kept per process and updated by receivers of `job_started`,
`job_finished`, `job_failed` and `job_deferred`. With PROMETHEUS_MULTIPROC_DIR set (`make run`
sets var/metrics) every process on the machine writes there and `/metrics` adds them up. Queue
depth per state is read from the job table at scrape time (indexed group-by), so it is right
whichever process answers. Labels are task and queue names only, never ids or arguments.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from jobs import telemetry
from jobs.observe.dashboard import queue_rows

BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900)

STARTED = Counter("jobs_started_total", "Job executions started", ["task", "queue"])
DURATION = Histogram(
    "jobs_duration_seconds", "Job execution time by outcome", ["task", "queue", "outcome"], buckets=BUCKETS
)
FAILURES = Counter(
    "jobs_failures_total", "Failed executions (outcome retrying or failed)", ["task", "queue", "outcome"]
)
DEFERRALS = Counter("jobs_deferrals_total", "Snoozes and waits for a limit (not attempts)", ["task", "queue"])


def _on_started(sender: Any, task: str = "", queue: str = "", **kw: Any) -> None:
    STARTED.labels(task, queue or "").inc()


def _on_finished(
    sender: Any, task: str = "", queue: str = "", duration: float | None = None, **kw: Any
) -> None:
    if duration is not None:
        DURATION.labels(task, queue or "", kw.get("outcome") or "succeeded").observe(duration)


def _on_failed(
    sender: Any, task: str = "", queue: str = "", duration: float | None = None, **kw: Any
) -> None:
    outcome = kw.get("outcome") or "failed"
    FAILURES.labels(task, queue or "", outcome).inc()
    if duration is not None:
        DURATION.labels(task, queue or "", outcome).observe(duration)


def _on_deferred(sender: Any, task: str = "", queue: str = "", **kw: Any) -> None:
    DEFERRALS.labels(task, queue or "").inc()


telemetry.job_started.connect(_on_started, dispatch_uid="jobs.observe.metrics.started")
telemetry.job_finished.connect(_on_finished, dispatch_uid="jobs.observe.metrics.finished")
telemetry.job_failed.connect(_on_failed, dispatch_uid="jobs.observe.metrics.failed")
telemetry.job_deferred.connect(_on_deferred, dispatch_uid="jobs.observe.metrics.deferred")


class QueueCollector(Collector):
    """Queue depth per (queue, state) for unfinished jobs, and the queues' switches."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily(
            "jobs_queue_depth", "Unfinished jobs per queue and state", labels=["queue", "state"]
        )
        oldest = GaugeMetricFamily(
            "jobs_queue_oldest_wait_seconds", "Age of the oldest waiting job", labels=["queue"]
        )
        paused = GaugeMetricFamily("jobs_queue_paused", "1 when the queue is paused", labels=["queue"])
        limit = GaugeMetricFamily("jobs_queue_global_limit", "Cluster-wide running limit", labels=["queue"])
        for row in queue_rows():
            for state in ("scheduled", "queued", "started", "retrying"):
                depth.add_metric([row["queue"], state], row["counts"].get(state, 0))
            oldest.add_metric([row["queue"]], row["oldest_wait_s"] or 0)
            paused.add_metric([row["queue"]], 1 if row["paused"] else 0)
            if row["limit"] is not None:
                limit.add_metric([row["queue"]], row["limit"])
        yield from (depth, oldest, paused, limit)


def exposition() -> tuple[bytes, str]:
    """The text format of every metric: this process's (or all processes', multi-process mode)
    counters plus the queue gauges read now."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        for metric in (STARTED, DURATION, FAILURES, DEFERRALS):
            registry.register(metric)
    registry.register(QueueCollector())
    return generate_latest(registry), CONTENT_TYPE_LATEST
