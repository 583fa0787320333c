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
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis
from kombu import transport as kombu_transport
from kombu.transport import redis as kombu_redis

# Called with each message as it arrives, before kombu records it as unacked in Redis (a round
# trip) and hands it to Celery; what a receiver returns (if not None) is called once that write
# is done, or failed. A solo worker's early claim is sent and read across it (core/early.py).
# A receiver must not raise; it is given the message only to read.
ON_ARRIVAL: list[Callable[[Any], Callable[[], None] | None]] = []
# Called after the consumer's own callback has returned (or raised) for a message: in a solo
# worker the job ran inside it, so what the arrival prepared for a job that did not start is
# still there to undo (core/early.py gives its claim back). Must not raise.
AFTER_DELIVERY: list[Callable[[], None]] = []


class QoS(kombu_redis.QoS):
    def append(self, message: Any, delivery_tag: Any) -> None:
        if not ON_ARRIVAL:  # no receiver (the default): kombu's own call, nothing around it
            return super().append(message, delivery_tag)
        then = [receiver(message) for receiver in ON_ARRIVAL]
        try:
            super().append(message, delivery_tag)
        finally:
            for done in then:
                if done is not None:
                    done()


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
