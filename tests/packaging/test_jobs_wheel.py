"""`make dist`'s wheel in a fresh Django 5.2 project: built, installed into a scratch virtualenv
(nothing of this repository on its path), migrated, and one `@task` run by a real worker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "packaging" / "jobs"))
from build import build  # noqa: E402

SETTINGS = """
from pathlib import Path
BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "wheel-test"
DEBUG = True
ALLOWED_HOSTS = ["*"]
USE_TZ = True
ROOT_URLCONF = "proj.urls"
INSTALLED_APPS = [
    "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
    "django.contrib.sessions", "django.contrib.messages",
    "django_celery_results", "django_celery_beat", "jobs", "shop",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True,
    "OPTIONS": {"context_processors": ["django.contrib.auth.context_processors.auth",
                                       "django.contrib.messages.context_processors.messages",
                                       "django.template.context_processors.request"]}}]
DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "{db_name}",
    "USER": "{db_user}", "HOST": "{db_host}", "PORT": "{db_port}"}}
CELERY_BROKER_URL = "{redis_url}"  # nothing else: REDIS_URL, EMBEDDED_MODE, HEALTH_* have defaults
CELERY_RESULT_BACKEND = "jobs.core.results:JobResultBackend"
TASKS = {"default": {"BACKEND": "jobs.tasks_api.DjangoTasksBackend", "QUEUES": ["default"]}}
"""

CELERY = """
import os
from celery import Celery
from kombu import Queue
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings")
app = Celery("proj")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = [Queue("default", routing_key="default")]
app.autodiscover_tasks()
"""

TASKS = """
from django_tasks import task

@task()
def add(a: int, b: int) -> int:
    return a + b
"""

RUN = """
import time
from shop.tasks import add
result = add.enqueue(20, 22)
for _ in range(600):
    result.refresh()
    if result.is_finished:
        break
    time.sleep(0.1)
print("STATUS", result.status, "VALUE", result.return_value if result.status == "SUCCESSFUL" else None)
"""


@pytest.fixture
def scratch_db() -> Iterator[dict[str, str]]:
    db = settings.DATABASES["default"]
    name = f"jobs_wheel_{uuid.uuid4().hex[:8]}"
    conninfo = dict(host=db["HOST"], port=db["PORT"], user=db["USER"] or "postgres", dbname="postgres")
    with psycopg.connect(**conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield {"db_name": name, "db_user": conninfo["user"], "db_host": db["HOST"], "db_port": str(db["PORT"])}
    with psycopg.connect(**conninfo, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _project(where: Path, values: dict[str, str]) -> None:
    (where / "proj").mkdir()
    (where / "shop").mkdir()
    text = SETTINGS
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    (where / "proj" / "settings.py").write_text(text)
    (where / "proj" / "__init__.py").write_text("from proj.celery import app\n")
    (where / "proj" / "celery.py").write_text(CELERY)
    (where / "proj" / "urls.py").write_text("urlpatterns = []\n")
    (where / "shop" / "__init__.py").write_text("")
    (where / "shop" / "tasks.py").write_text(textwrap.dedent(TASKS))
    (where / "manage.py").write_text(
        "import os, sys\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'proj.settings')\n"
        "from django.core.management import execute_from_command_line\nexecute_from_command_line(sys.argv)\n"
    )


@pytest.mark.integration
def test_the_jobs_wheel_installs_into_a_fresh_project_migrates_and_runs_a_task(tmp_path, scratch_db):
    wheel = build(tmp_path / "dist")
    names = zipfile.ZipFile(wheel).namelist()
    assert "jobs/migrations/0001_initial.py" in names
    assert any(n.startswith("jobs/templates/admin/jobs/") for n in names)
    assert "jobs/static/jobs/console.css" in names
    assert not [
        n for n in names if n.split("/")[0] not in ("jobs", wheel.name.split("-")[0] + "-0.1.0.dist-info")
    ]

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = str(venv / "bin" / "python")
    subprocess.run([py, "-m", "pip", "install", "--quiet", str(wheel)], check=True, timeout=300)
    app = tmp_path / "site"
    app.mkdir()
    _project(app, {**scratch_db, "redis_url": settings.REDIS_URL})
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DJANGO_SETTINGS_MODULE")}
    env["DJANGO_SETTINGS_MODULE"] = "proj.settings"

    def run(*args: str, timeout: float = 120) -> str:
        done = subprocess.run([py, *args], cwd=app, env=env, capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    assert "jobs" in run("-c", "import jobs, sys; print(jobs.__file__)")  # from the venv, not this tree
    assert str(ROOT) not in run("-c", "import jobs; print(jobs.__file__)")
    assert run("-c", "import django; print(django.get_version())").startswith("5.2")  # the LTS, as documented
    run("manage.py", "migrate", "--noinput")
    log = open(tmp_path / "worker.log", "w")
    worker = subprocess.Popen(
        [
            py,
            "-m",
            "celery",
            "-A",
            "proj",
            "worker",
            "-Q",
            "default",
            "-c",
            "1",
            "-P",
            "threads",
            "--without-gossip",
            "--without-mingle",
            "-l",
            "INFO",
        ],
        cwd=app,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        out = run("manage.py", "shell", "-c", RUN, timeout=120)
        # The readiness report runs on the defaults alone (no REDIS_URL, EMBEDDED_MODE, HEALTH_*).
        report = json.loads(run("manage.py", "health", "--only", "database", "broker", "workers"))
    finally:
        os.killpg(worker.pid, 15)
        worker.wait(30)
        log.close()
    assert "STATUS SUCCESSFUL VALUE 42" in out, out + (tmp_path / "worker.log").read_text()[-3000:]
    assert report["failing"] == [], report
    assert report["checks"]["broker"]["mode"] == "redis", report
