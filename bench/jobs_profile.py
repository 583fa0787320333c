"""jobs_profile: where a solo worker's time goes while it drains durable jobs (py-spy, sampled).

`make bench ONLY=jobs_profile`: one solo node of this app (its own settings), BENCH_PROFILE_N durable
no-op jobs (default 5,000) enqueued, then drained under `py-spy record` (raw collapsed stacks, kept in
$VAR_DIR/bench-logs/jobs_profile.txt for a flame graph). Prints, as figures, the share of non-idle
samples spent inside each of the top working functions (inclusive: jobs/, Celery's tracer, events and
request, kombu's transport, Django's DB layer) and the top leaf functions (own time),
plus the drain rate under the profiler. BENCH_PROFILE_KIND=bare profiles the bare task instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections import Counter

from bench.celery_workers import LOG_DIR, Shape, wait_for
from bench.common import figure, setup_django

N = int(os.environ.get("BENCH_PROFILE_N", "5000"))
KIND = os.environ.get("BENCH_PROFILE_KIND", "jobs")
TOP = int(os.environ.get("BENCH_PROFILE_TOP", "25"))
# Inclusive shares only for frames that do the work (py-spy shortens site-packages paths like these):
# the worker's outer loop and click/bootsteps wrappers sit in every sample and say nothing.
WORK = (
    "jobs/",
    "bench/",
    "celery/app/trace",
    "celery/events",
    "celery/worker/request",
    "celery/backends",
    "kombu/transport",
    "django/db",
    "django_celery_results",
)


def run() -> list[dict]:
    setup_django()
    from bench.jobs_celery import ProjectBench

    pyspy = shutil.which("py-spy") or os.path.join(os.path.dirname(sys.executable), "py-spy")
    bench = ProjectBench(N)
    nodes = bench.start(Shape("solo", 1), tag="profile")
    out = LOG_DIR / f"{KIND}_profile.txt"
    try:
        bench.enqueue(KIND)
        spy = subprocess.Popen(
            [pyspy, "record", "--format", "raw", "--rate", "200", "--nonblocking", "-o", str(out)]
            + ["--pid", str(nodes.procs[0].pid)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(1.0)  # py-spy attached before the drain starts
        rate = bench.drain(KIND, nodes)
        spy.send_signal(2)  # SIGINT: py-spy writes its file and exits
        spy.wait(60)
        wait_for(lambda: out.exists() and out.stat().st_size > 0, 30, "py-spy output")
    finally:
        nodes.stop()
        bench.reset()
    inclusive, own, total = _tally(out.read_text())
    figs = [figure(f"jobs_profile.{KIND}.drain_per_s_under_pyspy", rate, "jobs/s")]
    figs.append(figure(f"jobs_profile.{KIND}.samples", total, "samples"))
    figs += [
        figure(f"jobs_profile.{KIND}.inclusive.{f}", 100 * c / total, "%")
        for f, c in inclusive.most_common(TOP)
    ]
    figs += [figure(f"jobs_profile.{KIND}.own.{f}", 100 * c / total, "%") for f, c in own.most_common(TOP)]
    return figs


def _tally(raw: str) -> tuple[Counter, Counter, int]:
    """From py-spy's collapsed stacks ("frame;frame;... count"): inclusive and own samples per frame."""
    inclusive: Counter = Counter()
    own: Counter = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        frames = stack.split(";")
        total += n
        own[_short(frames[-1])] += n
        for f in {_short(f) for f in frames if _path(f).startswith(WORK)}:
            inclusive[f] += n
    return inclusive, own, total or 1


def _path(frame: str) -> str:
    return frame.partition(" (")[2].rstrip(")").rsplit(":", 1)[0]


def _short(frame: str) -> str:
    """`func (path/to/module.py:123)` -> `func (path/to/module.py)`: lines differ per call site."""
    return f"{frame.partition(' (')[0]} ({_path(frame)})"
