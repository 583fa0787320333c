"""Run by test_sqlite_coordinator.py in a subprocess on SQLite: the single-machine mode's
coordinator and claim, raced by threads behind a barrier. Prints one JSON line of outcomes."""

import json
import threading
import uuid
from datetime import timedelta

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from jobs.coordination import coordinator  # noqa: E402
from jobs.table import rows, transitions  # noqa: E402

call_command("migrate", verbosity=0)
THREADS = 8


def race(fn):
    barrier, out, lock = threading.Barrier(THREADS), [], threading.Lock()

    def run(i: int) -> None:
        barrier.wait()
        value = fn(i)
        with lock:
            out.append(value)
        connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


coord = coordinator()
job_id = uuid.uuid4()
now = timezone.now()
rows.jobs_insert(
    [
        {
            "id": job_id,
            "task": "t",
            "queue": "default",
            "state": "queued",
            "max_attempts": 1,
            "args": [],
            "kwargs": {},
            "enqueued_at": now,
        }
    ]
)
result = {
    "vendor": connection.vendor,
    "coordinator": type(coord).__name__,
    "lease": race(lambda i: coord.lease_acquire("jobs:single:x", f"t{i}", 30)),
    "slots": race(lambda i: coord.slot_acquire("jobs:limit:q", f"t{i}", 2, 30)),
    "rate": race(lambda i: round(coord.rate_reserve("jobs:rate:r", 3, 1.0, f"m{i}"), 3)),
    "claim": race(
        lambda i: (
            transitions.job_claim(
                str(job_id), token=f"t{i}", worker="w", now=now, lease_until=now + timedelta(seconds=30)
            )
            is not None
        )
    ),
}
print(json.dumps(result))
