"""Structured logs: one line per job event with ids and timings, never arguments.

A job's start and its success are the hot path (every delivery): their lines are DEBUG, so an
INFO log says what needs a look (failures, retries, deferrals, drops, publish failures) and a busy
worker does not format and write two lines per job. Every event is still counted in this process
(`counts`) and sent on its signal, the outcome with it, so metrics see every one.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from typing import Any

from django.dispatch import Signal

logger = logging.getLogger("jobs.telemetry")

# Seed 003's `[:oban, :job, :start | :stop | :exception]`: receivers get task, job_id, queue,
# attempt and, where known, duration (s), outcome and error (an exception class name; never
# arguments or messages). A receiver that raises is logged and never hurts the job.
job_started = Signal()
job_finished = Signal()  # outcome "succeeded"
job_failed = Signal()  # outcome "failed" (for good) or "retrying"
job_deferred = Signal()  # snoozed, rate-limited or waiting for its single-flight turn
_SIGNALS = {
    "start": job_started,
    "finish": job_finished,
    "failure": job_failed,
    "retry": job_failed,
    "deferred": job_deferred,
    "snoozed": job_deferred,
}


# The per-delivery events of a run that went well: logged at DEBUG (see the module's docstring).
QUIET = frozenset({"start", "finish"})
# Events of this process by name (start, finish, failure, retry, ...): cheap, never reset.
counts: Counter[str] = Counter()


def log_event(event: str, task: str, job_id: str, **fields: Any) -> None:
    """One structured line per job event (DEBUG for a start or a success), its count, and the
    matching telemetry signal."""
    counts[event] += 1
    level = logging.DEBUG if event in QUIET else logging.INFO
    if logger.isEnabledFor(level):
        logger.log(level, event, extra={"fields": {"event": event, "task": task, "job_id": job_id, **fields}})
    signal = _SIGNALS.get(event)
    if signal is not None and signal.has_listeners():
        for _receiver, response in signal.send_robust(sender=task, task=task, job_id=job_id, **fields):
            if isinstance(response, Exception):
                logger.warning("telemetry receiver failed: %s", type(response).__name__)


# An outcome kind -> the event name its log line and signal have always had.
_EVENT = {
    "succeeded": "finish",
    "failed": "failure",
    "retrying": "retry",
    "snoozed": "snoozed",
    "deferred": "deferred",
    "requeued": "requeued",
    "dropped": "not_runnable",
    "lease_lost": "lease_lost",
}


def delivery_started(ex: Any) -> None:
    log_event("start", ex.task.name, ex.job_id, queue=ex.queue, attempt=ex.attempt)


def delivery_stopped(ex: Any, outcome: Any, duration: float) -> None:
    """The one report of a delivery's outcome: its log line and its signal."""
    fields: dict[str, Any] = {"queue": ex.queue, "attempt": ex.attempt, "duration": duration}
    fields["outcome"] = outcome.kind
    if outcome.error_type:
        fields["error"] = outcome.error_type
    if outcome.delay:
        fields["countdown"] = round(outcome.delay, 3)
    if outcome.reason and outcome.kind in ("deferred", "requeued", "dropped", "lease_lost"):
        fields["reason"] = outcome.reason
    log_event(_EVENT[outcome.kind], ex.task.name, ex.job_id, **fields)


class KeyValueFormatter(logging.Formatter):
    """`time level logger message key=value …`: greppable by people, parseable by machines."""

    def format(self, record: logging.LogRecord) -> str:
        base = f"{self.formatTime(record)} {record.levelname} {record.name} {record.getMessage()}"
        fields = getattr(record, "fields", None)
        if fields:
            base += " " + " ".join(f"{k}={_fmt(v)}" for k, v in fields.items())
        if record.exc_info:
            base += "\n" + self.formatException(record.exc_info)
        return base


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    text = str(value)
    return json.dumps(text) if (" " in text or not text) else text
