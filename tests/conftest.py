"""Shared fixtures: a real Celery worker (in this process or a subprocess) on real Redis and
PostgreSQL. See project/testenv.py for how each run gets its own Redis and test database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.db import connection

from jobs import lifecycle
from project.celery import QUEUES, app
from tests.helpers import free_port, wait_for

ROOT = Path(__file__).resolve().parent.parent


FAST = os.environ.get("TEST_FAST") == "1"
# A test that asks for any of these needs a service (PostgreSQL, Redis, a worker, AWS or a browser).
SERVICE_FIXTURES = {
    "db",
    "transactional_db",
    "django_db_setup",
    "celery_worker",
    "worker_process",
    "moto_server",
    "live_server",
    "page",
}


# The slow tier: scenarios that break whole processes and wait out leases, the wheel built into a
# scratch virtualenv, a 1,000-message SQS backlog. `make test` leaves them out (it stays near a
# quarter of an hour); `make test-slow` runs them, and CI runs both (.ci/run).
SLOW_FILES = {
    "tests/jobs/test_chaos_broker.py",
    "tests/jobs/test_chaos_controls.py",
    "tests/jobs/test_chaos_database.py",
    "tests/jobs/test_chaos_process.py",
    "tests/jobs/test_broker_loss.py",
    "tests/jobs/test_rolling_deploy.py",
    "tests/packaging/test_jobs_wheel.py",
    "tests/jobs/test_tasks_api.py",
    "tests/invoices/test_priority.py",
}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the slow tier (before `-m` selects); `make test-fast`: keep only the tests that need
    no service."""
    for item in items:
        if Path(str(item.fspath)).relative_to(ROOT).as_posix() in SLOW_FILES:
            item.add_marker(pytest.mark.slow)
    if not FAST:
        return
    keep, drop = [], []
    for item in items:
        needs = set(getattr(item, "fixturenames", ())) & SERVICE_FIXTURES
        marked = any(item.get_closest_marker(m) for m in ("django_db", "integration", "browser"))
        (drop if needs or marked else keep).append(item)
    config.hook.pytest_deselected(items=drop)
    items[:] = keep


@pytest.fixture(autouse=True)
def _clean_redis() -> Iterator[None]:
    """Each test starts with an empty Redis database (bar the run's lock)."""
    if FAST:
        yield
        return
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    for k in client.scan_iter(count=1000):
        if k != b"tasksvc:test-run":
            client.delete(k)
    yield


@pytest.fixture
def celery_worker(transactional_db) -> Iterator[object]:
    """A real worker in this process (threads pool), consuming every queue."""
    with start_worker(
        app,
        pool="threads",
        concurrency=4,
        perform_ping_check=False,
        queues=list(QUEUES),
        loglevel="WARNING",
        shutdown_timeout=10,
    ) as worker:
        # `celery worker` sends worker_ready (which starts the scheduled-set mover); the
        # in-process test worker does not, so start it here.
        lifecycle.start_plugins()
        # Consuming before its remote-control channel listens: wait until it answers a ping,
        # so a test that pings or broadcasts (health, pause) never races the start on a slow CI.
        wait_for(
            lambda: app.control.ping(destination=[worker.hostname], timeout=0.5),
            timeout=30,
            message="the test worker answering a ping",
        )
        yield worker
        lifecycle.stop_plugins()


def worker_env(**extra: str) -> dict[str, str]:
    db = settings.DATABASES["default"]
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"postgres://{db['USER'] or 'postgres'}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        REDIS_URL=settings.REDIS_URL,
        PYTHONPATH=str(ROOT),
        JOBS_HISTORY_FLUSH_INTERVAL="0.1",
    )
    env.update(extra)
    return env


class WorkerProcess:
    """`celery worker` as a real subprocess, so a test can SIGKILL it."""

    def __init__(
        self, name: str, queues: list[str], concurrency: int, pool: str, env: dict[str, str]
    ) -> None:
        self.name = name
        cmd = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "project",
            "worker",
            "-n",
            f"{name}@%h",
            "-Q",
            ",".join(queues),
            "-c",
            str(concurrency),
            "-P",
            pool,
            "-l",
            "INFO",
            "--without-gossip",
            "--without-mingle",
        ]
        self.log = open(f"/tmp/{name}-{os.getpid()}.log", "w")
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            replies = app.control.ping(timeout=0.5) or []
            if any(n.startswith(f"{self.name}@") for r in replies for n in r):
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker {self.name} exited: {self.read_log()[-2000:]}")
        raise TimeoutError(f"worker {self.name} not ready: {self.read_log()[-2000:]}")

    def read_log(self) -> str:
        return Path(self.log.name).read_text()

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool children): no clean shutdown."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


@pytest.fixture
def worker_process(transactional_db) -> Iterator[Callable[..., WorkerProcess]]:
    """Factory: start `celery worker` subprocesses against this test's database and Redis."""
    started: list[WorkerProcess] = []
    connection.close()  # the subprocess needs the test database unlocked and committed to

    def start(
        name: str = "w1",
        queues: list[str] | None = None,
        concurrency: int = 2,
        pool: str = "prefork",
        ready: bool = True,
        **env: str,
    ) -> WorkerProcess:
        w = WorkerProcess(name, queues or list(QUEUES), concurrency, pool, worker_env(**env))
        started.append(w)
        if ready:
            w.wait_ready()
        return w

    yield start
    for w in started:
        w.stop()
        # pytest shows what a teardown prints only when the test failed: then the worker's side too
        print(f"--- worker {w.name}: the end of its log ---\n{w.read_log()[-8000:]}")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker) -> Iterator[None]:
    """pytest-django's set-up, then: worker threads and subprocesses leave sessions open on the
    test database; end them so pytest-django can drop it."""
    yield
    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cur:
        cur.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """A moto server on loopback standing in for AWS (SQS, SES), shared by the session: worker
    threads and subprocesses reach it by AWS_ENDPOINT_URL like a real endpoint."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()
