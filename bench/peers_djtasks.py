"""(h) django-ox (PyPI `django-ox`) and (i) django-tasks-db (with the `django-tasks` backport) on the
same PostgreSQL, each in a database of its own: the database task backends Django users pick today.

django-ox needs Python 3.12+, so both run from a side venv ($VAR_DIR/bench-djtasks-venv, made once
from a python3.12+ found as for oban-py; BENCH_DJTASKS_PYTHON to give one) with the versions below,
on Django 5.2 like this project. The measuring code is bench/peers_djtasks_side.py.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from bench.celery_workers import ROOT
from bench.peers_oban import _find_python312

REQS = [
    "Django>=5.2,<6",
    "django-tasks==0.12.0",
    "django-tasks-db==0.13.0",
    "django-ox[backport]==1.9.1",
    "psycopg[binary]>=3.1",
]
PEERS = {"ox": "django-ox", "tasksdb": "django-tasks-db"}


def side_python() -> str:
    if os.environ.get("BENCH_DJTASKS_PYTHON"):
        return os.environ["BENCH_DJTASKS_PYTHON"]
    venv = Path(os.environ.get("VAR_DIR", "/tmp/var-bench")) / "bench-djtasks-venv"
    py = venv / "bin" / "python"
    if not py.exists():
        subprocess.run([_find_python312(), "-m", "venv", str(venv)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "--quiet", *REQS], check=True)
    return str(py)


def round_(peer: str, dsn: str, n: int) -> dict[str, float]:
    """One round: enqueue (the mean of two fills), drain with one and with two processes (jobs/s)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), DJANGO_SETTINGS_MODULE="bench.peers_djtasks_settings")
    env |= {"BENCH_DJTASKS_PEER": "ox" if peer == "ox" else "db", "BENCH_DJTASKS_DSN": dsn}
    cmd = [side_python(), "-m", "bench.peers_djtasks_side", "round", str(n)]
    out = subprocess.run(cmd, cwd=ROOT, env=env, check=True, stdout=subprocess.PIPE, text=True, timeout=3600)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    got["enqueue"] = (got["enqueue"] + got.pop("enqueue_2")) / 2
    return got
