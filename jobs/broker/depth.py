"""How many messages wait in a broker queue: the one answer for every broker and app.

A queue the broker does not have holds nothing: Redis deletes an empty list (and may lose its
lists in a crash or failover while keeping its memory), and RabbitMQ answers NOT_FOUND for a
deleted queue. Both count as 0, so the reconciler republishes what such a queue should hold.
None means the broker could not be asked at all.
"""

from __future__ import annotations

from typing import Any

from celery import current_app


def queue_depth(name: str) -> int | None:
    """Messages ready in the broker's queue `name` (0 when the broker has no such queue)."""
    try:
        with current_app.connection_for_read() as conn:
            channel: Any = conn.channel()
            try:
                return int(channel.queue_declare(queue=name, passive=True).message_count)
            except conn.channel_errors:
                return 0
            finally:
                try:
                    channel.close()
                except Exception:  # a channel a NOT_FOUND closed is already gone
                    pass
    except Exception:
        return None
