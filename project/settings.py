"""Settings, read from the environment in one place.

Every knob an operator may turn is an environment variable named here; `.env.example` lists them.
An integration that is switched on but misconfigured fails at start, naming the variable.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from project.env import BASE_DIR as BASE_DIR  # settings.BASE_DIR
from project.env import DEBUG, VAR_DIR, env

# --- Django core ------------------------------------------------------------------------------
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is required when DEBUG is off")
    SECRET_KEY = "insecure-dev-only-key"
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_celery_beat",
    "django_celery_results",
    "jobs",
    "emails",
    "invoices",
    "pii",
    "sync",
    "queue_handlers",
    "project.apps.ProjectConfig",  # the local AWS section of the readiness report
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # the admin's static files under gunicorn
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "project.urls"
WSGI_APPLICATION = "project.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "project" / "templates"],  # admin/base_site.html: ahead of the admin's own
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
# Workers reuse connections: Celery would otherwise reconnect around every task (2.7-3x slower).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=300)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Several processes (web, worker, beat) share the file in single-machine mode.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
elif DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # The job layer's per-job statements (claim, enqueue) are prepared after 5 runs: planning the
    # claim against the job table's indexes was most of PostgreSQL's work per job (docs/PERFORMANCE.md).
    # Django turns preparing off by default for connection poolers: DB_PREPARED_STATEMENTS=0 behind
    # PgBouncer in transaction mode without max_prepared_statements. Django's own queries bind
    # client-side and are never prepared either way.
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = (
        5 if env.bool("DB_PREPARED_STATEMENTS", default=True) else None
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns on every request when it is missing
LOGIN_URL = "admin:login"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Behind a TLS-terminating proxy: set these in production (docker-compose passes them through).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # the container's own probe speaks plain HTTP
if env.bool("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Redis, broker and the embedded single-machine mode ---------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
# Without Redis the service still runs on one machine: kombu's filesystem transport under var/,
# locks and rate limits kept in the database. `make run` chooses this when no Redis answers.
EMBEDDED_MODE = env.bool("EMBEDDED_MODE", default=not REDIS_URL)
BROKER_DIR = VAR_DIR / "broker"
if EMBEDDED_MODE and not DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    raise ImproperlyConfigured(
        "single-machine mode (no REDIS_URL) runs on SQLite only: its locks and rate limits rely on "
        "SQLite's one writer at a time. Set REDIS_URL to run on PostgreSQL, or unset DATABASE_URL."
    )

# --- Celery (CELERY_ namespace; names checked against celery/app/defaults.py) -----------------
if EMBEDDED_MODE:
    for sub in ("out", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "out"),
        "data_folder_out": str(BROKER_DIR / "out"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "store_processed": False,
        # Broadcasts (ping, queue controls) as files here, not in a control/ folder in the cwd.
        "control_folder": str(BROKER_DIR / "control"),
    }
else:
    CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # A message not acked within this many seconds is handed to another worker. Jobs guard
        # against running twice (jobs.claims), so this can be shorter than the longest job.
        "visibility_timeout": env.int("BROKER_VISIBILITY_TIMEOUT", default=3600),
        # Look for abandoned (unacked past the timeout) messages every few seconds, not kombu's
        # default of about 100 s, so a killed worker's jobs come back soon after the timeout.
        "unacked_restore_interval": min(10, max(1, env.int("BROKER_VISIBILITY_TIMEOUT", default=3600) // 4)),
        "unacked_restore_throttle": 1,
        "socket_timeout": 5,
        "socket_connect_timeout": 5,
        # Off so kombu pipelines publishes (Producer.batch); a replayed write would only duplicate a
        # message, and the job table lets one copy run.
        "retry_on_timeout": False,
        "health_check_interval": 25,
        # Priorities 0-9 each their own list (kombu's default is 4 buckets: 0-2, 3-5, 6-8, 9),
        # served lowest number first: the layer's priority 0 is the most urgent (docs/OPERATIONS.md,
        # "Job priorities"; on RabbitMQ the layer publishes 9 - p, see jobs.broker.queues).
        "priority_steps": list(range(10)),
        "queue_order_strategy": "priority",
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# RabbitMQ only (Redis ignores it): queues declared with x-max-priority 10, so priorities work there.
CELERY_TASK_QUEUE_MAX_PRIORITY = env.int("CELERY_TASK_QUEUE_MAX_PRIORITY", default=10)
CELERY_RESULT_BACKEND = "jobs.core.results:JobResultBackend"  # job rows, else django-celery-results
CELERY_RESULT_EXTENDED = True
CELERY_CACHE_BACKEND = "django-cache"
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_ACKS_ON_FAILURE_OR_TIMEOUT = True
CELERY_WORKER_PREFETCH_MULTIPLIER = env.int("CELERY_WORKER_PREFETCH_MULTIPLIER", default=1)
# Task events are what Flower shows; they cost 16-38% of a no-op drain (make bench ONLY=jobs_settings).
CELERY_WORKER_SEND_TASK_EVENTS = env.bool("CELERY_WORKER_SEND_TASK_EVENTS", default=True)
# The job table records every enqueue; a task-sent event per message costs ~20-35% of enqueue.
CELERY_TASK_SEND_SENT_EVENT = env.bool("CELERY_TASK_SEND_SENT_EVENT", default=False)
CELERY_TASK_TRACK_STARTED = False  # job history tracks starts; results stay vanilla
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULER = "jobs.plugins.beat:Scheduler"
# A job message for a task this worker does not know (a rolling deploy) goes back to the broker.
CELERY_WORKER_CONSUMER = "jobs.broker.consumer:Consumer"
CELERY_BEAT_MAX_LOOP_INTERVAL = env.int("CELERY_BEAT_MAX_LOOP_INTERVAL", default=5)
# Extra task modules to load (tests load their own through this).
CELERY_IMPORTS = env.list("CELERY_EXTRA_IMPORTS", default=[])
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# Keep DB connections across tasks in workers (django-celery-results reads this too).
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)

# --- The jobs layer ----------------------------------------------------------------------------
JOBS_HISTORY_FLUSH_INTERVAL = env.float("JOBS_HISTORY_FLUSH_INTERVAL", default=0.25)
# Where cluster-wide gates live: "" (Redis, or the database in single-machine mode) or "memory".
JOBS_COORDINATOR = env.str("JOBS_COORDINATOR", default="")
JOBS_HISTORY_MAX_BUFFER = env.int("JOBS_HISTORY_MAX_BUFFER", default=100_000)  # then the oldest drop
# A started job whose lease lapsed this long ago (its process is gone) is queued again.
JOBS_RESCUE_AFTER = env.int("JOBS_RESCUE_AFTER", default=60)
JOBS_LEASE_TTL = env.int("JOBS_LEASE_TTL", default=30)
# Committed jobs not handed to a broker after this many seconds are published by the relay.
JOBS_RELAY_AFTER = env.float("JOBS_RELAY_AFTER", default=10)
# Queued jobs handed over this long ago while their broker queue is empty are published again.
JOBS_REPUBLISH_AFTER = env.float("JOBS_REPUBLISH_AFTER", default=300)
# The stager's fallback poll: a worker node wakes its own stager for what it makes due sooner.
JOBS_MOVER_INTERVAL = env.float("JOBS_MOVER_INTERVAL", default=0.5 if EMBEDDED_MODE else 0.1)
JOBS_RECONCILE_EVERY = env.float("JOBS_RECONCILE_EVERY", default=5)
# A solo worker sends a job's claim as its message arrives, overlapping kombu's write to Redis
# (jobs/core/early.py). Off by default: one solo node here drains 7% more with it, two nodes
# sharing two cores with PostgreSQL 5% fewer; it is for a database across a network
# (docs/PERFORMANCE.md, "Stop 30").
JOBS_EARLY_CLAIM = env.bool("JOBS_EARLY_CLAIM", default=False)
# A delivery the database cannot decide (or a worker that does not know the task) is sent back
# to the broker after this pause.
JOBS_REQUEUE_DELAY = env.float("JOBS_REQUEUE_DELAY", default=1.0)
# A provider's retry-after (Strava's daily window: up to 24 h) and a Snooze are capped here.
JOBS_MAX_RETRY_AFTER = env.float("JOBS_MAX_RETRY_AFTER", default=6 * 3600)
JOBS_MAX_SNOOZE = env.float("JOBS_MAX_SNOOZE", default=24 * 3600)
JOBS_PRUNE_AFTER_DAYS = env.int("JOBS_PRUNE_AFTER_DAYS", default=7)
# Per-queue retention in days, e.g. JOBS_PRUNE_AFTER_DAYS_BY_QUEUE=sync=60,events=7
JOBS_PRUNE_AFTER_DAYS_BY_QUEUE = {
    k: int(v) for k, v in env.dict("JOBS_PRUNE_AFTER_DAYS_BY_QUEUE", default={"sync": 60}).items()
}
JOBS_PRUNE_BATCH = env.int("JOBS_PRUNE_BATCH", default=1000)
JOBS_KEY_PREFIX = env.str("JOBS_KEY_PREFIX", default="jobs")
HEALTH_BEAT_MAX_AGE = env.int("HEALTH_BEAT_MAX_AGE", default=120)
# Readiness (/healthz/ready, /metrics): a staff login or `Authorization: Bearer $HEALTH_TOKEN`.
HEALTH_TOKEN = env.str("HEALTH_TOKEN", default="")
HEALTH_CACHE_SECONDS = env.float("HEALTH_CACHE_SECONDS", default=5)
HEALTH_PING_TIMEOUT = env.float("HEALTH_PING_TIMEOUT", default=1.0)
# Operator console (jobs/plugins/pruner.py, jobs/console/, jobs/plugins/cron.py).
JOBS_POLL_TASKS = env.list("JOBS_POLL_TASKS", default=[])  # besides tasks declared @job(poll=True)
JOBS_NOOP_KEEP_SECONDS = env.int("JOBS_NOOP_KEEP_SECONDS", default=3600)
JOBS_LOST_AFTER = env.int("JOBS_LOST_AFTER", default=600)
JOBS_QUEUE_SYNC_EVERY = env.float("JOBS_QUEUE_SYNC_EVERY", default=5)
# The publish breaker stays open until a probe (every this many seconds) sees the broker again;
# the publish path's connect timeout, so an enqueue with the broker down costs about that, not seconds.
JOBS_BROKER_PROBE_EVERY = env.float("JOBS_BROKER_PROBE_EVERY", default=0.5)
JOBS_PUBLISH_CONNECT_TIMEOUT = env.float("JOBS_PUBLISH_CONNECT_TIMEOUT", default=0.1)
JOBS_PUBLISH_SOCKET_TIMEOUT = env.float("JOBS_PUBLISH_SOCKET_TIMEOUT", default=0.25)
JOBS_RUN_AT_BEAT_START = env.list("JOBS_RUN_AT_BEAT_START", default=["sync.catch_up"])

from project.settings_apps import *  # noqa: E402, F403  (AWS, e-mail and each app's settings)

# --- Logging: one structured line per event, ids not payloads ---------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"kv": {"()": "jobs.telemetry.KeyValueFormatter"}},
    "filters": {"redact_paths": {"()": "project.logredact.RedactSecretsFilter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "kv", "filters": ["redact_paths"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.request": {"level": "ERROR"},
        # runserver's request lines, through our handler so tokens in URLs are masked
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # Celery's "Task succeeded in Xs: <return value>" could carry data; jobs.telemetry logs
        # the outcome instead.
        "celery.app.trace": {"level": "WARNING"},
        # django-tasks logs every task's start and finish at INFO (two formatted lines a task,
        # ~55 µs of a worker's time); jobs.telemetry logs successes at DEBUG and failures at INFO,
        # and django-tasks' own failure line (ERROR, with the traceback) still passes.
        "django_tasks": {"level": "WARNING"},
        "botocore": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
    },
}

# Django's Tasks API (django-tasks backport on 5.2, django.tasks on 6): `@task` functions run as
# durable jobs on the Celery queues below (docs/use-it-in-your-project.md).
TASKS = {
    "default": {
        "BACKEND": "jobs.tasks_api.DjangoTasksBackend",
        "QUEUES": ["default", "emails", "events", "sync", "handlers"],
    }
}
