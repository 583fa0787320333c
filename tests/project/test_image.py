"""The image (Dockerfile) holds the service's runtime dependencies only: local tools (moto,
tqdm) and dev tools stay out, what the service runs still works without them, and its build
steps need no secret."""

from __future__ import annotations

import importlib
import io
import re
import shlex
import subprocess
import sys
from importlib.metadata import requires

from packaging.requirements import Requirement

from tests.project.compose import BASE

LOCAL_TOOLS = {"moto", "honcho", "tqdm"}


def _dockerfile_runs() -> list[str]:
    text = (BASE / "Dockerfile").read_text().replace("\\\n", " ")
    return [line[4:] for line in text.splitlines() if line.startswith("RUN ")]


def test_the_image_installs_the_runtime_dependencies_only():
    installs = [cmd for run in _dockerfile_runs() for cmd in run.split("&&") if "pip install" in cmd]
    assert installs and all(shlex.split(cmd)[-1] == "." for cmd in installs), installs  # no [extra]
    runtime, local = set(), set()
    for line in requires("tasksvc") or []:
        req = Requirement(line)
        if req.marker is None:
            runtime.add(req.name.lower())
        elif "local" in str(req.marker):
            local.add(req.name.lower())
    assert not runtime & LOCAL_TOOLS, runtime & LOCAL_TOOLS
    assert {"moto", "tqdm"} <= local  # `make venv` / `make run` / `make test` install them


def test_the_build_time_collectstatic_needs_no_secret(tmp_path):
    """The Dockerfile's collectstatic step, with only the Dockerfile's own environment."""
    text = (BASE / "Dockerfile").read_text()
    image_env = dict(
        pair.split("=", 1) for pair in shlex.split(re.search(r"^ENV (.+)$", text, re.MULTILINE).group(1))
    )
    step = next(cmd for run in _dockerfile_runs() for cmd in run.split("&&") if "collectstatic" in cmd)
    words = shlex.split(step)
    assignments = dict(w.split("=", 1) for w in words if re.match(r"^[A-Z_]+=", w))
    command = [w for w in words if not re.match(r"^[A-Z_]+=", w)]
    assert command[:2] == ["python", "manage.py"]
    env = {**image_env, **assignments, "VAR_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, *command[1:]], cwd=BASE, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "static" / "admin").is_dir()


def test_sync_all_follows_a_run_without_tqdm(monkeypatch):
    """`manage.py sync_all` in the image, where tqdm is not installed: plain progress lines."""
    monkeypatch.setitem(sys.modules, "tqdm", None)  # `import tqdm` now raises ImportError
    monkeypatch.delitem(sys.modules, "sync.management.commands.sync_all", raising=False)
    module = importlib.import_module("sync.management.commands.sync_all")
    out = io.StringIO()
    bar = module._bar(total=3, unit="participant", file=out, desc="sync")
    for done in (0, 1, 1, 3):
        bar.n = done
        bar.refresh()
    bar.close()
    assert out.getvalue().splitlines() == [
        "sync: 0/3 participants",
        "sync: 1/3 participants",
        "sync: 3/3 participants",
    ]
