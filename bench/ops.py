"""The operator's dashboard at 1,000,000 job rows.

Figures (medians of 5 full page renders through Django's test client, logged in, queries and
template included): ops.dashboard_ms (queue counts by state, oldest waiting per queue,
per-minute and per-hour throughput, running now, slowest and failing tasks, the lost count),
ops.job_list_ms (the admin list's default page), ops.job_list_failed_ms (filtered to failed),
and ops.rows (rows in the table).

The rows live in a database of their own (tasksvc_bench_ops; OPS_BENCH_DB to change), filled
once by one INSERT … SELECT generate_series and kept between runs: 7 days of history shaped like
production (two 5-second polls, e-mails, Slack events, handlers; 3 % failed) plus a backlog of
queued, scheduled, retrying and running jobs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from bench.common import figure, median_of, setup_django

ROWS = 1_000_000
FILL = """
INSERT INTO jobs_job (id, task, queue, state, attempt, max_attempts, deferrals,
                      enqueued_at, started_at, finished_at, worker, result, last_error)
SELECT gen_random_uuid(), t.task, t.queue, s.state, 1, 3, 0,
       now() - (i * interval '604 milliseconds'),
       CASE WHEN s.state IN ('succeeded', 'failed', 'started')
            THEN now() - (i * interval '604 milliseconds') + interval '20 milliseconds' END,
       CASE WHEN s.state IN ('succeeded', 'failed')
            THEN now() - (i * interval '604 milliseconds') + interval '20 milliseconds'
                 + ((i %% 97) * interval '13 milliseconds') END,
       CASE WHEN s.state = 'started' THEN 'w' || (i %% 4) || '@bench' END,
       CASE WHEN t.poll THEN '{"received": 0}'::jsonb END,
       CASE WHEN s.state = 'failed' THEN 'ConnectionError: bench' END
FROM generate_series(1, %(rows)s) AS i
CROSS JOIN LATERAL (SELECT CASE
    WHEN i %% 10 < 4 THEN 'emails.tasks.sqs_poll_task'
    WHEN i %% 10 < 8 THEN 'invoices.tasks.invoice_queues_poll_task'
    WHEN i %% 10 = 8 THEN 'pii.tasks.slack_message_scan_task'
    ELSE 'queue_handlers.tasks.handler_job_task' END AS task,
  CASE WHEN i %% 10 < 8 THEN 'sqs_polling' WHEN i %% 10 = 8 THEN 'events' ELSE 'handlers' END AS queue,
  i %% 10 < 8 AS poll) AS t
CROSS JOIN LATERAL (SELECT CASE
    WHEN i <= 5000 THEN 'queued'
    WHEN i <= 7000 THEN 'scheduled'
    WHEN i <= 7200 THEN 'retrying'
    WHEN i <= 7250 THEN 'started'
    WHEN i %% 33 = 0 THEN 'failed'
    ELSE 'succeeded' END AS state) AS s
"""


def _use_own_database() -> None:
    """Point the default connection at the benchmark's own database (created and migrated once)."""
    from django.core.management import call_command
    from django.db import connections

    from bench.common import _ensure_database

    name = os.environ.get("OPS_BENCH_DB", "tasksvc_bench_ops")
    _ensure_database(name)
    conn = connections["default"]
    conn.close()
    conn.settings_dict["NAME"] = name
    call_command("migrate", verbosity=0, interactive=False)


def _fill() -> int:
    from django.db import connection

    from jobs.models import Job

    have = Job.objects.count()
    if have != ROWS:
        with connection.cursor() as cur:
            cur.execute("TRUNCATE jobs_job, jobs_jobattempt")
            cur.execute(FILL, {"rows": ROWS})
            cur.execute("VACUUM ANALYZE jobs_job")  # as autovacuum leaves a table in use
    return Job.objects.count()


def _timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def run() -> list[dict]:
    setup_django()
    _use_own_database()
    rows = _fill()
    from django.contrib.auth.models import User
    from django.test import Client

    user = User.objects.filter(username="bench-ops").first() or User.objects.create_superuser(
        "bench-ops", "bench@example.com", "bench-ops-not-a-secret"
    )
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)

    def page(url: str) -> Callable[[], object]:
        def get() -> object:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            return response

        return get

    pages = {
        "ops.dashboard_ms": "/admin/jobs/job/dashboard/?refresh=0",
        "ops.job_list_ms": "/admin/jobs/job/",
        "ops.job_list_failed_ms": "/admin/jobs/job/?state__exact=failed",
    }
    figures = [figure("ops.rows", rows, "rows")]
    for name, url in pages.items():
        page(url)()  # warm once, as a page in use would be
        figures.append(figure(name, median_of(5, lambda url=url: _timed(page(url))), "ms"))
    return figures
