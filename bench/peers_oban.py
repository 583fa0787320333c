"""(f) oban-py (PyPI `oban`) on the same PostgreSQL, in a database of its own.

oban-py needs Python 3.12+. When this interpreter cannot import it, the bench uses BENCH_OBAN_PYTHON,
or builds a side venv ($VAR_DIR/bench-oban-venv) from a python3.12+ it finds (PATH, then pyenv) and
installs the range the `dev` extra names. The measuring code is bench/peers_oban_side.py.
"""

from __future__ import annotations

import glob
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from bench.celery_workers import ROOT

OBAN_REQ = "oban>=0.7,<0.8"
DB = "tasksvc_bench_oban"
LIMIT = int(os.environ.get("BENCH_OBAN_LIMIT", "10"))


def oban_python() -> str:
    """An interpreter that imports oban (made once per VAR_DIR when needed)."""
    if os.environ.get("BENCH_OBAN_PYTHON"):
        return os.environ["BENCH_OBAN_PYTHON"]
    if importlib.util.find_spec("oban") is not None:
        return sys.executable
    venv = Path(os.environ.get("VAR_DIR", "/tmp/var-bench")) / "bench-oban-venv"
    py = venv / "bin" / "python"
    if not py.exists():
        base = _find_python312()
        subprocess.run([base, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "--quiet", OBAN_REQ], check=True)
    return str(py)


def _find_python312() -> str:
    """A Python 3.12+ that runs (a pyenv shim for a version not installed exits 127)."""
    found = [shutil.which(name) for name in ("python3.13", "python3.12")]
    found += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.1[2-9]*/bin/python3")), reverse=True)
    for candidate in filter(None, found):
        if subprocess.run([candidate, "--version"], capture_output=True).returncode == 0:
            return candidate
    raise RuntimeError("oban-py needs Python 3.12+: set BENCH_OBAN_PYTHON to one that has `oban` installed")


def round_(dsn: str, n: int, batch: int) -> dict[str, float]:
    """One round on the oban side: enqueue, enqueue_many, drain with 1 and 2 processes (jobs/s)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("DJANGO_SETTINGS_MODULE", None)
    cmd = [oban_python(), "-m", "bench.peers_oban_side", "round", dsn, str(n), str(batch), str(LIMIT)]
    out = subprocess.run(cmd, cwd=ROOT, env=env, check=True, stdout=subprocess.PIPE, text=True, timeout=1800)
    return json.loads(out.stdout.strip().splitlines()[-1])


def latency(dsn: str, n: int, gap: float) -> list[float]:
    """Enqueue → body start (ms) of n single jobs on one idle oban-py worker process."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("DJANGO_SETTINGS_MODULE", None)
    cmd = [oban_python(), "-m", "bench.peers_oban_side", "latency", dsn, str(n), str(LIMIT), str(gap)]
    out = subprocess.run(cmd, cwd=ROOT, env=env, check=True, stdout=subprocess.PIPE, text=True, timeout=1800)
    return json.loads(out.stdout.strip().splitlines()[-1])
