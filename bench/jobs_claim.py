"""jobs_claim: the claim and a single enqueue's INSERT alone, sent through libpq vs psycopg's
cursor (a study: `python -m bench --only jobs_claim`).

The claim is the one statement every delivery adds to a bare Celery task; the INSERT is what a
single enqueue adds to a bare publish. Each round inserts BENCH_CLAIM_N rows (default 2,000) one
by one, then claims them one by one, in this process, once with `jobs/table/hot.py` (libpq,
prepared once per connection) and once with the psycopg cursor path it falls back to (prepared
by psycopg after `prepare_threshold` runs; the first 50 statements of each kind warm it up and
are not timed), alternating which side goes first. Prints medians of BENCH_RUNS
rounds: wall µs per statement and this process's CPU µs per statement (less moved by other
load), and the libpq side's ratio to the cursor side taken round by round.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from bench.common import figure, setup_django

N = int(os.environ.get("BENCH_CLAIM_N", "2000"))
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
WARM = 50


def run() -> list[dict]:
    setup_django()
    from django.conf import settings
    from django.db import connection

    from jobs.table import hot

    settings.DEBUG = False  # DEBUG's query log would send both sides through Django's cursor
    libpq = hot.run
    sides: dict[str, Callable[..., Any]] = {"libpq": libpq, "cursor": lambda statement, values: None}
    wall: dict[str, list[float]] = {f"{op}.{name}": [] for op in ("insert", "claim") for name in sides}
    cpu: dict[str, list[float]] = {key: [] for key in wall}
    try:
        for r in range(RUNS):
            for name in sides if r % 2 == 0 else reversed(sides):
                hot.run = sides[name]  # None from it: job_claim takes its cursor path
                ids, inserted = _stored(N + WARM)
                for op, (w, c) in (("insert", inserted), ("claim", _claims(ids))):
                    wall[f"{op}.{name}"].append(w)
                    cpu[f"{op}.{name}"].append(c)
                    print(f"# {time.strftime('%H:%M:%S')} jobs_claim.{op}.{name} {w:.0f} µs", file=sys.stderr)
                with connection.cursor() as cur:
                    cur.execute("TRUNCATE jobs_job, jobs_jobattempt CASCADE")
    finally:
        hot.run = libpq
    figs = [figure(f"jobs_claim.wall_us.{k}", statistics.median(v), "us") for k, v in wall.items()]
    figs += [figure(f"jobs_claim.cpu_us.{k}", statistics.median(v), "us") for k, v in cpu.items()]
    for op in ("insert", "claim"):
        paired = [c / lp for lp, c in zip(wall[f"{op}.libpq"], wall[f"{op}.cursor"], strict=True)]
        figs.append(figure(f"jobs_claim.{op}.libpq_speedup_vs_cursor", statistics.median(paired), "ratio"))
    return figs


def _stored(n: int) -> tuple[list[str], tuple[float, float]]:
    """n rows inserted one by one (as n single enqueues write them), their ids, and the wall and
    CPU µs per INSERT over rows[WARM:]."""
    from django.utils import timezone

    from bench.jobs_tasks import jobs_noop
    from jobs.table.rows import jobs_insert

    now = timezone.now()
    rows = [jobs_noop.job_row((), {}, now=now, task_id=str(uuid.uuid4()), queue="default") for _ in range(n)]
    for row in rows[:WARM]:
        jobs_insert([row])
    t0, c0 = time.perf_counter(), time.process_time()
    for row in rows[WARM:]:
        jobs_insert([row])
    per = (time.perf_counter() - t0) / (n - WARM) * 1e6, (time.process_time() - c0) / (n - WARM) * 1e6
    return [str(row["id"]) for row in rows], per


def _claims(ids: list[str]) -> tuple[float, float]:
    """Wall and CPU µs per claim over ids[WARM:], after claiming ids[:WARM] untimed."""
    from django.utils import timezone

    from jobs.table.transitions import job_claim

    def claim(job_id: str) -> None:
        now = timezone.now()
        lease = now + timedelta(seconds=30)
        if job_claim(job_id, token="bench:1", worker="bench", now=now, lease_until=lease) is None:
            raise RuntimeError(f"{job_id} was not claimable")

    for job_id in ids[:WARM]:
        claim(job_id)
    timed = ids[WARM:]
    t0, c0 = time.perf_counter(), time.process_time()
    for job_id in timed:
        claim(job_id)
    return (time.perf_counter() - t0) / len(timed) * 1e6, (time.process_time() - c0) / len(timed) * 1e6
