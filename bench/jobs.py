"""jobs: N no-op jobs (default 20,000) enqueued, then drained, by this project and by its peers.

On this project's app, in one worker (shape BENCH_WORKER_SHAPE, default `solo:1x2` = two solo nodes,
the shape recommended on the jobs_settings evidence; `prefork:2` = one prefork -c 2 node):
(a) bare Celery task, (b) django-celery-results, (c) durable `jobs` (`task.enqueue()`), (d)
`enqueue_many` (enqueue only), (d') a Django `@task` through Django's Tasks API (`dtasks`).
Peers: (e) a plain Celery app with no Django and default settings,
drained by prefork -c 2 and by two solo workers; (f) oban-py, (g) Procrastinate, (h) django-ox and
(i) django-tasks-db, each on the same PostgreSQL in a database of its own, drained by one and by two
processes of its own worker ((h)/(i): BENCH_DJTASKS_N jobs a round, default min(N, 1,000): they drain
an order of magnitude slower). Then the latency, enqueue → body start, of single jobs on idle workers
(bench/jobs_latency.py: bare, durable, oban-py; BENCH_LATENCY=0 skips it). The per-job overhead is
`(1/drain_jobs - 1/drain_bare) x worker slots`, in µs. (c) and (d') are also enqueued alternately,
call by call, N/2 each (`paired_enqueue_us.*`, `dtasks_enqueue_ratio_vs_jobs_paired`), and drained
together (`paired_drain_us.*`: per node, finish to next finish, by kind). Medians of BENCH_RUNS
rounds (default 3); each round runs every kind once, so all kinds see the same machine noise,
in reversed order every other round (use an even BENCH_RUNS to balance the order exactly).

Every drain is timed until each job reached its final record (counter or row), so a run that loses
jobs fails with a timeout rather than printing a figure. Env knobs for quick iteration: BENCH_JOBS_N,
BENCH_RUNS, BENCH_BATCH (bulk batch size, default 1,000), BENCH_JOBS_PEERS (comma list, default all:
project,plain,oban,procrastinate,ox,tasksdb).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections import defaultdict

from bench import jobs_latency, peer_db
from bench.celery_workers import Shape
from bench.common import figure, setup_django

N = int(os.environ.get("BENCH_JOBS_N", "20000"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
BATCH = int(os.environ.get("BENCH_BATCH", "1000"))
# The recommended shape, one solo node per core (see jobs_settings); BENCH_WORKER_SHAPE=prefork:2: the old.
SHAPE = Shape.parse(os.environ.get("BENCH_WORKER_SHAPE", "solo:1x2"))
PEERS = os.environ.get("BENCH_JOBS_PEERS", "project,plain,oban,procrastinate,ox,tasksdb").split(",")
# django-ox and django-tasks-db drain far slower: their rounds use fewer jobs (rates are per second).
DJTASKS_N = int(os.environ.get("BENCH_DJTASKS_N", str(min(N, 1000))))
LATENCY = os.environ.get("BENCH_LATENCY", "1") == "1"
PLAIN_SHAPES = (Shape("prefork", 2), Shape("solo", 1, 2))


def run() -> list[dict]:
    setup_django()
    from bench.jobs_celery import KINDS, ProjectBench
    from bench.plain_celery import PlainBench, claim_redis_db

    samples: dict[str, list[float]] = _Samples()
    project = ProjectBench(N) if "project" in PEERS else None
    plain = PlainBench(N, claim_redis_db()) if "plain" in PEERS else None
    started = []
    try:
        if project:
            nodes = project.start(SHAPE)
            started.append(nodes)
        plain_nodes = {}
        if plain:
            for shape in PLAIN_SHAPES:
                plain_nodes[shape.label] = plain.start(shape)
                started.append(plain_nodes[shape.label])
        for r in range(RUNS):
            if project:
                # Reversed every other round: a kind measured right after another's drain meets
                # that drain's history writes and autovacuum, so no kind always pays for its neighbour.
                for kind in KINDS if r % 2 == 0 else tuple(reversed(KINDS)):
                    samples[f"enqueue_per_s.{kind}"].append(project.enqueue(kind))
                    samples[f"drain_per_s.{kind}"].append(project.drain(kind, nodes))
                samples["enqueue_many_per_s"].append(project.enqueue("enqueue_many"))
                jobs_us, dtasks_us = project.enqueue_paired()
                samples["paired_enqueue_us.jobs"].append(jobs_us)
                samples["paired_enqueue_us.dtasks"].append(dtasks_us)
                jobs_us, dtasks_us = project.drain_paired(nodes)
                samples["paired_drain_us.jobs"].append(jobs_us)
                samples["paired_drain_us.dtasks"].append(dtasks_us)
                project.reset()
            if plain:
                for label, pn in plain_nodes.items():
                    samples["enqueue_per_s.plain"].append(plain.enqueue())
                    samples[f"drain_per_s.plain_{label}"].append(plain.drain(pn))
            for peer in ("oban", "procrastinate", "ox", "tasksdb"):
                if peer in PEERS:
                    for k, v in _peer_round(peer).items():
                        samples[_peer_key(peer, k)].append(v)
        latencies = _latencies(project, nodes) if LATENCY and project else {}
    finally:
        for nodes_ in started:
            nodes_.stop()
    med = {k: statistics.median(v) for k, v in samples.items()}
    for peer in ("oban", "procrastinate", "ox", "tasksdb"):  # a peer's better shape, for ratios
        shapes = [med[k] for k in (f"drain_per_s.{peer}_1proc", f"drain_per_s.{peer}_2proc") if k in med]
        if shapes:
            med[f"drain_per_s.{peer}_best"] = max(shapes)
    figs = [
        figure(f"jobs.{k}", v, "us" if k.startswith("paired_") else "jobs/s") for k, v in sorted(med.items())
    ]
    figs += [figure(f"jobs.{name}", value, "ratio") for name, value in _ratios(med).items()]
    if "drain_per_s.jobs" in med and "drain_per_s.bare" in med:  # per job, per worker slot
        slots = SHAPE.nodes * SHAPE.concurrency
        per_job = (1 / med["drain_per_s.jobs"] - 1 / med["drain_per_s.bare"]) * slots * 1e6
        figs.append(figure("jobs.drain_overhead_us_per_job_per_slot", per_job, "us"))
    for kind, samples_ in latencies.items():
        for p, v in jobs_latency.percentiles(samples_).items():
            figs.append(figure(f"jobs.latency_ms.{kind}.{p}", v, "ms"))
    return figs


def _latencies(project, nodes) -> dict[str, list[float]]:
    """Enqueue → body start of single jobs on idle workers (bench/jobs_latency.py)."""
    from bench.jobs_celery import QUEUE

    project.reset()
    out = jobs_latency.measure_project(
        project.redis, lambda: nodes.consume(QUEUE), lambda: nodes.stop_consuming(QUEUE)
    )
    project.reset()
    if "oban" in PEERS:
        from bench import peers_oban

        db = f"tasksvc_bench_oban{os.environ.get('BENCH_DB_SUFFIX', '')}"
        dsn = peer_db.fresh(db)
        try:
            out["oban"] = peers_oban.latency(dsn, jobs_latency.N, jobs_latency.GAP)
        finally:
            peer_db.drop(db)
    return out


class _Samples(defaultdict):
    """Samples by figure name; each one is also logged to stderr as it comes (progress, not output)."""

    def __init__(self) -> None:
        super().__init__(_Logged)
        self.t0 = time.monotonic()

    def __missing__(self, key: str) -> list[float]:
        self[key] = _Logged(key, self.t0)
        return self[key]


class _Logged(list):
    def __init__(self, name: str = "", t0: float = 0.0) -> None:
        super().__init__()
        self.name, self.t0 = name, t0

    def append(self, value: float) -> None:
        print(
            f"# {time.monotonic() - self.t0:6.0f}s jobs.{self.name} {value:.0f}", file=sys.stderr, flush=True
        )
        super().append(value)


def _peer_round(peer: str) -> dict[str, float]:
    db = f"tasksvc_bench_{peer}{os.environ.get('BENCH_DB_SUFFIX', '')}"  # concurrent runs apart
    dsn = peer_db.fresh(db)
    try:
        if peer == "oban":
            from bench import peers_oban

            return peers_oban.round_(dsn, N, BATCH)
        if peer in ("ox", "tasksdb"):
            from bench import peers_djtasks

            return peers_djtasks.round_(peer, dsn, DJTASKS_N)
        from bench import peers_procrastinate

        return peers_procrastinate.round_(dsn, N, BATCH)
    finally:
        peer_db.drop(db)


def _peer_key(peer: str, key: str) -> str:
    if key.startswith("drain_"):  # drain_1 / drain_2: one or two worker processes
        return f"drain_per_s.{peer}_{key.removeprefix('drain_')}proc"
    return f"{key}_per_s.{peer}"


def _ratios(med: dict[str, float]) -> dict[str, float]:
    """Ratios of medians measured in this run; a peer not run leaves its ratios out."""
    pairs = {
        "drain_ratio_vs_bare": ("drain_per_s.jobs", "drain_per_s.bare"),
        # Django's Tasks API on the layer beside the layer's own enqueue (1.0: costs nothing more).
        "dtasks_enqueue_ratio_vs_jobs": ("enqueue_per_s.dtasks", "enqueue_per_s.jobs"),
        "dtasks_drain_ratio_vs_jobs": ("drain_per_s.dtasks", "drain_per_s.jobs"),
        # The same, paired call by call (µs per enqueue, so jobs / dtasks): the figure that resolves 5%.
        "dtasks_enqueue_ratio_vs_jobs_paired": ("paired_enqueue_us.jobs", "paired_enqueue_us.dtasks"),
        "dtasks_drain_ratio_vs_jobs_paired": ("paired_drain_us.jobs", "paired_drain_us.dtasks"),
        "drain_ratio_vs_results": ("drain_per_s.jobs", "drain_per_s.results"),
        "enqueue_ratio_vs_bare": ("enqueue_per_s.jobs", "enqueue_per_s.bare"),
        # Against the peer's better of one and two processes (two, as the recommended worker, on 2 cores).
        "drain_ratio_vs_oban": ("drain_per_s.jobs", "drain_per_s.oban_best"),
        "drain_ratio_vs_oban_1proc": ("drain_per_s.jobs", "drain_per_s.oban_1proc"),
        "drain_ratio_vs_procrastinate": ("drain_per_s.jobs", "drain_per_s.procrastinate_best"),
        "enqueue_ratio_vs_oban": ("enqueue_per_s.jobs", "enqueue_per_s.oban"),
        "enqueue_many_ratio_vs_oban": ("enqueue_many_per_s", "enqueue_many_per_s.oban"),
        "enqueue_many_ratio_vs_procrastinate": ("enqueue_many_per_s", "enqueue_many_per_s.procrastinate"),
        "drain_ratio_vs_plain_prefork2": ("drain_per_s.jobs", "drain_per_s.plain_prefork2"),
        "drain_ratio_vs_plain_solo1x2": ("drain_per_s.jobs", "drain_per_s.plain_solo1x2"),
        "enqueue_ratio_vs_plain": ("enqueue_per_s.jobs", "enqueue_per_s.plain"),
        # The database task backends Django users pick today (django.tasks), each drained by its own worker.
        "drain_ratio_vs_ox": ("drain_per_s.jobs", "drain_per_s.ox_best"),
        "drain_ratio_vs_ox_1proc": ("drain_per_s.jobs", "drain_per_s.ox_1proc"),
        "drain_ratio_vs_ox_2proc": ("drain_per_s.jobs", "drain_per_s.ox_2proc"),
        "drain_ratio_vs_tasksdb": ("drain_per_s.jobs", "drain_per_s.tasksdb_best"),
        "drain_ratio_vs_tasksdb_1proc": ("drain_per_s.jobs", "drain_per_s.tasksdb_1proc"),
        "drain_ratio_vs_tasksdb_2proc": ("drain_per_s.jobs", "drain_per_s.tasksdb_2proc"),
        "enqueue_ratio_vs_ox": ("enqueue_per_s.jobs", "enqueue_per_s.ox"),
        "enqueue_ratio_vs_tasksdb": ("enqueue_per_s.jobs", "enqueue_per_s.tasksdb"),
    }
    return {name: med[a] / med[b] for name, (a, b) in pairs.items() if a in med and b in med}
