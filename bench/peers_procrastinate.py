"""(g) Procrastinate on the same PostgreSQL, in a database of its own.

One round, as for oban-py: `defer` one job at a time, drained by one worker process, then
`batch_defer` in batches of BATCH, drained by two (concurrency BENCH_PROCRASTINATE_CONCURRENCY each,
async no-op). Workers are `bench.peers_procrastinate.worker(DSN, C)` subprocesses that start only when
told, so start-up is not drain time; each drain starts after ANALYZE, as autovacuum would give a
backlog (without it the planner keeps the empty table's plan: 2-4x slower fetches at 5,000-20,000).
Completion is rows in status succeeded (kept: the default delete_jobs is
"never").
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import procrastinate
import psycopg

from bench.celery_workers import ROOT
from bench.common import processes_stop

CONCURRENCY = int(os.environ.get("BENCH_PROCRASTINATE_CONCURRENCY", "10"))


def make_app(dsn: str) -> tuple[procrastinate.App, procrastinate.tasks.Task]:
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=dsn))

    @app.task(queue="bench", name="bench.noop")
    async def noop() -> None:
        """A no-op."""

    return app, noop


def round_(dsn: str, n: int, batch: int) -> dict[str, float]:
    """enqueue, enqueue_many (batch_defer), drain_1 and drain_2 in jobs/s."""
    import logging

    # One INFO line per deferred job would be part of the measured enqueue: the peer runs quiet.
    logging.getLogger("procrastinate").setLevel(logging.WARNING)
    app, noop = make_app(dsn)
    out: dict[str, float] = {}
    with app.open():
        with psycopg.connect(dsn, autocommit=True) as c:
            if not c.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()[0]:
                app.schema_manager.apply_schema()
        _truncate(dsn)
        started = time.perf_counter()
        for _ in range(n):
            noop.defer()
        out["enqueue"] = n / (time.perf_counter() - started)
        out["drain_1"] = _drain(dsn, n, 1)

        _truncate(dsn)
        started = time.perf_counter()
        for i in range(0, n, batch):
            noop.batch_defer(*([{}] * min(batch, n - i)))
        out["enqueue_many"] = n / (time.perf_counter() - started)
        out["drain_2"] = _drain(dsn, n, 2)
        _truncate(dsn)
    return out


def _truncate(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute("TRUNCATE procrastinate_jobs CASCADE")


def _drain(dsn: str, n: int, procs: int) -> float:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    # Imported, not run as __main__: Procrastinate warns about an app built in the main module.
    code = f"from bench.peers_procrastinate import worker; worker({dsn!r}, {CONCURRENCY})"
    cmd = [sys.executable, "-c", code]
    workers = [
        subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for _ in range(procs)
    ]
    try:
        for w in workers:
            if w.stdout.readline().strip() != "ready":
                raise RuntimeError("procrastinate worker did not start")
        with psycopg.connect(dsn, autocommit=True) as c:
            c.execute("ANALYZE procrastinate_jobs")  # as autovacuum would after a burst: no empty-table plans
            started = time.perf_counter()
            for w in workers:
                w.stdin.write("go\n")
                w.stdin.flush()
            deadline = time.monotonic() + 900
            q = "SELECT count(*) FROM procrastinate_jobs WHERE status = 'succeeded'"
            while c.execute(q).fetchone()[0] < n:
                if time.monotonic() > deadline:
                    raise TimeoutError("procrastinate: drain did not finish in 900 s")
                time.sleep(0.05)
            return n / (time.perf_counter() - started)
    finally:
        processes_stop(workers)


def worker(dsn: str, concurrency: int) -> None:
    """A worker subprocess: says ready, waits for a line on stdin, runs until SIGTERM."""
    import logging

    logging.basicConfig(level=logging.WARNING)
    app, _noop = make_app(dsn)
    print("ready", flush=True)
    sys.stdin.readline()
    app.run_worker(queues=["bench"], concurrency=concurrency, wait=True)
