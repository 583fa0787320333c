"""The Celery app: queues and the defaults every worker shares.

A task's queue is named once, in its `@job(queue=...)`; there are no `task_routes`. The system
check jobs.E001 (`manage.py check`) fails when a job's queue is missing from QUEUES below or from
the Procfile's and docker-compose.yml's worker `-Q` lists.

Queues (docs/ARCHITECTURE.md says who uses which):
- default        maintenance (prune, rescue, heartbeat) and anything unrouted
- emails         outgoing e-mail sends (invoices, handler e-mails)
- events         Slack message events (one job per message)
- pii_detection  file fetching and scanning for PII (slow, prefetch 1)
- sqs_polling    the SES event poll and the invoice queue consumer (single-flight)
- sync           the nightly activity sync and its per-participant jobs
- handlers       typed queue_handlers jobs
- invoices_priority / invoices_regular   invoice e-mails when QUEUE_PROVIDER=celery
"""

from __future__ import annotations

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

app = Celery("project")
app.config_from_object("django.conf:settings", namespace="CELERY")

QUEUES = (
    "default",
    "emails",
    "events",
    "pii_detection",
    "sqs_polling",
    "sync",
    "handlers",
    "invoices_priority",
    "invoices_regular",
)
app.conf.task_queues = [Queue(name, routing_key=name) for name in QUEUES]
app.conf.task_default_queue = "default"
app.conf.task_create_missing_queues = True
app.autodiscover_tasks()
