"""Queue health: reachable, messages available, in flight, oldest message age, dead letters,
messages sent in the last hour,
and a warning past INVOICES_QUEUE_WARN_DEPTH. A deep queue warns; only an unreachable one fails,
since restarting the web process would not drain it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Min
from django.utils import timezone

from invoices import sqs
from invoices.config import invoice_settings_get
from invoices.models import AttemptStatus, EmailAttempt
from invoices.queues import QUEUES, celery_queue, queue_url
from jobs import queue_depth

WAITING = (AttemptStatus.QUEUED, AttemptStatus.RETRYING)


def _oldest_age(queue: str) -> float | None:
    """Age of the oldest e-mail not yet sent on this queue (SQS itself reports that only to
    CloudWatch, so it is read from the attempt rows)."""
    oldest = EmailAttempt.objects.filter(queue=queue, status__in=WAITING).aggregate(m=Min("created_at"))["m"]
    return round((timezone.now() - oldest).total_seconds(), 1) if oldest else None


def _sqs_queue(queue: str) -> dict[str, Any]:
    url = queue_url(queue)
    attrs = sqs.queue_attributes(queue_url=url)
    out: dict[str, Any] = {
        "reachable": True,
        "available": int(attrs.get("ApproximateNumberOfMessages", 0)),
        "in_flight": int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0)),
        "delayed": int(attrs.get("ApproximateNumberOfMessagesDelayed", 0)),
    }
    dlq_name = f"{url.rstrip('/').rpartition('/')[2]}-dlq"
    dlq_url = sqs.queue_url_get(name=dlq_name)
    if dlq_url:
        out["dead_letters"] = int(
            sqs.queue_attributes(queue_url=dlq_url).get("ApproximateNumberOfMessages", 0)
        )
    return out


def _broker() -> str:
    """Which broker the Celery provider really uses: Redis, or the single-machine filesystem one."""
    return "filesystem (single machine)" if settings.EMBEDDED_MODE else "redis"


def _celery_queue(queue: str) -> dict[str, Any]:
    """QUEUE_PROVIDER=celery (or memory): the attempts travel on the Celery queue
    invoices_<queue> of whatever broker this deployment runs — also the single-machine one."""
    name = celery_queue(queue)
    depth = queue_depth(name)
    if depth is None:
        raise ConnectionError(f"the broker ({_broker()}) did not answer for Celery queue {name}")
    return {
        "reachable": True,
        "celery_queue": name,
        "broker": _broker(),
        "available": depth,
        "in_flight": None,
    }


def invoice_queues_health() -> dict[str, Any]:
    provider = invoice_settings_get().queue_provider
    report: dict[str, Any] = {"ok": True, "provider": provider, "warnings": []}
    for queue in QUEUES:
        try:
            info = _sqs_queue(queue) if provider == "sqs" else _celery_queue(queue)
        except Exception as exc:
            info = {"reachable": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
            report["ok"] = False
        info["oldest_age_s"] = _oldest_age(queue)
        # The seed's "Messages Sent": e-mails of this queue the provider accepted in the last hour.
        hour_ago = timezone.now() - timedelta(hours=1)
        info["sent_last_hour"] = EmailAttempt.objects.filter(
            queue=queue, status=AttemptStatus.SENT, sent_at__gte=hour_ago
        ).count()
        if info.get("available", 0) > settings.INVOICES_QUEUE_WARN_DEPTH:
            report["warnings"].append(
                f"{queue} queue holds {info['available']} messages "
                f"(more than {settings.INVOICES_QUEUE_WARN_DEPTH})"
            )
        if info.get("dead_letters"):
            report["warnings"].append(f"{queue} dead-letter queue holds {info['dead_letters']} messages")
        report[queue] = info
    return report
