"""jobs_ab: the same worker shape running two code trees, alternated in one run (a study).

`BENCH_AB_BEFORE=/path/to/an/older/checkout make bench ONLY=jobs_ab`: worker nodes (solo:1x2, the
bench's shape) are started from that tree and from this one, on the same database and Redis; each
round drains BENCH_AB_N no-op jobs (default 5,000) with each tree, bare task and durable job, in
turn, so a busy machine's noise falls on both trees alike. LOG_LEVEL (default INFO, the
project's own) is the workers'. BENCH_AB_AFTER_ENV (`NAME=value,...`) is added to the "after"
nodes' environment: with BENCH_AB_BEFORE=. it compares a setting on one tree. Prints drain
rates, durable/bare per tree and the per-job overhead in µs, and where the CPU went per job
(Linux `/proc`): the worker nodes', PostgreSQL's (every `postgres` process) and Redis's, each
the median over rounds of CPU seconds during the drain / N.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from bench import celery_workers
from bench.celery_workers import Shape
from bench.common import figure, setup_django

N = int(os.environ.get("BENCH_AB_N", "5000"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
SHAPE = Shape.parse(os.environ.get("BENCH_WORKER_SHAPE", "solo:1x2"))


def run() -> list[dict]:
    setup_django()
    from bench.jobs_celery import ProjectBench

    before = Path(os.environ["BENCH_AB_BEFORE"]).resolve()
    bench = ProjectBench(N)
    level = os.environ.get("BENCH_AB_LOG_LEVEL", "INFO")
    trees = {"before": before, "after": celery_workers.ROOT}
    nodes = {}
    samples: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    try:
        for name, root in trees.items():
            celery_workers.ROOT = root  # start_nodes runs `celery` from this tree
            nodes[name] = _start(bench, name, level)
        for _ in range(RUNS):
            for name in trees:
                for kind in ("bare", "jobs"):
                    bench.enqueue(kind)
                    before = _cpu(nodes[name])
                    rate = bench.drain(kind, nodes[name])
                    for part, used in _cpu(nodes[name], since=before).items():
                        cpu.setdefault(f"{name}.{kind}.{part}", []).append(sum(used.values()) / N * 1e6)
                    samples.setdefault(f"{name}.{kind}", []).append(rate)
                    print(f"# {time.strftime('%H:%M:%S')} jobs_ab.{name}.{kind} {rate:.0f}", file=sys.stderr)
    finally:
        celery_workers.ROOT = trees["after"]
        for n in nodes.values():
            n.stop()
        bench.reset()
    med = {k: statistics.median(v) for k, v in samples.items()}
    figs = [figure(f"jobs_ab.drain_per_s.{k}", v, "jobs/s") for k, v in sorted(med.items())]
    slots = SHAPE.nodes * SHAPE.concurrency
    for name in trees:
        jobs, bare = med[f"{name}.jobs"], med[f"{name}.bare"]
        figs.append(figure(f"jobs_ab.{name}.drain_ratio_vs_bare", jobs / bare, "ratio"))
        figs.append(
            figure(f"jobs_ab.{name}.overhead_us_per_job_per_slot", (1 / jobs - 1 / bare) * slots * 1e6, "us")
        )
    figs.append(figure("jobs_ab.after_vs_before.jobs", med["after.jobs"] / med["before.jobs"], "ratio"))
    per_job = {k: statistics.median(v) for k, v in sorted(cpu.items())}
    figs += [figure(f"jobs_ab.cpu_us_per_job.{k}", v, "us") for k, v in per_job.items()]
    return figs


def _cpu(nodes: Any, since: dict[str, dict[int, float]] | None = None) -> dict[str, dict[int, float]]:
    """CPU seconds used so far, per process: the nodes', every `postgres` process's and
    `redis-server`'s; with `since`, what each used after it (a process that exited in between
    is not counted, one that started is counted whole)."""
    used: dict[str, dict[int, float]] = {"workers": {p.pid: _proc_cpu(p.pid) for p in nodes.procs}}
    used["postgres"], used["redis"] = {}, {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                comm = (entry / "comm").read_text().strip()
            except OSError:
                continue
            part = {"postgres": "postgres", "redis-server": "redis"}.get(comm)
            if part:
                used[part][int(entry.name)] = _proc_cpu(int(entry.name))
    if since is None:
        return used
    return {k: {pid: t - since[k].get(pid, 0.0) for pid, t in v.items()} for k, v in used.items()}


def _proc_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _start(bench, tag: str, level: str):
    """Nodes of the tree `celery_workers.ROOT` names, as the jobs bench starts its own; the
    "after" nodes also get BENCH_AB_AFTER_ENV (`NAME=value,...`), to compare a setting."""
    env = {"LOG_LEVEL": level, "PYTHONPATH": str(celery_workers.ROOT)}
    if tag == "after":
        extra = os.environ.get("BENCH_AB_AFTER_ENV", "")
        env |= dict(pair.split("=", 1) for pair in extra.split(",") if pair)
    return bench.start(SHAPE, env, tag=f"ab-{tag}")
