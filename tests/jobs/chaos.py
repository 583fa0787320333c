"""What the chaos tests share: the broker under test (Redis or RabbitMQ, in a vhost of the test's
own), enqueuing from another process, and counting what was lost and what ran twice."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings

from jobs.models import Job, JobState
from tests.helpers import wait_for
from tests.jobs.chaos_tasks import RUNS, runs_client

ROOT = Path(__file__).resolve().parents[2]
QUEUE = "default"  # chaos_job's queue
TASKS = "tests.jobs.chaos_tasks"
# Short lease, rescue and reconcile periods so a test sees recovery in seconds, not minutes.
FAST = {
    "CELERY_EXTRA_IMPORTS": TASKS,
    "JOBS_LEASE_TTL": "3",
    "JOBS_RESCUE_AFTER": "1",
    "JOBS_RECONCILE_EVERY": "1",
    "JOBS_RELAY_AFTER": "1",
    "BROKER_VISIBILITY_TIMEOUT": "8",
}
TERMINAL = (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)
RABBITMQ = "amqp://guest:guest@127.0.0.1:5672"


@dataclass
class Broker:
    """The broker the workers and the enqueuer use, and how a test makes it forget a queue."""

    kind: str
    url: str
    env: dict[str, str] = field(default_factory=dict)

    def depth(self, queue: str = QUEUE) -> int:
        if self.kind == "redis":
            client = redis.Redis.from_url(self.url)
            return sum(int(client.llen(k)) for k in client.scan_iter(match=f"{queue}*"))
        with _amqp(self.url) as channel:
            return int(channel.queue_declare(queue=queue, passive=True).message_count)

    def lose(self, queue: str = QUEUE) -> int:
        """The broker forgets the queue's messages; returns how many it held.

        Redis: the queue's lists (and kombu's priority sublists, `<queue>\\x06\\x16<n>`) are
        deleted, everything else stays (as after a failover to a replica that missed them).
        RabbitMQ: the queue is purged."""
        if self.kind == "redis":
            client = redis.Redis.from_url(self.url)
            held = 0
            for k in list(client.scan_iter(match=f"{queue}*")):
                held += int(client.llen(k))
                client.delete(k)
            return held
        with _amqp(self.url) as channel:
            return int(channel.queue_purge(queue=queue) or 0)


class _amqp:
    def __init__(self, url: str) -> None:
        from kombu import Connection

        self.conn = Connection(url, connect_timeout=5)

    def __enter__(self) -> Any:
        return self.conn.channel()

    def __exit__(self, *exc: object) -> None:
        self.conn.release()


def _rabbitmqctl(*args: str) -> None:
    tool = shutil.which("rabbitmqctl")
    if not tool:
        pytest.fail("rabbitmqctl is needed for the RabbitMQ scenarios (a vhost of the test's own)")
    out = subprocess.run([tool, "-q", *args], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, f"rabbitmqctl {' '.join(args)}: {out.stderr[-500:]}"


@contextlib.contextmanager
def broker_under_test(kind: str) -> Iterator[Broker]:
    """ "redis": the run's own Redis; "rabbitmq": a vhost of this test's own, deleted after."""
    if kind == "redis":
        yield Broker("redis", settings.REDIS_URL)
        return
    vhost = f"tasksvc-chaos-{uuid.uuid4().hex[:8]}"
    _rabbitmqctl("add_vhost", vhost)
    try:
        _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        url = f"{RABBITMQ}/{vhost}"
        yield Broker("rabbitmq", url, {"CELERY_BROKER_URL": url})
    finally:
        _rabbitmqctl("delete_vhost", vhost)


def enqueue_elsewhere(
    env: dict[str, str],
    count: int,
    seconds: float,
    clock_ahead: float = 0,
    then: Callable[[], object] | None = None,
) -> list[str]:
    """`chaos_job.enqueue(n=n)` for n in range(count), run by another process with `env` (its
    broker, its database); with `clock_ahead`, that process's clock runs that many seconds ahead
    (time_machine, started before Django loads). `then` runs as soon as the last job is
    published, while that process is still alive. Returns the job ids, in n order."""
    script = "\n".join(
        [
            "import datetime, sys, time_machine",
            f"time_machine.travel(datetime.timedelta(seconds={clock_ahead!r}), tick=True).start()"
            if clock_ahead
            else "",
            "import django; django.setup()",
            f"from {TASKS} import chaos_job",
            f"ids = [chaos_job.enqueue(n=n, seconds={seconds!r}).job_id for n in range({count})]",
            "print('ids', *ids, flush=True)",
            "sys.stdin.readline()",
        ]
    )
    env = dict(env, JOBS_HISTORY_FLUSH_INTERVAL="0")  # publish marks written at once
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", script],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
        assert proc.stdin is not None and proc.stdout is not None
        ids: list[str] = []
        for line in proc.stdout:
            if line.startswith("ids "):
                ids = line.split()[1:]
                break
        if ids and then is not None:
            then()
        proc.communicate("\n", timeout=120)
        err.seek(0)
        assert proc.returncode == 0 and len(ids) == count, err.read()[-3000:]
    return ids


def worker_ready(worker: Any, timeout: float = 60) -> None:
    """Ready by its log (a ping would need the test's own broker, which may not be the worker's)."""
    wait_for(lambda: "ready." in worker.read_log(), timeout=timeout, message=f"worker {worker.name} ready")


def runs() -> Counter[int]:
    return Counter(int(x) for x in runs_client().lrange(RUNS, 0, -1))


def settle(ids: list[str], timeout: float) -> dict[str, int]:
    """Wait until every job is finished (or `timeout` passes); the count of jobs per state."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if Job.objects.filter(pk__in=ids).exclude(state__in=TERMINAL).count() == 0:
            break
        time.sleep(0.25)
    return dict(Counter(Job.objects.filter(pk__in=ids).values_list("state", flat=True)))


def lost_and_doubled(count: int) -> tuple[list[int], list[int]]:
    """Jobs n in range(count) whose body never ran, and those whose body ran more than once."""
    ran = runs()
    return [n for n in range(count) if not ran[n]], sorted(n for n, k in ran.items() if k > 1)
