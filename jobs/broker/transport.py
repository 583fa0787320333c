"""kombu's Redis transport with one fix: a channel whose connection kombu has already taken apart
raises a connection error instead of `AttributeError`.

Why: when a worker loses Redis, Celery's consumer calls `Connection.collect()`, which detaches the
transport (`transport.client = None`), and then `Connection.close()`. If the first close of a
channel was cut short, the second one restores the channel's unacked messages through
`Channel._connparams`, which reads `self.connection.client.hostname`: `AttributeError`. That is
not one of the transport's connection errors, so it escapes Celery's `ignore_errors`; the worker
logs "Unrecoverable error" and its consumer is gone for good while the process stays up (seen under
load in tests/jobs/test_broker_loss.py with kombu 5.7.0 and Celery 5.7.0; related upstream:
kombu#970, celery#10205). As a `ConnectionError` it is a connection loss like any other: the close
goes on, Celery reconnects, and what was not restored stays in Redis's unacked index for kombu's
visibility restore (or, when Redis lost it, the job table republishes it).

`install()`, called by the app's `ready()` (which a Celery worker runs before it connects),
registers it under kombu's `redis` alias: every connection Celery, Flower and the layer open for a
`redis://` URL uses it, and URLs stay `redis://` (Celery's `broker_transport` setting would make
them `jobs.broker.transport:Transport://`, which Flower's broker page cannot parse).

And one change of what is recorded where: **on a solo worker node the layer's own messages are
held unacked in the worker's memory only.** kombu emulates acks on Redis by writing every
delivered message to its `unacked` hash and index (a pipeline, before Celery sees it) and
deleting it at the ack (another), so that a message whose worker died is restored after the
visibility timeout (an hour here). For a message the layer published, the job table already
decides that: a job whose worker died while running it is rescued when its lease lapses, and one
whose message went with the worker before its claim is published again by the reconciler
(JOBS_REPUBLISH_AFTER); a copy delivered twice runs once. Without those two round trips a
durable job costs a solo node about as much CPU as a bare task (docs/PERFORMANCE.md, "Stop 34"). What
kombu does in memory is kept: prefetch counts, and a message rejected with requeue, or still
held when the channel closes (a warm shutdown), is pushed back to its list from memory, marked
redelivered, as kombu would from its hash.
Only where the worker runs each message as it takes it (the solo pool, `hold_in_memory` at
worker_ready; a task with a Celery rate limit may still wait in its bucket there): a prefork or
threads node also holds prefetched messages no job has claimed yet, which kombu's visibility
restore brings back if the whole node dies, so those keep kombu's record (the reconciler would
too, but only after JOBS_REPUBLISH_AFTER). Other messages (a plain
`send_task`, Celery's own) keep it everywhere; JOBS_BROKER_UNACKED = True keeps it for all.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import redis
from kombu import transport as kombu_transport
from kombu.transport import redis as kombu_redis
from kombu.transport import virtual

from jobs.broker import MARKER

# Called with each message as it arrives, before kombu records it as unacked (in Redis, or for
# the layer's messages in memory) and hands it to Celery; what a receiver returns (if not None)
# is called once that is done, or failed. A solo worker's early claim is sent and read across it
# (core/early.py). A receiver must not raise; it is given the message only to read.
ON_ARRIVAL: list[Callable[[Any], Callable[[], None] | None]] = []
# Called after the consumer's own callback has returned (or raised) for a message: in a solo
# worker the job ran inside it, so what the arrival prepared for a job that did not start is
# still there to undo (core/early.py gives its claim back). Must not raise.
AFTER_DELIVERY: list[Callable[[], None]] = []
_hold = {"in_memory": False}  # this process holds layer messages in memory (a solo node)


def hold_in_memory(on: bool) -> None:
    """At worker_ready (jobs.lifecycle): a solo node holds the layer's unacked messages in memory."""
    _hold["in_memory"] = on


class QoS(kombu_redis.QoS):
    """kombu's Redis ack emulation, with the layer's messages held in memory only (see the module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_memory: set[Any] = set()  # delivery tags of held messages with no Redis record

    def append(self, message: Any, delivery_tag: Any) -> None:
        then = [receiver(message) for receiver in ON_ARRIVAL]
        try:
            if _hold["in_memory"] and (message.headers or {}).get(MARKER):
                self._in_memory.add(delivery_tag)
                virtual.QoS.append(self, message, delivery_tag)
            else:
                super().append(message, delivery_tag)
        finally:
            for done in then:
                if done is not None:
                    done()

    def ack(self, delivery_tag: Any) -> None:
        if delivery_tag in self._in_memory:
            self._in_memory.discard(delivery_tag)
            return virtual.QoS.ack(self, delivery_tag)
        return super().ack(delivery_tag)

    def reject(self, delivery_tag: Any, requeue: bool = False) -> None:
        if delivery_tag in self._in_memory:
            if requeue:
                self.restore_by_tag(delivery_tag, leftmost=True)  # forgets the tag too
            else:
                self._in_memory.discard(delivery_tag)
            return virtual.QoS.ack(self, delivery_tag)
        return super().reject(delivery_tag, requeue)

    def restore_by_tag(self, tag: Any, client: Any = None, leftmost: bool = False) -> None:
        """Back into its list: from memory for a held layer message, else from kombu's hash."""
        if tag not in self._in_memory:
            return super().restore_by_tag(tag, client=client, leftmost=leftmost)
        self._in_memory.discard(tag)
        message = (self._delivered or {}).get(tag)
        if message is None:
            return None
        info = message.delivery_info
        payload = copy.deepcopy(message._raw)  # marked redelivered, as kombu marks its hash's copy
        channel: Any = self.channel  # kombu's Redis channel (the stubs know the virtual one)
        with channel.conn_or_acquire(client) as conn:
            pipe = conn.pipeline()
            channel._do_restore_message(payload, info["exchange"], info["routing_key"], pipe, leftmost)
            pipe.execute()
        return None


class Channel(kombu_redis.Channel):
    QoS = QoS

    def basic_consume(self, queue: str, *args: Any, **kwargs: Any) -> Any:
        callback = kwargs["callback"]  # kombu's Queue.consume passes it by name

        def delivered(message: Any) -> Any:
            try:
                return callback(message)
            finally:
                for done in AFTER_DELIVERY:
                    done()

        kwargs["callback"] = delivered
        return super().basic_consume(queue, *args, **kwargs)

    def _connparams(self, asynchronous: bool = False) -> Any:
        if self.connection.client is None:
            raise redis.exceptions.ConnectionError("the broker connection was closed; reconnecting")
        return super()._connparams(asynchronous=asynchronous)  # type: ignore[misc]  # not in the stubs


class Transport(kombu_redis.Transport):
    Channel = Channel


def install() -> None:
    kombu_transport.TRANSPORT_ALIASES["redis"] = f"{__name__}:Transport"
