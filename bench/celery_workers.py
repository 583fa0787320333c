"""Celery worker subprocesses for the jobs benchmark, in the shapes the settings study compares.

A node starts consuming only an idle queue; a measured drain begins when the benchmark queue is
added to every node (`add_consumer`), so worker start-up never counts as drain time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.common import processes_stop

ROOT = Path(__file__).resolve().parent.parent
LOG_DIR = Path(os.environ.get("VAR_DIR", "/tmp/var-bench")) / "bench-logs"


@dataclass(frozen=True)
class Shape:
    """How many worker nodes, which pool, how many slots per node (`prefork:2`, `solo:1x2`, ...)."""

    pool: str
    concurrency: int
    nodes: int = 1

    @classmethod
    def parse(cls, text: str) -> Shape:
        pool, _, rest = text.partition(":")
        conc, _, nodes = (rest or "1").partition("x")
        return cls(pool, int(conc), int(nodes or 1))

    @property
    def label(self) -> str:
        return f"{self.pool}{self.concurrency}" + (f"x{self.nodes}" if self.nodes > 1 else "")


class Nodes:
    """Worker nodes started as real subprocesses; `stop()` terminates them."""

    def __init__(self, app, procs: list[subprocess.Popen], names: list[str]) -> None:
        self.app, self.procs, self.names = app, procs, names

    def wait_ready(self, timeout: float = 180) -> None:
        def all_answer() -> bool:
            for p in self.procs:
                if p.poll() is not None:
                    raise RuntimeError(f"bench worker exited with {p.returncode}; see {LOG_DIR}")
            replies = self.app.control.ping(destination=self.names, timeout=0.5) or []
            return len(replies) == len(self.names)

        wait_for(all_answer, timeout)

    def consume(self, queue: str) -> None:
        self.app.control.add_consumer(queue, destination=self.names, reply=True, timeout=5)

    def stop_consuming(self, queue: str) -> None:
        self.app.control.cancel_consumer(queue, destination=self.names, reply=True, timeout=5)

    def stop(self) -> None:
        processes_stop(self.procs)


def start_nodes(app, app_module: str, shape: Shape, env: dict[str, str], tag: str) -> Nodes:
    """Start `shape.nodes` workers of `app_module`, each consuming only an idle queue."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    procs, names = [], []
    for i in range(shape.nodes):
        name = f"bench-{tag}-{shape.label}-{i}-{os.getpid()}@localhost"
        cmd = [sys.executable, "-m", "celery", "-A", app_module, "worker", "-n", name]
        cmd += ["-P", shape.pool, "-c", str(shape.concurrency), "-Q", "bench_idle", "-l", "WARNING"]
        cmd += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
        log = open(LOG_DIR / f"worker-{tag}-{shape.label}-{i}.log", "w")
        procs.append(subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
        names.append(name)
    return Nodes(app, procs, names)


def wait_for(predicate: Callable[[], bool], timeout: float, what: str = "benchmark step") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not finish in {timeout:.0f} s")
        time.sleep(0.05)
