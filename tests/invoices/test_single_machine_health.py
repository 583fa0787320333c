"""Seed 002's local mode (issue 19): `QUEUE_PROVIDER=memory` without Redis sends mail through
the Celery queues of the single-machine filesystem broker; `queue_health` and readiness must
say so — reachable, naming the Celery queue and broker they really use — not UNREACHABLE."""

import json
import os
import subprocess
import sys

from tests.conftest import ROOT

SCRIPT = """
import json, django
django.setup()
from io import StringIO
from django.core.management import call_command
call_command("migrate", verbosity=0)
from jobs.observe.health import run_checks
out = StringIO()
call_command("queue_health", stdout=out)
ok, report = run_checks(["invoice_queues"])
print(json.dumps({"text": out.getvalue(), "section": report["checks"]["invoice_queues"]}))
"""


def test_memory_provider_in_single_machine_mode_reports_the_queues_it_really_uses(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "JOBS_COORDINATOR", "DATABASE_URL")}
    env.update(
        VAR_DIR=str(tmp_path),
        EMBEDDED_MODE="1",
        QUEUE_PROVIDER="memory",
        DEBUG="1",
        PYTHONPATH=str(ROOT),
        LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="project.settings",
        READ_DOT_ENV="0",
    )
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert "UNREACHABLE" not in out["text"]
    section = out["section"]
    assert section["status"] == "ok" and section["provider"] == "celery"
    for queue, name in (("priority", "invoices_priority"), ("regular", "invoices_regular")):
        assert section[queue]["reachable"] is True
        assert section[queue]["celery_queue"] == name
        assert section[queue]["broker"] == "filesystem (single machine)"
