"""The single-machine mode (SQLite, no Redis) under threads: one lease holder, the slot limit,
distinct rate slots and one claim per delivery — what `make run` relies on."""

import json
import os
import subprocess
import sys

from tests.conftest import ROOT


def test_the_sqlite_coordinator_and_claim_hold_under_racing_threads(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "JOBS_COORDINATOR")}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        VAR_DIR=str(tmp_path),
        PYTHONPATH=str(ROOT),
        LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="project.settings",
    )
    run = subprocess.run(
        [sys.executable, "tests/jobs/sqlite_coord_run.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert (out["vendor"], out["coordinator"]) == ("sqlite", "DatabaseCoordinator")
    assert out["lease"].count(True) == 1
    assert out["slots"].count(True) == 2
    assert sorted(out["rate"])[:3] == [0.0, 0.0, 0.0] and all(w > 1.0 for w in sorted(out["rate"])[3:])
    assert len({round(w, 1) for w in out["rate"] if w > 0}) >= 2  # the waiters got distinct slots
    assert out["claim"].count(True) == 1
