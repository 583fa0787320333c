"""Latency, enqueue → body start, of single jobs on idle workers: the bare task, a durable job, oban-py.

One job at a time: the body pushes `time.time() - sent_at` (one machine, one clock) to a Redis list,
the driver waits for it, then leaves the workers idle for GAP seconds before the next one. Kinds
alternate (bare, jobs, bare, ...) so machine noise hits both alike. BENCH_LATENCY_N jobs per kind
(default 200). oban-py: the same on its side (bench/peers_oban_side.py `latency`), its body printing
the same difference to its driver.
"""

from __future__ import annotations

import os
import statistics
import time

N = int(os.environ.get("BENCH_LATENCY_N", "200"))
GAP = 0.05


def measure_project(redis_client, nodes_consume, nodes_stop) -> dict[str, list[float]]:
    """Latencies (ms) of the bare task and the durable job on this app's running nodes."""
    from bench import jobs_tasks  # after django.setup()

    send = {
        "bare": lambda t: jobs_tasks.bare_latency.apply_async((t,), queue="bench"),
        "jobs": lambda t: jobs_tasks.jobs_latency.enqueue(t),
    }
    out: dict[str, list[float]] = {k: [] for k in send}
    redis_client.delete(jobs_tasks.LATENCY_KEY)
    nodes_consume()
    try:
        for _ in range(N):
            for kind, fn in send.items():
                fn(time.time())
                got = redis_client.blpop(jobs_tasks.LATENCY_KEY, timeout=60)
                if got is None:
                    raise TimeoutError(f"latency: a {kind} job did not start in 60 s")
                out[kind].append(1000 * float(got[1]))
                time.sleep(GAP)
    finally:
        nodes_stop()
    return out


def percentiles(samples: list[float]) -> dict[str, float]:
    q = statistics.quantiles(samples, n=100, method="inclusive")
    return {"p50": statistics.median(samples), "p99": q[98]}
