"""(a)-(e) on this project's app: bare task, django-celery-results, durable jobs, enqueue_many, and
a Django `@task` through Django's Tasks API (jobs.tasks_api).

All four share one set of worker nodes (the same worker, same settings). Completion is counted where
each kind leaves it: a Redis INCR for the bare task, SUCCESS rows for django-celery-results, rows in
state succeeded in jobs_job for durable jobs. Counting rows, not queue length, keeps this harness right
for a core that claims each execution in the database and batches its finish writes.
"""

from __future__ import annotations

import functools
import os
import statistics
import time

from bench import jobs_tasks
from bench.celery_workers import Nodes, Shape, start_nodes, wait_for

QUEUE = "bench"
BATCH = int(os.environ.get("BENCH_BATCH", "1000"))
KINDS = ("bare", "results", "jobs", "dtasks")


class ProjectBench:
    """Measure enqueue and drain of each kind against running nodes of the project app."""

    def __init__(self, n: int) -> None:
        import redis
        from django.conf import settings
        from django.db import connection

        from project.celery import app

        self.n, self.app, self.connection = n, app, connection
        if QUEUE not in app.amqp.queues:  # declared here as the workers' -Q declares it there
            app.amqp.queues.add(QUEUE)
        self.redis = redis.Redis.from_url(settings.REDIS_URL)
        self.settings = settings

    # -- workers ----------------------------------------------------------------------------------
    def start(self, shape: Shape, env_extra: dict[str, str] | None = None, tag: str = "project") -> Nodes:
        db = self.settings.DATABASES["default"]
        env = dict(
            os.environ,
            DATABASE_URL=f"postgres://{db['USER'] or 'postgres'}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            REDIS_URL=self.settings.REDIS_URL,
            CELERY_EXTRA_IMPORTS="bench.jobs_tasks",
            # The project's own prefetch unless BENCH_PREFETCH says otherwise.
            CELERY_WORKER_PREFETCH_MULTIPLIER=os.environ.get("BENCH_PREFETCH", "")
            or str(self.settings.CELERY_WORKER_PREFETCH_MULTIPLIER),
            LOG_LEVEL="WARNING",
        )
        env.update(env_extra or {})
        nodes = start_nodes(self.app, "bench.project_app", shape, env, tag)
        nodes.wait_ready()
        return nodes

    # -- one measured round -----------------------------------------------------------------------
    def reset(self) -> None:
        r = self.redis
        # The queue's priority lists too ("bench\x06\x163", …): a Django task's default priority
        # goes to one, and messages left there would be drained by the next round of another kind.
        r.delete(QUEUE, *r.keys(QUEUE + "\x06\x16*"), jobs_tasks.DONE_KEY, "unacked", "unacked_index")
        for k in r.scan_iter("jobs:*"):
            if k != b"jobs:epoch":  # a missing epoch means "Redis forgot": every queued job republished
                r.delete(k)
        with self.connection.cursor() as cur:
            cur.execute("TRUNCATE jobs_job, jobs_jobattempt, django_celery_results_taskresult CASCADE")

    def enqueue(self, kind: str) -> float:
        """Enqueue N jobs of `kind`; time until every message is queued and every job row exists."""
        self.reset()
        send = {
            "bare": lambda: jobs_tasks.bare_noop.apply_async(queue=QUEUE),
            "results": lambda: jobs_tasks.results_noop.apply_async(queue=QUEUE),
            "jobs": lambda: jobs_tasks.jobs_noop.enqueue(),
            "dtasks": lambda: jobs_tasks.dtasks_noop.enqueue(),
        }.get(kind)
        started = time.perf_counter()
        if kind == "enqueue_many":
            from jobs import enqueue_many

            for i in range(0, self.n, BATCH):
                enqueue_many(jobs_tasks.jobs_noop, [{}] * min(BATCH, self.n - i))
        else:
            for _ in range(self.n):
                send()
        if kind in ("jobs", "enqueue_many", "dtasks"):
            wait_for(lambda: self._rows() >= self.n, 120, f"{kind}: job rows after enqueue")
        wait_for(lambda: self._depth() >= self.n, 120, f"{kind}: messages after enqueue")
        return self.n / (time.perf_counter() - started)

    def enqueue_paired(self) -> tuple[float, float]:
        """Median µs of one `task.enqueue()` and of one Django `@task` `.enqueue()`, alternated
        call by call (each pair in both orders) so the machine's noise falls on both alike: the
        round rates swing ±25% here, too much to see a 5% difference; the paired medians do not."""
        self.reset()
        # The same row on both sides: a plain job given the layer's 5, a Django task's default
        # priority (stored, and pushed to Redis's priority-5 list), as drain_paired does.
        jobs_send = functools.partial(jobs_tasks.jobs_noop.enqueue_with, (), {}, priority=5)
        dtasks_send = jobs_tasks.dtasks_noop.enqueue
        timer, jobs_us, dtasks_us = time.perf_counter, [], []
        for i in range(self.n // 2):
            for send, out in ((jobs_send, jobs_us), (dtasks_send, dtasks_us))[:: 1 if i % 2 else -1]:
                started = timer()
                send()
                out.append(timer() - started)
        self.reset()
        return statistics.median(jobs_us) * 1e6, statistics.median(dtasks_us) * 1e6

    def drain_paired(self, nodes: Nodes, timeout: float = 900) -> tuple[float, float]:
        """Median µs per job of `jobs` and of `dtasks` in one mixed drain: enqueued alternately at
        the same priority (one Redis list, so they interleave), drained together; on each node
        the time from one finish to the next is the later job's whole cost (message, claim,
        body, outcome), counted for its kind. Both kinds meet the same moment of the machine."""
        self.reset()
        for _ in range(self.n // 2):
            jobs_tasks.jobs_noop.enqueue_with((), {}, priority=5)  # a Django task's default
            jobs_tasks.dtasks_noop.enqueue()
        total = self.n // 2 * 2
        wait_for(lambda: self._depth() >= total, 120, "paired: messages after enqueue")
        nodes.consume(QUEUE)
        try:
            wait_for(lambda: self._count("jobs_job", "state='succeeded'") >= total, timeout, "paired: drain")
        finally:
            nodes.stop_consuming(QUEUE)
        with self.connection.cursor() as cur:
            cur.execute("SELECT task, worker, finished_at FROM jobs_job ORDER BY worker, finished_at")
            rows = cur.fetchall()
        gaps: dict[str, list[float]] = {"jobs": [], "dtasks": []}
        for (_, worker, before), (task, worker_, after) in zip(rows, rows[1:], strict=False):
            if worker == worker_:
                kind = "jobs" if task == jobs_tasks.jobs_noop.name else "dtasks"
                gaps[kind].append((after - before).total_seconds())
        self.reset()
        return statistics.median(gaps["jobs"]) * 1e6, statistics.median(gaps["dtasks"]) * 1e6

    def drain(self, kind: str, nodes: Nodes, timeout: float = 900) -> float:
        """Let the nodes consume the queue; time until every job has run to its final record."""
        done = {
            "bare": lambda: int(self.redis.get(jobs_tasks.DONE_KEY) or 0) >= self.n,
            "results": lambda: self._count("django_celery_results_taskresult", "status='SUCCESS'") >= self.n,
            "jobs": lambda: self._count("jobs_job", "state='succeeded'") >= self.n,
            "dtasks": lambda: self._count("jobs_job", "state='succeeded'") >= self.n,
        }[kind]
        with self.connection.cursor() as cur:  # as autovacuum would after a burst; same for every peer
            cur.execute("ANALYZE jobs_job")
            cur.execute("ANALYZE django_celery_results_taskresult")
        started = time.perf_counter()
        nodes.consume(QUEUE)
        try:
            wait_for(done, timeout, f"{kind}: drain")
            return self.n / (time.perf_counter() - started)
        finally:
            nodes.stop_consuming(QUEUE)

    def _depth(self) -> int:
        """Messages in the bench queue, over its priority lists (a Django task of default
        priority 0 is published at the layer's 5: Redis's second step)."""
        from jobs import queue_depth

        return queue_depth(QUEUE)

    def _rows(self) -> int:
        return self._count("jobs_job", "TRUE")

    def _count(self, table: str, where: str) -> int:
        with self.connection.cursor() as cur:
            cur.execute(f"SELECT count(*) FROM {table} WHERE {where}")  # constant names only
            return cur.fetchone()[0]
