"""jobs: 20,000 no-op jobs enqueued, then drained by one worker, three ways, in one run.

(a) bare Celery shared_task, no result backend; (b) Celery + django-celery-results on
PostgreSQL; (c) jobs.job with history on PostgreSQL. Same broker, same worker (prefork -c 2,
prefetch 4, persistent DB connections). Every run checks that each job reached its final
record; a run that loses any is an error, not a figure.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.common import figure, setup_django

N = int(os.environ.get("BENCH_JOBS_N", "20000"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
QUEUE = "bench"
ROOT = Path(__file__).resolve().parent.parent


def run() -> list[dict]:
    setup_django()
    import redis
    from django.conf import settings
    from django.db import connection
    from django_celery_results.models import TaskResult

    from bench import jobs_tasks
    from jobs import history
    from jobs.models import Job, JobState
    from project.celery import app

    r = redis.Redis.from_url(settings.REDIS_URL)
    worker = _start_worker(settings)
    try:
        _wait_worker(app)
        kinds = {
            "bare": (lambda: jobs_tasks.bare_noop.apply_async(queue=QUEUE), lambda: True),
            "results": (
                lambda: jobs_tasks.results_noop.apply_async(queue=QUEUE),
                lambda: TaskResult.objects.filter(status="SUCCESS").count() == N,
            ),
            "jobs": (
                lambda: jobs_tasks.jobs_noop.apply_async(queue=QUEUE),
                lambda: Job.objects.filter(state=JobState.SUCCEEDED).count() == N,
            ),
        }
        enq: dict[str, list[float]] = {k: [] for k in kinds}
        drain: dict[str, list[float]] = {k: [] for k in kinds}
        for _ in range(RUNS):
            for name, (send, complete) in kinds.items():
                _reset(r, connection)
                started = time.perf_counter()
                for _i in range(N):
                    send()
                history.flush()
                enq[name].append(N / (time.perf_counter() - started))
                assert r.llen(QUEUE) == N, f"{name}: {r.llen(QUEUE)} of {N} messages queued"

                started = time.perf_counter()
                app.control.add_consumer(QUEUE, destination=[worker.name], reply=True)
                _wait(lambda: r.llen(QUEUE) == 0 and r.hlen("unacked") == 0, 600)
                _wait(complete, 120)
                drain[name].append(N / (time.perf_counter() - started))
                app.control.cancel_consumer(QUEUE, destination=[worker.name], reply=True)
                if name == "jobs":
                    final = Job.objects.filter(state=JobState.SUCCEEDED).count()
                    if final != N:
                        raise RuntimeError(f"jobs: only {final} of {N} final records")
    finally:
        worker.stop()

    med = {k: statistics.median(v) for k, v in enq.items()}
    dmed = {k: statistics.median(v) for k, v in drain.items()}
    figs = [figure(f"jobs.enqueue_per_s.{k}", v, "jobs/s") for k, v in med.items()]
    figs += [figure(f"jobs.drain_per_s.{k}", v, "jobs/s") for k, v in dmed.items()]
    figs += [
        figure("jobs.drain_ratio_vs_bare", dmed["jobs"] / dmed["bare"], "ratio"),
        figure("jobs.drain_ratio_vs_results", dmed["jobs"] / dmed["results"], "ratio"),
        figure("jobs.enqueue_ratio_vs_bare", med["jobs"] / med["bare"], "ratio"),
    ]
    return figs


class _Worker:
    def __init__(self, proc: subprocess.Popen, name: str) -> None:
        self.proc, self.name = proc, name

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _start_worker(settings) -> _Worker:
    name = f"bench-{os.getpid()}@localhost"
    db = settings.DATABASES["default"]
    env = dict(
        os.environ,
        DATABASE_URL=f"postgres://{db['USER'] or 'postgres'}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        REDIS_URL=settings.REDIS_URL,
        CELERY_EXTRA_IMPORTS="bench.jobs_tasks",
        CELERY_WORKER_PREFETCH_MULTIPLIER="4",
        JOBS_HISTORY_FLUSH_INTERVAL="0.25",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    # Starts consuming nothing: each measured drain begins when the queue is added.
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "project",
            "worker",
            "-n",
            name,
            "-c",
            "2",
            "-P",
            "prefork",
            "-Q",
            "bench_idle",
            "-l",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=open("/tmp/bench-worker.log", "w"),
        stderr=subprocess.STDOUT,
    )
    return _Worker(proc, name)


def _wait_worker(app) -> None:
    _wait(lambda: bool(app.control.ping(timeout=0.5)), 180)


def _reset(r, connection) -> None:
    r.delete(QUEUE)
    for k in r.scan_iter("jobs:*"):
        r.delete(k)
    with connection.cursor() as cur:
        cur.execute("TRUNCATE jobs_job, django_celery_results_taskresult")


def _wait(predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark step did not finish in time")
        time.sleep(0.05)
