"""What an enqueue costs the request that makes it while the broker is down (issue 19's target:
≤ 100 ms, where it used to take 6–8.5 s and Slack gives up after 3 s).

Each round is a fresh process (the breaker lives per process), like a web worker that meets the
outage: 20 `job.enqueue()` calls 0.15 s apart, each timed around the call, job rows committed
(they wait for the relay). Three brokers: `up` (the real Redis: the peer), `refused` (nothing
listens on the port: Redis stopped) and `silent` (a listener that accepts and never answers: a
hung Redis or a half-open network path). Figures, medians of 3 rounds:
jobs_outage.<case>_first_ms (the call that finds the broker down; a process's first enqueue
also pays its warm-up, so jobs_outage.<case>_first_extra_ms is the difference to `up`'s first
call: what the outage itself adds), jobs_outage.<case>_max_ms, jobs_outage.<case>_p50_ms, and
jobs_outage.<case>_vs_up_p50 (the p50 ratio to the `up` case).
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import threading
from pathlib import Path

from bench.common import figure

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 3
SCRIPT = """
import json, time, django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0, interactive=False)
from celery import current_app
from bench.jobs_tasks import jobs_noop
current_app.amqp.queues.select_add("bench")  # declared, as the bench worker's -Q does
times = []
for _ in range(20):
    t0 = time.perf_counter()
    jobs_noop.enqueue()
    times.append((time.perf_counter() - t0) * 1000)
    time.sleep(0.15)
print(json.dumps(times))
"""


class Silent:
    """Accepts connections and never answers them (kept open until closed)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            try:
                self.held.append(self.sock.accept()[0])
            except OSError:
                return

    def close(self) -> None:
        for conn in self.held:
            conn.close()
        self.sock.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _round(redis_url: str) -> list[float]:
    env = dict(
        os.environ,
        REDIS_URL=redis_url,
        PYTHONPATH=str(ROOT),
        DATABASE_URL=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tasksvc_bench"),
        DJANGO_SETTINGS_MODULE="project.settings",
        CELERY_EXTRA_IMPORTS="bench.jobs_tasks",
    )
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    if out.returncode:
        raise RuntimeError(f"jobs_outage round failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run() -> list[dict]:
    from bench.common import setup_django

    setup_django()  # the bench database exists and is migrated; the Redis DB is the tests' own
    from django.conf import settings

    silent = Silent()
    cases = {
        "up": settings.REDIS_URL,
        "refused": f"redis://127.0.0.1:{_closed_port()}/0",
        "silent": f"redis://127.0.0.1:{silent.port}/0",
    }
    figures: list[dict] = []
    p50: dict[str, float] = {}
    first: dict[str, float] = {}
    try:
        for case, url in cases.items():
            rounds = [_round(url) for _ in range(ROUNDS)]
            p50[case] = statistics.median(statistics.median(r) for r in rounds)
            first[case] = statistics.median(r[0] for r in rounds)
            figures += [
                figure(f"jobs_outage.{case}_first_ms", first[case], "ms"),
                figure(f"jobs_outage.{case}_max_ms", statistics.median(max(r) for r in rounds), "ms"),
                figure(f"jobs_outage.{case}_p50_ms", p50[case], "ms"),
            ]
    finally:
        silent.close()
    for case in ("refused", "silent"):
        figures.append(figure(f"jobs_outage.{case}_first_extra_ms", first[case] - first["up"], "ms"))
        figures.append(figure(f"jobs_outage.{case}_vs_up_p50", p50[case] / p50["up"], "ratio"))
    return figures
