"""Break the broker and the workers for real: Redis restarted empty, Redis down during a burst
of enqueues, worker nodes SIGKILLed mid-drain, a thousand jobs on one rate limit. Counts what
was lost and what ran twice. Each test uses real worker subprocesses."""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import redis
from django.conf import settings

from jobs.models import Job, JobAttempt, JobState
from tests.conftest import worker_env
from tests.helpers import max_in_window, wait_for
from tests.jobs.tasks import counted_job, herd_job
from tests.jobs.test_redis_restart import PrivateRedis

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
FAST = {
    "CELERY_EXTRA_IMPORTS": "tests.jobs.tasks",
    "JOBS_RECONCILE_EVERY": "1",
    "JOBS_RELAY_AFTER": "1",
    "JOBS_REPUBLISH_AFTER": "5",
    "JOBS_LEASE_TTL": "3",
    "JOBS_RESCUE_AFTER": "1",
    "BROKER_VISIBILITY_TIMEOUT": "8",
}


@pytest.fixture
def private_redis():
    r = PrivateRedis()
    r.start()
    yield r
    r.stop()


def _enqueue_in_subprocess(env: dict, code: str) -> list[str]:
    """Enqueue from another process (its broker is the private Redis); returns the job ids."""
    script = (
        "import django; django.setup()\nimport tests.jobs.tasks as t\nids = []\n" + code + "\nprint(*ids)"
    )
    env = dict(env, JOBS_HISTORY_FLUSH_INTERVAL="0")
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.split("\n")[-2].split()


def _ready(worker) -> None:
    wait_for(lambda: "ready." in worker.read_log(), timeout=60, message="worker ready")


def _succeeded_runs() -> Counter:
    return Counter(
        str(j) for j in JobAttempt.objects.filter(outcome="succeeded").values_list("job_id", flat=True)
    )


def test_redis_restarted_empty_loses_no_queued_scheduled_or_retrying_job(worker_process, private_redis):
    url = f"redis://127.0.0.1:{private_redis.port}/0"
    _ready(worker_process("empty", queues=["default"], concurrency=2, ready=False, REDIS_URL=url, **FAST))
    env = worker_env(REDIS_URL=url, **FAST)
    ids = _enqueue_in_subprocess(
        env,
        "\n".join(
            [
                "for n in range(150): ids.append(t.counted_job.enqueue(n=n, seconds=0.05).job_id)",
                "for n in range(150, 170): ids.append(t.counted_job.enqueue(n=n, countdown=4).job_id)",
                "for n in range(170, 190): ids.append(t.counted_job.enqueue(n=n, fail_first=True).job_id)",
            ]
        ),
    )
    assert len(ids) == 190
    wait_for(
        lambda: Job.objects.filter(state=JobState.SUCCEEDED).count() >= 15, timeout=60, message="drain began"
    )

    private_redis.stop()  # SIGKILL: everything Redis held is gone
    time.sleep(1)
    private_redis.start()  # back, empty (no persistence)
    # Empty: at most a reconciler has stamped its new epoch already (it runs every 0.5 s here).
    assert set(redis.Redis(port=private_redis.port).keys()) <= {b"jobs:epoch"}

    wait_for(
        lambda: Job.objects.filter(state=JobState.SUCCEEDED).count() == 190,
        timeout=150,
        message="every job succeeded after Redis came back empty",
    )
    runs = _succeeded_runs()
    assert set(runs) == set(ids)  # 0 lost
    assert max(runs.values()) == 1  # no finished job ran again


def test_enqueues_with_the_broker_down_all_return_and_all_run_once_when_it_is_back(
    worker_process, private_redis
):
    url = f"redis://127.0.0.1:{private_redis.port}/0"
    _ready(worker_process("burst", queues=["default"], concurrency=2, ready=False, REDIS_URL=url, **FAST))
    private_redis.stop()
    env = worker_env(REDIS_URL=url, **FAST)
    started = time.monotonic()
    ids = _enqueue_in_subprocess(env, "for n in range(60): ids.append(t.counted_job.enqueue(n=n).job_id)")
    assert len(ids) == 60 and time.monotonic() - started < 30  # no enqueue waited on the broker for long
    assert Job.objects.filter(pk__in=ids, state=JobState.QUEUED).count() == 60  # stored, none ran

    private_redis.start()
    wait_for(
        lambda: Job.objects.filter(pk__in=ids, state=JobState.SUCCEEDED).count() == 60,
        timeout=120,
        message="every job ran once Redis was back",
    )
    runs = _succeeded_runs()
    assert set(runs) == set(ids) and max(runs.values()) == 1


def _runs() -> list[int]:
    return [int(x) for x in redis.Redis.from_url(settings.REDIS_URL).lrange("test:counted_runs", 0, -1)]


def test_two_nodes_sigkilled_repeatedly_lose_nothing_and_rerun_at_most_once_per_kill(worker_process):
    nodes = {name: worker_process(name, queues=["default"], concurrency=2, **FAST) for name in ("ka", "kb")}
    for n in range(200):
        counted_job.enqueue(n=n, seconds=0.1)
    kills = 0
    for victim in ("ka", "kb", "ka", "kb"):
        time.sleep(1.5)
        os.killpg(nodes[victim].proc.pid, signal.SIGKILL)
        nodes[victim].proc.wait(10)
        kills += 1
        nodes[victim] = worker_process(victim, queues=["default"], concurrency=2, **FAST)
    wait_for(lambda: len(set(_runs())) == 200, timeout=180, message="every job ran")
    wait_for(
        lambda: Job.objects.filter(state=JobState.SUCCEEDED).count() == 200, timeout=60, message="recorded"
    )
    runs = Counter(_runs())
    extra = sum(runs.values()) - 200
    assert max(runs.values()) <= 2
    assert extra <= kills * 2  # a kill can interrupt at most the two jobs its node was running


def test_a_thousand_jobs_on_one_rate_limit_cost_at_most_two_deferrals_each(worker_process):
    worker_process("herd1", queues=["handlers"], concurrency=4, pool="threads", **FAST)
    worker_process("herd2", queues=["handlers"], concurrency=4, pool="threads", **FAST)
    from jobs import enqueue_many

    enqueue_many(herd_job, [{"n": n} for n in range(1000)])
    wait_for(
        lambda: Job.objects.filter(state=JobState.SUCCEEDED).count() == 1000,
        timeout=240,
        message="1,000 jobs through a 10/s limit",
    )
    deferrals = list(Job.objects.values_list("deferrals", flat=True))
    assert max(deferrals) <= 2
    starts = [float(t) for t in redis.Redis.from_url(settings.REDIS_URL).lrange("test:herd_starts", 0, -1)]
    assert len(starts) == 1000 and max_in_window(starts, 1.0) <= 10
