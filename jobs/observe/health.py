"""Health for two audiences.

- Liveness (`GET /healthz`, public): "is this process serving?" — answered without touching the
  database, the broker or a worker, in a few bytes; it discloses nothing.
- Readiness (`GET /healthz/ready` with the health token or an operator's login, `manage.py
  health`): database, broker, beat, workers, which worker consumes each queue, and the sections
  apps add with `register_check(name, fn)`.

A check returns a dict with "ok" (bool). Three outcomes, so the report cries wolf neither way:
- ok;
- warning — `{"ok": True, "warning": "..."}` (or `"status": "warning"`, or a non-empty
  `warnings` list): something is *not configured* or worth a look, but nothing that is set up is
  broken (a fresh `make run` is green or warnings only);
- failing — `{"ok": False, "error": "..."}`: something configured is broken. Every failing
  section carries a reason (its `error`, else its `problems`, else a nested section's error) and
  a `fix` that names a section of docs/OPERATIONS.md (tests check that every one exists).
The web view serves a cached report (HEALTH_CACHE_SECONDS) computed by one request at a time,
so probes cannot pile up on the broker and starve real requests. The dashboard's banner
(jobs.observe.verdict) reads the same report.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from celery import current_app
from django.core.signals import setting_changed
from django.db import connection
from django.utils import timezone
from kombu import Connection

from jobs.broker.queues import worker_command
from jobs.conf import conf
from jobs.models import Heartbeat, QueueControl
from jobs.observe.consumers import queue_consumers

Check = Callable[[], dict[str, Any]]
_extra: dict[str, Check] = {}
NO_REASON = "the check reported a failure without a reason"
DOCS = "docs/OPERATIONS.md"

# check -> what to do; `{worker_command}` is filled in from Celery's declared queues.
_FIXES = {
    "database": "check DATABASE_URL and that the database answers; then `make manage ARGS=migrate`",
    "broker": "start Redis (or unset REDIS_URL for the single-machine mode) and check REDIS_URL",
    "beat": "run exactly one beat: `celery -A project beat -l INFO` (`make run` starts one)",
    "workers": "start a worker: `{worker_command}` (`make run` starts one)",
    "consumers": "start a worker for the queue: `{worker_command}` (or add the queue to a worker's -Q)",
}
# check -> the heading (## ...) of docs/OPERATIONS.md that says what to do about it.
SECTIONS = {
    "database": "The database does not answer",
    "broker": "The broker does not answer",
    "beat": "Scheduled things did not happen",
    "workers": "Jobs are not running",
    "consumers": "Jobs are not running",
    "queues": "Jobs are not running",
    "pii": "Slack scanning (pii) does not work",
    "sync": "The nightly sync is late or incomplete",
    "handlers": "Handler jobs fail",
    "invoice_queues": "Invoice e-mails wait",
    "ses_polling": "SES events are not polled",
    "local_aws": "The local AWS (moto) is not running",
}
OTHER_SECTION = "Any other failing section"


def register_check(name: str, fn: Check, *, section: str | None = None) -> None:
    """Add a readiness section; `section` is its docs/OPERATIONS.md heading (default: ours)."""
    _extra[name] = fn
    if section:
        SECTIONS[name] = section


def check_database() -> dict[str, Any]:
    with connection.cursor() as cur:
        cur.execute("SELECT 1")
    return {"ok": True, "vendor": connection.vendor}


def check_broker() -> dict[str, Any]:
    started = time.perf_counter()
    options = {**(current_app.conf.broker_transport_options or {}), "socket_connect_timeout": 1}
    with Connection(current_app.conf.broker_url, connect_timeout=1, transport_options=options) as conn:
        conn.ensure_connection(max_retries=1, timeout=1)
        driver = conn.transport.driver_type
        if conf().embedded_mode:
            mode = "embedded (filesystem broker, single machine)"
        elif driver == "redis":
            conn.default_channel.client.ping()  # type: ignore[attr-defined]
            mode = "redis"
        else:
            mode = driver  # the connection itself is the answer (amqp: the handshake)
    return {"ok": True, "mode": mode, "latency_ms": round((time.perf_counter() - started) * 1000, 1)}


def check_beat() -> dict[str, Any]:
    beat = Heartbeat.objects.filter(name="beat").first()
    if beat is None:
        return {"ok": False, "error": "beat has never ticked"}
    age = (timezone.now() - beat.at).total_seconds()
    ok = age <= conf().health_beat_max_age
    report: dict[str, Any] = {"ok": ok, "age_s": round(age, 1)}
    if not ok:
        report["error"] = f"beat's last tick was {age:.0f} s ago (limit {conf().health_beat_max_age} s)"
    return report


class _Expected:
    """How many workers answered the last full ping, and when that was."""

    count = 0
    full_at = 0.0


FULL_PING_EVERY = 60.0


def ping_workers(timeout: float) -> list[str]:
    """Names of the workers that answered, without waiting out the timeout when all known ones did.

    Celery's `ping` waits its full timeout unless told how many replies to expect (`limit`): we
    expect as many as answered the last full ping, so a healthy cluster answers in milliseconds.
    Once a minute (and whenever fewer answer than expected) one full ping re-counts, so a worker
    that joined or left is seen within a minute.
    """
    full = not _Expected.count or time.monotonic() - _Expected.full_at > FULL_PING_EVERY
    replies = current_app.control.ping(timeout=timeout, limit=None if full else _Expected.count) or []
    names = sorted(name for reply in replies for name in reply)
    if full or len(names) < _Expected.count:
        _Expected.count, _Expected.full_at = len(names), time.monotonic()
    return names


def check_workers() -> dict[str, Any]:
    started = time.perf_counter()
    names = ping_workers(conf().health_ping_timeout)
    report: dict[str, Any] = {
        "ok": bool(names),
        "workers": names,
        "ping_ms": round((time.perf_counter() - started) * 1000, 1),
    }
    if not names:
        report["error"] = f"no worker answered a ping within {conf().health_ping_timeout:g} s"
    return report


def check_consumers(workers: list[str]) -> dict[str, Any]:
    """Which workers consume each declared queue (Oban's check_queue): a queue nobody consumes
    (and nobody paused) waits forever, so it fails."""
    answer = queue_consumers(timeout=conf().health_ping_timeout, workers=workers)
    report: dict[str, Any] = {"ok": not answer["unconsumed"], **answer}
    if answer["unconsumed"]:
        report["error"] = "no worker consumes queue(s) " + ", ".join(answer["unconsumed"])
    return report


def check_queues() -> dict[str, Any]:
    """Paused and limited queues are not a failure, but an operator must see them."""
    controls = list(QueueControl.objects.filter(paused=True)) + list(
        QueueControl.objects.filter(paused=False, global_limit__isnull=False)
    )
    paused = sorted(c.queue for c in controls if c.paused)
    report: dict[str, Any] = {
        "ok": True,
        "paused": paused,
        "limited": {c.queue: c.global_limit for c in controls if c.global_limit is not None},
    }
    if paused:
        report["warning"] = "paused (their jobs wait): " + ", ".join(paused)
    return report


def _reason(report: dict[str, Any]) -> str:
    """Why a section fails: its error, its problems, or the errors of the parts it is made of."""
    if report.get("error"):
        return str(report["error"])
    problems = report.get("problems")
    if problems:
        return "; ".join(map(str, problems)) if isinstance(problems, list | tuple) else str(problems)
    nested = [
        f"{key}: {value.get('error') or 'failing'}"
        for key, value in report.items()
        if isinstance(value, dict) and (value.get("ok") is False or value.get("reachable") is False)
    ]
    return "; ".join(nested) or NO_REASON


def _warning(report: dict[str, Any]) -> str:
    warnings = report.get("warnings")
    listed = "; ".join(map(str, warnings)) if isinstance(warnings, list | tuple) else str(warnings or "")
    return str(report.get("warning") or listed or "")


def fix_for(name: str, own: str | None = None) -> str:
    """What to do, ending with the docs/OPERATIONS.md section that says more."""
    section = SECTIONS.get(name, OTHER_SECTION)
    what = own or _FIXES.get(name)
    if not what:
        return f'see {DOCS}, section "{section}"'
    return f'{what.format(worker_command=worker_command())} ({DOCS}, section "{section}")'


def settle(name: str, raw: dict[str, Any]) -> dict[str, Any]:
    """One section's report with its status ("ok" / "warning" / "failing"), reason and fix."""
    report = dict(raw)
    if not report.get("ok") or report.get("status") == "failing":
        report.update(ok=False, status="failing", error=_reason(report), fix=fix_for(name, report.get("fix")))
    elif report.get("status") == "warning" or _warning(report):
        report.update(status="warning", warning=_warning(report) or "needs a look")
        report["fix"] = fix_for(name, report.get("fix"))
    else:
        report["status"] = "ok"
    return report


def run_checks(only: list[str] | None = None) -> tuple[bool, dict[str, Any]]:
    """Run every check now (uncached); each failing section says why and what to do."""
    checks: dict[str, Check] = {
        "database": check_database,
        "broker": check_broker,
        "beat": check_beat,
        "workers": check_workers,
        "consumers": lambda: check_consumers(report["workers"].get("workers") or []),
        "queues": check_queues,
        **_extra,
    }
    report: dict[str, Any] = {}
    for name, fn in checks.items():
        if only and name not in only:
            continue
        if name == "workers" and report.get("broker", {}).get("ok") is False:
            raw: dict[str, Any] = {"ok": False, "error": "broker unreachable, so no worker can be asked"}
        elif name == "consumers" and not report.get("workers", {}).get("ok"):
            raw = {"ok": False, "error": "no worker answered, so no queue is consumed"}
        else:
            try:
                raw = fn()
            except Exception as exc:
                raw = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
        report[name] = settle(name, raw)
    failing = [name for name, r in report.items() if r["status"] == "failing"]
    warnings = [name for name, r in report.items() if r["status"] == "warning"]
    status = "failing" if failing else "warning" if warnings else "ok"
    return not failing, {"status": status, "failing": failing, "warnings": warnings, "checks": report}


class _Cache:
    lock = threading.Lock()
    at = 0.0
    value: tuple[bool, dict[str, Any]] | None = None


def readiness() -> tuple[bool, dict[str, Any]]:
    """The readiness report, at most HEALTH_CACHE_SECONDS old, computed by one caller at a time."""
    max_age = conf().health_cache_seconds
    if _Cache.value is not None and time.monotonic() - _Cache.at < max_age:
        return _Cache.value
    with _Cache.lock:
        if _Cache.value is not None and time.monotonic() - _Cache.at < max_age:
            return _Cache.value  # another request computed it while this one waited
        ok, report = run_checks()
        report["generated_at"] = timezone.now().isoformat()
        _Cache.value, _Cache.at = (ok, report), time.monotonic()
        return ok, report


def readiness_reset(**kwargs: Any) -> None:
    """Forget the cached report (settings changed, or an operator just acted)."""
    _Cache.value = None


setting_changed.connect(readiness_reset, dispatch_uid="jobs.observe.health.readiness_reset")
