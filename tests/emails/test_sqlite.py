"""The processor's SQLite branch, on SQLite (a subprocess with DATABASE_URL=sqlite), agrees with
PostgreSQL's on the same events: the same counts, log rows and suppressions."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from emails.models import EmailLog, Suppression
from emails.processor import ses_messages_process
from tests.conftest import ROOT
from tests.emails import payloads as p
from tests.emails.conftest import msgs


def _bodies() -> list[str]:
    bodies = p.mixed(120, seed=7)
    bodies += bodies[:10]  # SNS redelivered some: duplicates
    bodies += [
        p.sns(p.ses_event("Open", "late", to=["x@example.org"])) for _ in range(3)
    ]  # 3 opens, one message
    bodies += ["not json", p.raw({**p.ses_event("Open", "m\ud800"), "x": 1})]  # quarantined on both
    return bodies


@pytest.mark.django_db
def test_the_sqlite_branch_records_what_postgresql_records(tmp_path, caplog):
    bodies = _bodies()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "VAR_DIR": str(tmp_path),
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
        "EMBEDDED_MODE": "1",
    }
    run = subprocess.run(
        [sys.executable, "tests/emails/sqlite_run.py"],
        input=json.dumps(bodies),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    sqlite = json.loads(run.stdout.strip().splitlines()[-1])
    assert sqlite["vendor"] == "sqlite"

    pg_counts = []
    for start in range(0, len(bodies), 25):
        batch = msgs(bodies[start : start + 25])
        pg_counts.append(ses_messages_process(messages=batch).counts())
    pg_logs = sorted(
        [list(r)]
        for r in EmailLog.objects.values_list(
            "ses_message_id", "status", "open_count", "click_count", "destination"
        )
    )
    assert sqlite["counts"] == pg_counts
    assert sorted([r] for r in sqlite["logs"]) == pg_logs
    assert sqlite["suppressed"] == sorted(Suppression.objects.values_list("address", flat=True))
    late = next(r for r in sqlite["logs"] if r[0] == "late")
    assert late[2] == 3 and late[4] == ["x@example.org"]  # three opens counted, destination filled
    assert "recording one at a time" not in caplog.text  # the bulk statements held on PostgreSQL
