"""jobs_settings: what each Celery setting the issue names costs, on plain Celery and on this app.

`make bench ONLY=jobs_settings` (BENCH_SETTINGS_N no-op jobs per sample, default 5,000; medians of
BENCH_RUNS, default 3). Each configuration starts its own worker nodes (settings are read at start),
then enqueues and drains RUNS times:
- task-sent event (CELERY_TASK_SEND_SENT_EVENT): enqueue with it on and off;
- late acks and worker events (what a killed worker's job and Flower need): drain with each on/off;
- the worker shape: prefork -c 2, two solo nodes, threads -c 2, one solo node; prefetch 1/4/16.
Plain Celery runs its no-op (Redis INCR); this app runs the bare task and the durable job.
Configurations run one after another, not interleaved: compare figures of one run only.
"""

from __future__ import annotations

import os
import statistics
import sys
import time

from bench.celery_workers import Shape
from bench.common import figure, setup_django

N = int(os.environ.get("BENCH_SETTINGS_N", "5000"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
ON = {"BENCH_CELERY_ACKS_LATE": "1", "BENCH_CELERY_TASK_EVENTS": "1"}
OFF = {"BENCH_CELERY_ACKS_LATE": "0", "BENCH_CELERY_TASK_EVENTS": "0"}
FLAGS = {
    "defaults": OFF,
    "acks_late": {**OFF, "BENCH_CELERY_ACKS_LATE": "1"},
    "events": {**OFF, "BENCH_CELERY_TASK_EVENTS": "1"},
    "acks_late+events": ON,
    "project": {},  # this app's own settings: late acks, worker events, prefetch 1
    "project_prefetch4": {"BENCH_CELERY_PREFETCH": "4"},
    "project_prefetch16": {"BENCH_CELERY_PREFETCH": "16"},
}
P2, S2, T2, S1 = Shape("prefork", 2), Shape("solo", 1, 2), Shape("threads", 2), Shape("solo", 1)
# (app, kind, shape, flags): plain Celery first, then this project's app with its own settings ("project").
CONFIGS = [
    *[("plain", "bare", P2, f) for f in ("defaults", "acks_late", "events", "acks_late+events")],
    ("plain", "bare", S2, "defaults"),
    ("plain", "bare", S2, "acks_late+events"),
    ("plain", "bare", T2, "defaults"),
    ("plain", "bare", S1, "defaults"),
    *[("project", kind, shape, "project") for kind in ("bare", "jobs") for shape in (P2, S2, T2)],
    ("project", "jobs", P2, "defaults"),
    ("project", "jobs", S2, "defaults"),
    ("project", "jobs", S2, "project_prefetch4"),
    ("project", "jobs", S2, "project_prefetch16"),
]


def run() -> list[dict]:
    setup_django()
    from bench import celery_overrides
    from bench.jobs_celery import ProjectBench
    from bench.plain_celery import PlainBench, claim_redis_db
    from project.celery import app as project_app

    benches = {"plain": PlainBench(N, claim_redis_db()), "project": ProjectBench(N)}
    only = os.environ.get("BENCH_SETTINGS_ONLY")  # e.g. "plain" for a quick look
    figs: list[dict] = []
    # Task-sent event: an enqueue-side setting, read at each send; no worker needed.
    for sent in (False, True):
        plain = [benches["plain"].enqueue(sent_event=sent) for _ in range(RUNS)]
        figs.append(_fig(f"enqueue_per_s.plain.sent_event_{'on' if sent else 'off'}", plain))
        celery_overrides.set_conf(project_app, "task_send_sent_event", sent)
        for kind in ("bare", "jobs"):
            proj = [benches["project"].enqueue(kind) for _ in range(RUNS)]
            figs.append(_fig(f"enqueue_per_s.project_{kind}.sent_event_{'on' if sent else 'off'}", proj))
    celery_overrides.set_conf(project_app, "task_send_sent_event", True)  # the project's setting
    benches["project"].reset()
    for app, kind, shape, flags in CONFIGS:
        if only and app != only:
            continue
        bench = benches[app]
        env = FLAGS[flags]
        nodes = bench.start(shape, env, tag=f"settings-{app}")
        try:
            samples = []
            for _ in range(RUNS):
                if app == "plain":
                    bench.enqueue(sent_event=False)
                    samples.append(bench.drain(nodes))
                else:
                    bench.enqueue(kind)
                    samples.append(bench.drain(kind, nodes))
        finally:
            nodes.stop()
        figs.append(_fig(f"drain_per_s.{app}_{kind}.{shape.label}.{flags}", samples))
    benches["project"].reset()
    return figs + _costs({f["name"]: f["value"] for f in figs})


def _fig(name: str, samples: list[float]) -> dict:
    value = statistics.median(samples)
    print(f"# {time.strftime('%H:%M:%S')} jobs_settings.{name} {value:.0f}", file=sys.stderr, flush=True)
    return figure(f"jobs_settings.{name}", value, "jobs/s")


def _costs(v: dict[str, float]) -> list[dict]:
    """Each setting's cost as the fraction of throughput it takes away (1 - with/without)."""
    p = "jobs_settings."
    pairs = {
        "sent_event.enqueue.plain": (
            "enqueue_per_s.plain.sent_event_on",
            "enqueue_per_s.plain.sent_event_off",
        ),
        "sent_event.enqueue.project_bare": (
            "enqueue_per_s.project_bare.sent_event_on",
            "enqueue_per_s.project_bare.sent_event_off",
        ),
        "sent_event.enqueue.project_jobs": (
            "enqueue_per_s.project_jobs.sent_event_on",
            "enqueue_per_s.project_jobs.sent_event_off",
        ),
        "acks_late.drain.plain_prefork2": (
            "drain_per_s.plain_bare.prefork2.acks_late",
            "drain_per_s.plain_bare.prefork2.defaults",
        ),
        "events.drain.plain_prefork2": (
            "drain_per_s.plain_bare.prefork2.events",
            "drain_per_s.plain_bare.prefork2.defaults",
        ),
        "acks_late+events.drain.plain_prefork2": (
            "drain_per_s.plain_bare.prefork2.acks_late+events",
            "drain_per_s.plain_bare.prefork2.defaults",
        ),
        "acks_late+events.drain.plain_solo1x2": (
            "drain_per_s.plain_bare.solo1x2.acks_late+events",
            "drain_per_s.plain_bare.solo1x2.defaults",
        ),
        "acks_late+events.drain.project_jobs_prefork2": (
            "drain_per_s.project_jobs.prefork2.project",
            "drain_per_s.project_jobs.prefork2.defaults",
        ),
        "acks_late+events.drain.project_jobs_solo1x2": (
            "drain_per_s.project_jobs.solo1x2.project",
            "drain_per_s.project_jobs.solo1x2.defaults",
        ),
    }
    out = []
    for name, (with_, without) in pairs.items():
        if p + with_ in v and p + without in v:
            out.append(figure(f"{p}cost.{name}", 1 - v[p + with_] / v[p + without], "fraction"))
    return out
