"""Test environment, loaded by pytest (`-p project.testenv`) before Django reads its settings.

Each test run takes a Redis database of its own (1-15, held by a lock key) and a PostgreSQL
test database named after it, so runs on one machine never see each other's queues or rows.
With TEST_FAST=1 (`make test-fast`) nothing is claimed: only the tests that need no service run.
"""

from __future__ import annotations

import atexit
import os

import redis

REDIS_BASE = os.environ.get("TEST_REDIS_BASE", "redis://127.0.0.1:6379")
LOCK = "tasksvc:test-run"


def _claim_redis_db() -> int:
    for n in range(1, 16):
        client = redis.Redis.from_url(f"{REDIS_BASE}/{n}")
        if client.set(LOCK, os.getpid(), nx=True, ex=3 * 3600):
            client.flushdb()
            client.set(LOCK, os.getpid(), ex=3 * 3600)
            atexit.register(client.delete, LOCK)
            return n
    raise RuntimeError(f"every Redis database 1-15 at {REDIS_BASE} is held by a test run")


FAST = os.environ.get("TEST_FAST") == "1"
if FAST:
    # `make test-fast`: only tests that need no service run (tests/conftest.py deselects the
    # rest), so no Redis database is claimed and nothing may reach one.
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:1/0")
    os.environ.setdefault("JOBS_COORDINATOR", "memory")
elif "REDIS_URL" not in os.environ:
    _db = _claim_redis_db()
    os.environ["REDIS_URL"] = f"{REDIS_BASE}/{_db}"
    os.environ.setdefault("DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/tasksvc_{_db}")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tasksvc")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key")
# Required with DEBUG off; a fixed, public, test-only Fernet key (never used outside tests).
os.environ.setdefault("FIELD_ENCRYPTION_KEY", "dGVzdC1vbmx5LWZpZWxkLWVuY3J5cHRpb24ta2V5ISE=")
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECURE_COOKIES", "0")
os.environ.setdefault("EMAIL_PROVIDER", "locmem")
os.environ.setdefault("JOBS_HISTORY_FLUSH_INTERVAL", "0")
os.environ.setdefault("JOBS_LEASE_TTL", "5")
os.environ.setdefault("VAR_DIR", "/tmp/tasksvc-test-var")
os.environ.setdefault("LOG_LEVEL", "INFO")
os.environ.setdefault("SLACK_SIGNING_SECRET", "test-signing-secret")  # pii health needs one
# Fake AWS credentials for moto; a real key never reaches a test.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "AKIATESTTESTTEST1234")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test-secret-not-real")
