"""(h) django-ox and (i) django-tasks-db: the side that imports them (Python 3.12+; bench/peers_djtasks.py).

`python -m bench.peers_djtasks_side round PEER DSN N` prints one JSON object: enqueue (one
`noop.enqueue()` each, jobs/s) and drain with one and with two worker processes, each drained by the
peer's own worker command (`ox_worker`, `db_worker`). The backlog is enqueued on a queue no worker
reads ("hold"); once the workers are connected and idle, one UPDATE moves it to "bench", so worker
start-up is not drain time. Both workers poll every 0.1 s when idle (not their default 1 s), so a
drain's first pick-up is not a sleep either.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from bench.common import processes_stop

INTERVAL = "0.1"


def _setup() -> tuple[type, str]:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    if os.environ["BENCH_DJTASKS_PEER"] == "ox":
        from django_ox.models import OxTask as model
    else:
        from django_tasks_db.models import DBTaskResult as model
    return model, model._meta.db_table


def _sql(query: str, params: tuple = ()) -> list:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(query, params)
        return cur.fetchall() if cur.description else []


def _enqueue(n: int) -> float:
    from bench.peers_djtasks_tasks import noop

    held = noop.using(queue_name="hold")
    started = time.perf_counter()
    for _ in range(n):
        held.enqueue()
    return n / (time.perf_counter() - started)


def _worker_cmds(procs: int) -> list[list[str]]:
    base = [sys.executable, "-m", "django"]
    if os.environ["BENCH_DJTASKS_PEER"] == "ox":
        cmd = base + ["ox_worker", "--queues", "bench", "--interval", INTERVAL]
        return [cmd + (["--processes", str(procs)] if procs > 1 else [])]
    cmd = base + ["db_worker", "--queue-name", "bench", "--interval", INTERVAL, "--no-startup-delay"]
    return [cmd + ["--no-reload", "--verbosity", "0"] for _ in range(procs)]


def _drain(table: str, n: int, procs: int) -> float:
    workers = [
        subprocess.Popen(c, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for c in _worker_cmds(procs)
    ]
    try:
        deadline = time.monotonic() + 120
        others = (
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
        while _sql(others)[0][0] < procs:
            if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
                raise RuntimeError("django-tasks peer workers did not start")
            time.sleep(0.1)
        time.sleep(1.0)  # connected, then idle: their first empty poll is done
        _sql(f"ANALYZE {table}")  # as autovacuum would after a burst; same for every peer
        started = time.perf_counter()
        _sql(f"UPDATE {table} SET queue_name = 'bench' WHERE queue_name = 'hold'")
        deadline = time.monotonic() + 900
        while _sql(f"SELECT count(*) FROM {table} WHERE status = 'SUCCESSFUL'")[0][0] < n:
            if time.monotonic() > deadline:
                raise TimeoutError("django-tasks peer: drain did not finish in 900 s")
            time.sleep(0.05)
        return n / (time.perf_counter() - started)
    finally:
        processes_stop(workers)


def round_(n: int) -> dict[str, float]:
    _model, table = _setup()
    out: dict[str, float] = {}
    _sql(f"TRUNCATE {table} CASCADE")
    out["enqueue"] = _enqueue(n)
    out["drain_1"] = _drain(table, n, 1)
    _sql(f"TRUNCATE {table} CASCADE")
    out["enqueue_2"] = _enqueue(n)
    out["drain_2"] = _drain(table, n, 2)
    _sql(f"TRUNCATE {table} CASCADE")
    return out


def main(argv: list[str]) -> None:
    if argv[0] != "round":
        raise SystemExit(f"usage: {__doc__}")
    print(json.dumps(round_(int(argv[1]))), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
