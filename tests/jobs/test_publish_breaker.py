"""Enqueue while the broker is down (issue 19: each request took ~6–8.5 s, Slack gives up after
3 s). One failed publish opens the breaker, which stays open until a background probe sees the
broker answer: the publish path makes one connection attempt per outage, not one per second,
and every job is kept for the relay. No timed assertions: connection attempts are counted by a
TCP listener that accepts and closes (a broker that is not there) or never answers (a hung one),
and the time each enqueue costs is a benchmark figure (`make bench ONLY=jobs_outage`)."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from jobs.models import Job
from tests.conftest import worker_env
from tests.helpers import wait_for
from tests.jobs.test_redis_restart import PrivateRedis

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]


class CountingListener:
    """A TCP port that accepts connections, counts them and closes them at once (a broker that
    is not there) or, with `hold`, keeps them open and never answers (a hung broker)."""

    def __init__(self, hold: bool = False) -> None:
        self.hold, self.held = hold, []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            if self.hold:
                self.held.append(conn)
            else:
                conn.close()

    def close(self) -> None:
        self._stop = True
        self.thread.join(2)
        for conn in self.held:
            conn.close()
        self.sock.close()


def _run_script(env: dict, code: str, timeout: float = 120) -> list[str]:
    script = "import django, time\ndjango.setup()\nimport tests.jobs.tasks as t\nids = []\n" + code
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.split()


@pytest.mark.parametrize("hold", [False, True], ids=["refusing", "never-answering"])
def test_twenty_enqueues_with_the_broker_down_make_one_connection_attempt_and_keep_every_job(hold):
    listener = CountingListener(hold=hold)
    try:
        env = worker_env(
            REDIS_URL=f"redis://127.0.0.1:{listener.port}/0",
            JOBS_BROKER_PROBE_EVERY="60",  # no probe during the test: only the publish path connects
            CELERY_EXTRA_IMPORTS="tests.jobs.tasks",
        )
        # 20 enqueues spread over ~3 s: three of the old 1-second breaker windows at least.
        ids = _run_script(
            env,
            "for n in range(20):\n    ids.append(t.noop_job.enqueue().job_id)\n    time.sleep(0.15)\n"
            "from jobs.broker.publish import broker_down\nassert broker_down()\nprint(*ids)",
        )
        attempts = listener.accepted
    finally:
        listener.close()
    assert len(ids) == 20
    assert attempts == 1, f"{attempts} connection attempts for one outage"
    kept = Job.objects.filter(pk__in=ids, state="queued", published_at__isnull=True).count()
    assert kept == 20  # stored, waiting for the relay


def test_the_breaker_closes_when_the_probe_sees_the_broker_and_the_relay_publishes_the_rest(tmp_path):
    private = PrivateRedis()
    go = tmp_path / "go"
    env = worker_env(
        REDIS_URL=f"redis://127.0.0.1:{private.port}/0",
        JOBS_BROKER_PROBE_EVERY="0.2",
        JOBS_RELAY_AFTER="0",
        CELERY_EXTRA_IMPORTS="tests.jobs.tasks",
    )
    code = (
        "from jobs.broker.publish import broker_down\n"
        "from jobs.plugins.reconciler import relay\n"
        "for n in range(5): ids.append(t.noop_job.enqueue().job_id)\n"
        "assert broker_down()\n"
        f"open({str(go)!r} + '.ready', 'w').close()\n"
        f"import os\nwhile not os.path.exists({str(go)!r}): time.sleep(0.05)\n"
        "deadline = time.monotonic() + 30\n"
        "while broker_down() and time.monotonic() < deadline: time.sleep(0.05)\n"
        "assert not broker_down(), 'the probe never closed the breaker'\n"
        "ids.append(t.noop_job.enqueue().job_id)\n"
        "relay()\n"
        "print(*ids)"
    )
    result: list[list[str]] = []
    runner = threading.Thread(target=lambda: result.append(_run_script(env, code)))
    runner.start()
    try:
        wait_for(
            lambda: Path(str(go) + ".ready").exists(), timeout=60, message="enqueued with the broker down"
        )
        private.start()
        go.touch()
        runner.join(90)
    finally:
        private.stop()
    ids = result[0]
    assert len(ids) == 6
    assert Job.objects.filter(pk__in=ids, published_at__isnull=False).count() == 6
