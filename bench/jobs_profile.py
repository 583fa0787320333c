"""jobs_profile: where a solo worker's time goes while it drains durable jobs (py-spy, sampled).

`make bench ONLY=jobs_profile`: one solo node of this app (its own settings), BENCH_PROFILE_N durable
no-op jobs (default 5,000) enqueued, then drained under `py-spy record` (raw collapsed stacks, kept in
$VAR_DIR/bench-logs/jobs_profile.txt for a flame graph). Prints, as figures, the share of non-idle
samples spent inside each of the top working functions (inclusive: jobs/, Celery's tracer, events and
request, kombu's transport, Django's DB layer) and the top leaf functions (own time),
plus the drain rate under the profiler. The single enqueue is profiled the same way first (py-spy on
the bench's own process while it enqueues the N jobs one by one: `jobs_profile.jobs.enqueue.*`).
BENCH_PROFILE_KIND=bare profiles the bare task instead.
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
    "celery/app/task",
    "celery/app/amqp",
    "celery/app/base",
    "kombu/messaging",
)


def run() -> list[dict]:
    setup_django()
    from bench.jobs_celery import ProjectBench

    pyspy = shutil.which("py-spy") or os.path.join(os.path.dirname(sys.executable), "py-spy")
    bench = ProjectBench(N)
    nodes = bench.start(Shape("solo", 1), tag="profile")
    out = LOG_DIR / f"{KIND}_profile.txt"
    enqueue_out = LOG_DIR / f"{KIND}_enqueue_profile.txt"
    try:
        # The single enqueue, in this process (as a web request would): py-spy on ourselves.
        espy = _spy(pyspy, os.getpid(), enqueue_out)
        time.sleep(1.0)
        enqueue_rate = bench.enqueue(KIND)
        _stop(espy, enqueue_out)
        spy = _spy(pyspy, nodes.procs[0].pid, out)
        time.sleep(1.0)  # py-spy attached before the drain starts
        rate = bench.drain(KIND, nodes)
        _stop(spy, out)
    finally:
        nodes.stop()
        bench.reset()
    figs = [figure(f"jobs_profile.{KIND}.enqueue_per_s_under_pyspy", enqueue_rate, "jobs/s")]
    figs += _figs(f"jobs_profile.{KIND}.enqueue", *_tally(enqueue_out.read_text()))
    figs.append(figure(f"jobs_profile.{KIND}.drain_per_s_under_pyspy", rate, "jobs/s"))
    figs += _figs(f"jobs_profile.{KIND}", *_tally(out.read_text()))
    return figs


def _spy(pyspy: str, pid: int, out) -> subprocess.Popen:
    return subprocess.Popen(
        [pyspy, "record", "--format", "raw", "--rate", "200", "--nonblocking", "-o", str(out)]
        + ["--pid", str(pid)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _stop(spy: subprocess.Popen, out) -> None:
    spy.send_signal(2)  # SIGINT: py-spy writes its file and exits
    spy.wait(60)
    wait_for(lambda: out.exists() and out.stat().st_size > 0, 30, "py-spy output")


def _figs(prefix: str, inclusive: Counter, own: Counter, total: int) -> list[dict]:
    figs = [figure(f"{prefix}.samples", total, "samples")]
    figs += [figure(f"{prefix}.inclusive.{f}", 100 * c / total, "%") for f, c in inclusive.most_common(TOP)]
    figs += [figure(f"{prefix}.own.{f}", 100 * c / total, "%") for f, c in own.most_common(TOP)]
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
