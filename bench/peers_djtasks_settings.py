"""Minimal Django settings for the django-tasks peers (django-ox, django-tasks-db) on the side venv.

Chosen by BENCH_DJTASKS_PEER (`ox` or `db`) and BENCH_DJTASKS_DSN (postgresql://user@host:port/name);
connections as this project's (CONN_MAX_AGE 300, health checks); each package's defaults otherwise.
"""

from __future__ import annotations

import os
from urllib.parse import urlparse

PEER = os.environ.get("BENCH_DJTASKS_PEER", "ox")
_dsn = urlparse(os.environ.get("BENCH_DJTASKS_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"))

SECRET_KEY = "bench-only"
DEBUG = False
USE_TZ = True
INSTALLED_APPS = ["django_tasks", "django_ox" if PEER == "ox" else "django_tasks_db"]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": _dsn.path.lstrip("/"),
        "USER": _dsn.username or "postgres",
        "HOST": _dsn.hostname or "127.0.0.1",
        "PORT": _dsn.port or 5432,
        # As this project's own settings (project/settings.py): persistent, health-checked.
        "CONN_MAX_AGE": 300,
        "CONN_HEALTH_CHECKS": True,
    }
}
TASKS = {
    "default": {
        "BACKEND": "django_ox.backend.OxBackend" if PEER == "ox" else "django_tasks_db.DatabaseBackend",
        "QUEUES": ["bench", "hold"],
    }
}
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
