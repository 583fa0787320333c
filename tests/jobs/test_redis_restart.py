"""Restart Redis under a running worker: it reconnects and later jobs still run.

Uses a private redis-server on its own port so other test runs on the machine are untouched.
"""

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jobs.models import Job, JobState
from tests.helpers import free_port, wait_for

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


class PrivateRedis:
    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self._answers, timeout=10, message="private redis up")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False


@pytest.fixture
def private_redis():
    if not shutil.which("redis-server"):
        pytest.fail("redis-server is needed for this test")
    r = PrivateRedis()
    r.start()
    yield r
    r.stop()


def _enqueue(env: dict, key: str) -> str:
    code = (
        "import django; django.setup(); import tests.jobs.tasks as t; "
        f"print(t.slow_effect_job.enqueue(key={key!r}, seconds=0).job_id)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return out.stdout.strip().splitlines()[-1]


def test_worker_reconnects_after_redis_restart(worker_process, private_redis):
    from tests.conftest import worker_env

    url = f"redis://127.0.0.1:{private_redis.port}/0"
    env = worker_env(
        REDIS_URL=url,
        CELERY_EXTRA_IMPORTS="tests.jobs.tasks",
        DJANGO_SETTINGS_MODULE="project.settings",
        JOBS_HISTORY_FLUSH_INTERVAL="0",
    )
    w = worker_process(
        "restart",
        queues=["default"],
        concurrency=1,
        ready=False,
        REDIS_URL=url,
        CELERY_EXTRA_IMPORTS="tests.jobs.tasks",
    )
    wait_for(lambda: "ready." in w.read_log(), timeout=60, message="worker ready")

    first = _enqueue(env, "before")
    wait_for(
        lambda: Job.objects.filter(pk=first, state=JobState.SUCCEEDED).exists(),
        timeout=30,
        message="job before the restart",
    )

    private_redis.stop()
    time.sleep(2)  # the worker sees the connection drop
    private_redis.start()

    second = _enqueue(env, "after")
    wait_for(
        lambda: Job.objects.filter(pk=second, state=JobState.SUCCEEDED).exists(),
        timeout=90,
        message="job after the restart (worker reconnected)",
    )
    assert w.proc.poll() is None, "the worker must survive a Redis restart"
