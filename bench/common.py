"""Helpers shared by benchmark parts: an isolated environment and medians."""

from __future__ import annotations

import os
import statistics
import subprocess
from collections.abc import Callable


def setup_django() -> None:
    """Benchmarks use the test environment (own Redis DB, PostgreSQL) and a database of their own."""
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tasksvc_bench")
    # Production-like history writes (batched by the runtime thread), not the tests' write-at-once.
    os.environ.setdefault("JOBS_HISTORY_FLUSH_INTERVAL", "0.25")
    import django

    import project.testenv  # noqa: F401 - claims a Redis database, sets test defaults

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    _ensure_database(connection.settings_dict["NAME"])
    call_command("migrate", verbosity=0, interactive=False)


def _ensure_database(name: str) -> None:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        if not c.execute("SELECT 1 FROM pg_database WHERE datname=%s", (name,)).fetchone():
            c.execute(f'CREATE DATABASE "{name}"')


def median_of(n: int, fn: Callable[[], float]) -> float:
    return statistics.median(fn() for _ in range(n))


def figure(name: str, value: float, unit: str) -> dict:
    return {"name": name, "value": round(value, 4), "unit": unit}


def processes_stop(procs: list[subprocess.Popen]) -> None:
    """SIGTERM all first (they stop in parallel), then wait; kill what is still up after 30 s."""
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)
