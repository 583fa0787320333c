"""Handing stored jobs to the broker. The job row is already committed when this runs, so a
publish that fails loses nothing: the row stays unpublished and the relay tries again.

One way to publish (enqueue, the mover, the relay, the reconciler, rescue, admin retry), with a
circuit breaker: one failed publish opens it, and it stays open until a background probe (one
thread per process, every JOBS_BROKER_PROBE_EVERY seconds, its own short connect timeout) sees
the broker answer again. While it is open no enqueue touches the broker: each returns in the
time of its INSERT, and the relay publishes the stored rows once the broker is back. The
publishes themselves connect with JOBS_PUBLISH_CONNECT_TIMEOUT, read and write with
JOBS_PUBLISH_SOCKET_TIMEOUT, and skip kombu's connection retry loop (Celery's
broker_connection_timeout of 4 s plus a 2 s interval: the ~6 s a request used to wait), so the
one publish that finds the broker down costs about one of those timeouts
(`make bench ONLY=jobs_outage`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from contextvars import ContextVar
from typing import Any

from celery import current_app

from jobs import telemetry
from jobs.broker import MARKER, redis_pipeline
from jobs.broker.queues import broker_priority
from jobs.conf import conf
from jobs.table import clock, history
from jobs.table.payload import payload_real, reprs

logger = logging.getLogger("jobs.broker.publish")
_RETRY_POLICY = {"max_retries": 0, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
# jobs.testing.manual(): rows are written, nothing is published — in this context only (a
# ContextVar, as oban-py's testing mode), so a test's manual mode never leaks into another thread.
MANUAL: ContextVar[bool] = ContextVar("jobs_manual", default=False)


class _Breaker:
    """Open from a failed publish until the probe sees the broker answer (per process)."""

    lock = threading.Lock()
    open = False
    probing = False
    opened_at = 0.0
    trips = 0  # how many times it opened (tests and logs)


def broker_down() -> bool:
    return _Breaker.open


def _trip(exc: BaseException) -> None:
    """Open the breaker and start the probe (once: later failures while open change nothing)."""
    with _Breaker.lock:
        if not _Breaker.open:
            _Breaker.open, _Breaker.opened_at = True, time.monotonic()
            _Breaker.trips += 1
            logger.warning(
                "publish: broker down, breaker open", extra={"fields": {"error": type(exc).__name__}}
            )
        if _Breaker.probing:
            return
        _Breaker.probing = True
    threading.Thread(target=_probe, name="jobs-broker-probe", daemon=True).start()


def _probe() -> None:
    try:
        while True:
            time.sleep(conf().broker_probe_every)
            if broker_answers(timeout=conf().publish_connect_timeout * 5):
                with _Breaker.lock:
                    _Breaker.open = False
                down = time.monotonic() - _Breaker.opened_at
                logger.info(
                    "publish: broker back, breaker closed", extra={"fields": {"down_s": round(down, 1)}}
                )
                return
    finally:
        with _Breaker.lock:
            _Breaker.probing = False


def broker_answers(timeout: float) -> bool:
    """One connection attempt to the broker (a Redis PING), with its own short timeouts."""
    from kombu import Connection

    options = dict(current_app.conf.broker_transport_options or {})
    options.update(socket_connect_timeout=timeout, socket_timeout=timeout, max_retries=0)
    try:
        with Connection(
            current_app.conf.broker_url, connect_timeout=timeout, transport_options=options
        ) as conn:
            channel: Any = conn.default_channel
            if redis_pipeline.supported(conn):
                channel.client.ping()
        return True
    except Exception:
        return False


class _Pool:
    value: Any = None
    key: tuple[str, float, float] | None = None
    seen: object = None  # the settings object the key was computed for (Celery's lookups cost ~0.1 ms)


def publish_pool() -> Any:
    """The publish path's connections: Celery's own (`connection_for_write`), but with short
    connect and socket timeouts and one connection attempt (max_retries 0) instead of kombu's
    retry loop, so a broker that refuses or never answers costs one request about that long."""
    settings_now = conf()
    if _Pool.value is not None and _Pool.seen is settings_now:
        return _Pool.value
    timeout, socket_timeout = settings_now.publish_connect_timeout, settings_now.publish_socket_timeout
    key = (str(current_app.conf.broker_write_url or current_app.conf.broker_url), timeout, socket_timeout)
    if _Pool.value is None or _Pool.key != key:
        options = {"socket_connect_timeout": timeout, "socket_timeout": socket_timeout, "max_retries": 0}
        conn = current_app.connection_for_write(connect_timeout=timeout, transport_options=options)
        _Pool.value, _Pool.key = conn.Pool(limit=current_app.conf.broker_pool_limit), key
    _Pool.seen = settings_now
    return _Pool.value


def breaker_reset() -> None:
    """Close the breaker (a forked child: its parent's probe thread did not come along) and
    forget the parent's connections."""
    _Breaker.open, _Breaker.probing = False, False
    _Breaker.lock = threading.Lock()
    _Pool.value = _Pool.key = _Pool.seen = None


os.register_at_fork(after_in_child=breaker_reset)


def job_publish(spec: dict[str, Any], producer: Any = None, mark: bool = True) -> bool:
    """Put one stored job on its queue; False when the broker did not take it (logged, kept).

    Without a producer this is `jobs_publish([spec])` (on Redis: one LPUSH); with one,
    Celery's own publish (other transports)."""
    if MANUAL.get():
        return True
    if broker_down():
        return False
    if producer is None:
        return jobs_publish([spec]) == 1
    args, kwargs = payload_real(spec["args"], spec["kwargs"], None)
    options: dict[str, Any] = {"queue": spec["queue"], **reprs(spec["args"], spec["kwargs"])}
    if spec.get("priority") is not None:  # our 0 = most urgent, whichever broker (jobs.broker.queues)
        driver = getattr(getattr(producer, "connection", None), "transport", None)
        options["priority"] = broker_priority(spec["priority"], getattr(driver, "driver_type", ""))
    try:
        current_app.send_task(
            spec["task"],
            args=args,
            kwargs=kwargs,
            task_id=spec["id"],
            producer=producer,
            retry=True,
            retry_policy=_RETRY_POLICY,
            ignore_result=True,  # outcomes live in the job table, not in task-result rows
            headers={MARKER: 1},
            **options,
        )
    except Exception as exc:
        _trip(exc)
        telemetry.log_event(
            "publish_failed", spec["task"], spec["id"], queue=spec["queue"], error=type(exc).__name__
        )
        return False
    if mark:
        _mark_published([spec["id"]])
    return True


def jobs_publish(specs: list[dict[str, Any]]) -> int:
    """Publish several: on Redis one LPUSH per list and thousand (jobs.broker.redis_pipeline),
    elsewhere over one producer. When the batch fails, every job in it stays unpublished for the
    relay (a part that did reach Redis runs once: a second copy cannot claim the row). Returns
    how many the broker took."""
    return Pending(specs).send()


class Pending:
    """A publish made ready before it is sent: a broker connection taken and, on Redis, the
    messages written. A single enqueue makes it while PostgreSQL runs its INSERT (core/task.py)
    and sends it once the row is committed, so that work costs no time of its own; it is
    dropped when the row is not. Never raises an Exception: a broker that fails here fails the
    publish, as in `send()`."""

    def __init__(self, specs: list[dict[str, Any]]) -> None:
        self.specs, self.conn, self.chunks = specs, None, None
        self.error: Exception | None = None
        self.idle = MANUAL.get() or not specs or broker_down()  # send() sends nothing
        if self.idle:
            return
        try:
            self.conn = publish_pool().acquire(block=True)
            if redis_pipeline.supported(self.conn):
                self.chunks = redis_pipeline.redis_messages(self.conn, specs)
        except Exception as exc:  # the broker is away (the connection is made on first use)
            self.error = exc
        except BaseException:
            self.drop()
            raise

    def send(self) -> int:
        """Publish; how many the broker took (all of them under jobs.testing.manual())."""
        if self.idle:
            return len(self.specs) if MANUAL.get() else 0
        sent: list[str] = []
        try:
            if self.error is not None:
                raise self.error
            if self.chunks is not None:
                redis_pipeline.redis_push(self.conn, self.chunks)
                sent = [spec["id"] for spec in self.specs]
            else:
                with current_app.producer_or_acquire() as producer:
                    sent = [s["id"] for s in self.specs if job_publish(s, producer=producer, mark=False)]
        except Exception as exc:  # the batch did not reach the broker: the relay publishes them
            _trip(exc)
            fields = {"jobs": len(self.specs), "error": type(exc).__name__}
            logger.warning("publish: batch failed", extra={"fields": fields})
            return 0
        finally:
            self.drop()
        _mark_published(sent)
        return len(sent)

    def drop(self) -> None:
        """Give the connection back without publishing."""
        if self.conn is not None:
            self.conn.release()
            self.conn = None


def _mark_published(ids: list[str]) -> None:
    if ids:
        history.record(history.PUBLISHED, (clock.db_now(), [str(job_id) for job_id in ids]))
