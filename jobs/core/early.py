"""A solo worker's claim, sent as the message arrives, across kombu's own write to Redis.

Why: in a solo worker every job waited for two round trips in a row before its body: kombu
records the message as unacked in Redis (a pipeline, before Celery sees the message), then the
layer claims the job's row in PostgreSQL. Here the claim is sent first, travels while kombu writes
to Redis, and is read as soon as that write is done: one wait for both (docs/PERFORMANCE.md,
"Stop 30"). The job finds its claim made when it starts (`early_claim_take`).

The claim is sent and read inside kombu's `QoS.append` (jobs/broker/transport.py), on Django's
own connection of the worker's thread, before Celery runs anything: no signal receiver, no
Celery fixup and no body ever meets a statement in flight.

Only where the job runs at once, in this thread, right after: the solo pool (a prefork child or
a thread has a connection of its own), a message the layer published for a job task of this
worker, with no eta, no expiry and no Celery rate limit, not revoked. Anything else claims as
before, and so does a job whose early claim found nothing to claim (asked again: the early
answer is a shortcut, never the verdict). A claim whose job did not start after all (Celery
dropped the message) is given back, queued with its attempt not counted, as soon as Celery's
handling of that message returns (the transport's `AFTER_DELIVERY`: a solo worker runs the job
inside it).

Since a solo node holds the layer's unacked messages in memory (broker/transport.py, stop 34),
there is no Redis write left to overlap unless JOBS_BROKER_UNACKED brings it back.

Off unless `JOBS_EARLY_CLAIM = True`. Measured (`jobs_ab`, docs/PERFORMANCE.md "Stop 30"): one
solo node on this project's 2-core bench machine, which also runs PostgreSQL and Redis, drains 7%
more durable jobs with it; two nodes there drain 5% fewer. It is for a worker whose database is
across a network, where the wait it hides is the network's.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from celery.concurrency.solo import TaskPool as SoloPool
from celery.worker import state as worker_state

from jobs.broker import MARKER, transport
from jobs.conf import conf
from jobs.core import leases
from jobs.core.context import _current
from jobs.table import transitions

logger = logging.getLogger("jobs.early")
PAUSE_AFTER_ERROR = 5.0  # the database did not take an early claim: claim as before meanwhile


@dataclass
class Claimed:
    job_id: str
    token: str
    now: datetime
    lease_until: datetime
    row: tuple


class _Node:
    app: Any = None
    worker = ""
    claimed: Claimed | None = None
    paused_until = 0.0


_node = _Node()


def install(consumer: Any) -> None:
    """At worker_ready: a solo node claims early (see the module); other pools do not."""
    if not conf().early_claim or not isinstance(consumer.pool, SoloPool):
        return
    _node.app, _node.worker = consumer.app, consumer.hostname or ""
    if on_arrival not in transport.ON_ARRIVAL:
        transport.ON_ARRIVAL.append(on_arrival)
        transport.AFTER_DELIVERY.append(_settle)


def uninstall() -> None:
    if on_arrival in transport.ON_ARRIVAL:
        transport.ON_ARRIVAL.remove(on_arrival)
        transport.AFTER_DELIVERY.remove(_settle)
    _settle()


def on_arrival(message: Any) -> Callable[[], None] | None:
    """Send this message's claim; the answer is read by what this returns (kombu calls it)."""
    try:
        _settle()  # one left by a message taken without a delivery callback (kombu's basic_get)
        job_id = _claimable(message)
        if job_id is None:
            return None
        token = leases.execution_token()
        now, lease_until = leases.lease_from_now()
        sent = transitions.job_claim_send(
            job_id, token=token, worker=_node.worker, now=now, lease_until=lease_until
        )
    except Exception as exc:  # never in a delivery's way: that job claims as before
        _pause(exc)
        return None
    if sent is None:
        return None

    def read() -> None:
        try:
            rows = sent.rows()
        except Exception as exc:  # the job claims as before, and meets the error itself
            _pause(exc)
            return
        if rows:
            _node.claimed = Claimed(job_id, token, now, lease_until, rows[0])

    return read


def early_claim_take(job_id: str) -> Claimed | None:
    """This job's early claim when it got the row; None: claim as before."""
    claimed, _node.claimed = _node.claimed, None
    if claimed is not None and claimed.job_id != job_id:
        _give_back(claimed)
        return None
    return claimed


def _claimable(message: Any) -> str | None:
    if time.monotonic() < _node.paused_until or _current.get() is not None:
        return None  # paused after an error, or a job body that consumes messages itself
    headers = message.headers or {}
    job_id, name = headers.get("id"), headers.get("task")
    if not headers.get(MARKER) or not job_id or headers.get("eta") or headers.get("expires"):
        return None
    task = _node.app.tasks.get(name) if name else None
    app_conf = _node.app.conf
    if task is None or getattr(task, "job_options", None) is None:
        return None
    if task.rate_limit and not app_conf.worker_disable_rate_limits:
        return None  # Celery may hold it in its bucket
    if app_conf.worker_deduplicate_successful_tasks or job_id in worker_state.revoked:
        return None  # Celery may drop it
    return str(job_id)


def _settle() -> None:
    """A claim still here when Celery is done with its message: its job did not start."""
    claimed, _node.claimed = _node.claimed, None
    if claimed is not None:
        _give_back(claimed)


def _give_back(claimed: Claimed) -> None:
    """Celery did not start the job it was claimed for (it dropped the message: a body it could
    not decode, for one): queued again, to be published again whole (JOBS_REPUBLISH_AFTER)."""
    fields = {"job_id": claimed.job_id}
    try:
        undone = transitions.job_claim_undo(claimed.job_id, claimed.token)
    except Exception as exc:  # its lease lapses and rescue queues it again
        logger.warning("early claim not given back", extra={"fields": fields | {"error": type(exc).__name__}})
        return
    if undone:  # else the row has moved on (cancelled meanwhile): nothing of ours to give back
        logger.info("early claim given back: the job did not start", extra={"fields": fields})


def _pause(exc: Exception) -> None:
    _node.paused_until = time.monotonic() + PAUSE_AFTER_ERROR
    logger.warning("early claim not made", extra={"fields": {"error": type(exc).__name__}})
