"""Settings, read from the environment in one place.

Every knob an operator may turn is an environment variable named here; `.env.example` lists them.
An integration that is switched on but misconfigured fails at start, naming the variable.
"""

from __future__ import annotations

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
# The container image sets READ_DOT_ENV=0: there the environment is the only source.
if env.bool("READ_DOT_ENV", default=True):
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)
# `make run` writes its choices (broker, local AWS, DEBUG) here, so `manage.py` beside it agrees.
if env.bool("READ_DOT_ENV", default=True):
    environ.Env.read_env(VAR_DIR / "run.env", overwrite=False)

# --- Django core ------------------------------------------------------------------------------
DEBUG = env.bool("DEBUG", default=False)
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
        "DIRS": [],
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
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_RESULT_BACKEND = "jobs.results:JobResultBackend"  # job rows, else django-celery-results
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
CELERY_WORKER_SEND_TASK_EVENTS = True
# The job table records every enqueue; a task-sent event per message costs ~20-35% of enqueue.
CELERY_TASK_SEND_SENT_EVENT = env.bool("CELERY_TASK_SEND_SENT_EVENT", default=False)
CELERY_TASK_TRACK_STARTED = False  # job history tracks starts; results stay vanilla
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULER = "jobs.beat:Scheduler"
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
JOBS_MOVER_INTERVAL = env.float("JOBS_MOVER_INTERVAL", default=0.5 if EMBEDDED_MODE else 0.1)
JOBS_RECONCILE_EVERY = env.float("JOBS_RECONCILE_EVERY", default=5)
JOBS_BROKER_BACKOFF = env.float("JOBS_BROKER_BACKOFF", default=1.0)  # after a failed publish
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
# Operator console (jobs/retention.py, jobs/operations.py, jobs/hooks.py).
JOBS_POLL_TASKS = env.list(
    "JOBS_POLL_TASKS", default=["emails.tasks.sqs_poll_task", "invoices.tasks.invoice_queues_poll_task"]
)
JOBS_NOOP_KEEP_SECONDS = env.int("JOBS_NOOP_KEEP_SECONDS", default=3600)
JOBS_LOST_AFTER = env.int("JOBS_LOST_AFTER", default=600)
JOBS_QUEUE_SYNC_EVERY = env.float("JOBS_QUEUE_SYNC_EVERY", default=5)
JOBS_RUN_AT_BEAT_START = env.list("JOBS_RUN_AT_BEAT_START", default=["sync.catch_up"])

# --- AWS (one region, optional local endpoint such as a moto server) --------------------------
AWS_REGION = env.str("AWS_REGION", default="us-east-1")
# AWS_ENDPOINT (seed 002's name) is accepted as an alias; project/aws.py makes every client.
AWS_ENDPOINT_URL = env.str("AWS_ENDPOINT_URL", default=env.str("AWS_ENDPOINT", default="")) or None

# --- E-mail ------------------------------------------------------------------------------------
# smtp | ses | outbox (one .eml per e-mail under var/outbox, shown in the admin) | console | locmem
EMAIL_PROVIDER = env.str("EMAIL_PROVIDER", default="outbox")
EMAIL_OUTBOX_DIR = Path(env.str("EMAIL_OUTBOX_DIR", default=str(VAR_DIR / "outbox")))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="billing@example.com")
EMAIL_HOST = env.str("SMTP_HOST", default=env.str("EMAIL_HOST", default="localhost"))
EMAIL_PORT = env.int("SMTP_PORT", default=env.int("EMAIL_PORT", default=25))
EMAIL_HOST_USER = env.str("SMTP_USER", default=env.str("EMAIL_HOST_USER", default=""))
EMAIL_HOST_PASSWORD = env.str("SMTP_PASSWORD", default=env.str("EMAIL_HOST_PASSWORD", default=""))
EMAIL_USE_TLS = env.bool("SMTP_USE_TLS", default=env.bool("EMAIL_USE_TLS", default=False))
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)
EMAIL_BACKEND = {
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "console": "django.core.mail.backends.console.EmailBackend",
    "ses": "invoices.ses.SesEmailBackend",
    "outbox": "invoices.outbox.OutboxEmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
}.get(EMAIL_PROVIDER) or ""
if not EMAIL_BACKEND:
    raise ImproperlyConfigured("EMAIL_PROVIDER must be one of smtp, ses, outbox, console, locmem")
# SES sends name this configuration set, so SES publishes their events (setup_ses_events).
SES_CONFIGURATION_SET = env.str("SES_CONFIGURATION_SET", default="")

# --- emails: SES events from SQS ---------------------------------------------------------------
# The queue URL and region here seed the settings record when it is first made; after that the
# record (admin, emails.polling API, `manage.py sqs_polling`) is what counts.
SES_EVENTS_QUEUE_URL = env.str("SES_EVENTS_QUEUE_URL", default="")
SES_EVENTS_QUEUE_NAME = env.str("SES_EVENTS_QUEUE_NAME", default="ses-events")
SES_EVENTS_DLQ_NAME = env.str("SES_EVENTS_DLQ_NAME", default="")  # default: <queue name>-dlq
SES_EVENTS_TOPIC_NAME = env.str("SES_EVENTS_TOPIC_NAME", default="ses-events")  # setup_ses_events
SES_EVENTS_MAX_RECEIVES = env.int("SES_EVENTS_MAX_RECEIVES", default=5)  # then to the DLQ
# Seconds a received message stays hidden from other pollers before SQS hands it out again.
SES_EVENTS_VISIBILITY_TIMEOUT = env.int("SES_EVENTS_VISIBILITY_TIMEOUT", default=60)
# A message body larger than this is quarantined unparsed (SQS's own cap is 256 KiB).
SES_EVENTS_MAX_MESSAGE_BYTES = env.int("SES_EVENTS_MAX_MESSAGE_BYTES", default=262_144)

# --- invoices ----------------------------------------------------------------------------------
FRONTEND_URL = env.str("FRONTEND_URL", default="http://localhost:8000")
# sqs | celery; "memory" (seed 002) is the single-machine provider, i.e. Celery's queues, which
# in EMBEDDED_MODE live on the filesystem broker under var/.
QUEUE_PROVIDER = env.str("QUEUE_PROVIDER", default="sqs").strip().lower().replace("memory", "celery")
if QUEUE_PROVIDER not in ("sqs", "celery"):
    raise ImproperlyConfigured(f"QUEUE_PROVIDER must be sqs, celery or memory, not {QUEUE_PROVIDER!r}")
SQS_PRIORITY_QUEUE_URL = env.str("SQS_PRIORITY_QUEUE_URL", default="")
SQS_REGULAR_QUEUE_URL = env.str("SQS_REGULAR_QUEUE_URL", default="")
# Used by `setup_invoice_queues`, and to look the URLs up when the *_URL variables are unset.
SQS_PRIORITY_QUEUE_NAME = env.str("SQS_PRIORITY_QUEUE_NAME", default="priority-emails-queue")
SQS_REGULAR_QUEUE_NAME = env.str("SQS_REGULAR_QUEUE_NAME", default="invoice-generation-queue")
SQS_VISIBILITY_TIMEOUT = env.int("SQS_VISIBILITY_TIMEOUT", default=300)
SQS_MAX_RECEIVE_COUNT = env.int("SQS_MAX_RECEIVE_COUNT", default=5)  # then the dead-letter queue
INVOICES_POLL_MAX_MESSAGES = env.int("INVOICES_POLL_MAX_MESSAGES", default=500)  # per poll run
# Backpressure: a poll receives regular mail only while fewer than this many handed-off sends wait
# in Celery, so a message's SQS visibility timeout never has to cover a long Celery backlog.
INVOICES_CELERY_BACKLOG = env.int("INVOICES_CELERY_BACKLOG", default=100)
INVOICES_POLL_SNOOZE = env.float("INVOICES_POLL_SNOOZE", default=0.5)  # then the poll goes on
INVOICES_RETRY_BASE_DELAY = env.int("INVOICES_RETRY_BASE_DELAY", default=30)  # doubles per try
INVOICES_QUEUE_WARN_DEPTH = env.int("INVOICES_QUEUE_WARN_DEPTH", default=1000)
# A send claimed this long ago by a worker that never finished may be taken by another one.
INVOICES_SENDING_STALE_AFTER = env.int("INVOICES_SENDING_STALE_AFTER", default=600)

# --- pii: Slack --------------------------------------------------------------------------------
SLACK_SIGNING_SECRET = env.str("SLACK_SIGNING_SECRET", default="")
SLACK_BOT_TOKEN = env.str("SLACK_BOT_TOKEN", default="")
SLACK_API_URL = env.str("SLACK_API_URL", default="https://slack.com/api/")
SLACK_BOT_USER_ID = env.str("SLACK_BOT_USER_ID", default="")  # our own messages are skipped
# A workspace admin's user token (xoxp-): Slack lets a bot token delete only the bot's own
# messages. Single-workspace setups set it here; OAuth installs (/slack/install) store their own.
SLACK_USER_TOKEN = env.str("SLACK_USER_TOKEN", default="")
SLACK_CLIENT_ID = env.str("SLACK_CLIENT_ID", default="")
SLACK_CLIENT_SECRET = env.str("SLACK_CLIENT_SECRET", default="")
SLACK_OAUTH_REDIRECT_URI = env.str("SLACK_OAUTH_REDIRECT_URI", default="")  # …/slack/oauth_redirect
SLACK_AUTHORIZE_URL = env.str("SLACK_AUTHORIZE_URL", default="https://slack.com/oauth/v2/authorize")
SLACK_BOT_SCOPES = env.list(
    "SLACK_BOT_SCOPES",
    default=[
        "channels:history",
        "groups:history",
        "im:history",
        "mpim:history",
        "chat:write",
        "im:write",
        "files:read",
        "files:write",
        "users:read",
    ],
)
SLACK_USER_SCOPES = env.list("SLACK_USER_SCOPES", default=["chat:write", "files:write"])
if SLACK_BOT_TOKEN and not SLACK_SIGNING_SECRET:
    raise ImproperlyConfigured("SLACK_SIGNING_SECRET is required when SLACK_BOT_TOKEN is set")
PII_DETECTOR = env.str("PII_DETECTOR", default="pii.detector.BuiltinDetector")
PII_FILE_MAX_BYTES = env.int("PII_FILE_MAX_BYTES", default=1_000_000)
# Files are scanned in chunks of this many characters (overlapping, so nothing is cut in two),
# and a scan stops, failed rather than clean, once it has used PII_SCAN_BUDGET seconds of CPU.
PII_SCAN_CHUNK_CHARS = env.int("PII_SCAN_CHUNK_CHARS", default=64_000)
PII_SCAN_BUDGET = env.float("PII_SCAN_BUDGET", default=20.0)
PII_SCAN_SOFT_TIME_LIMIT = env.int("PII_SCAN_SOFT_TIME_LIMIT", default=60)  # per scan job
# The bot token is only ever sent to these hosts (plus SLACK_API_URL's) when fetching files.
PII_FILE_ALLOWED_HOSTS = env.list("PII_FILE_ALLOWED_HOSTS", default=["files.slack.com"])
PII_EXCERPT_CHARS = env.int("PII_EXCERPT_CHARS", default=300)
PII_RATE_LIMIT_RETRIES = env.int("PII_RATE_LIMIT_RETRIES", default=5)  # snoozes before an attempt counts
PII_EVENTS_KEEP_DAYS = env.int("PII_EVENTS_KEEP_DAYS", default=7)  # event-id dedupe rows

# --- sync: Strava-like API ---------------------------------------------------------------------
STRAVA_API_URL = env.str("STRAVA_API_URL", default="https://www.strava.com/api/v3/")
STRAVA_TOKEN_URL = env.str("STRAVA_TOKEN_URL", default="https://www.strava.com/oauth/token")
STRAVA_AUTHORIZE_URL = env.str("STRAVA_AUTHORIZE_URL", default="https://www.strava.com/oauth/authorize")
# Where Strava sends the athlete back (its host must be the app's Authorization Callback Domain);
# empty: this site's /sync/strava/callback/ as the request saw it.
STRAVA_REDIRECT_URI = env.str("STRAVA_REDIRECT_URI", default="")
STRAVA_CONNECT_MAX_AGE = env.int("STRAVA_CONNECT_MAX_AGE", default=3600)  # connect link, seconds
STRAVA_CLIENT_ID = env.str("STRAVA_CLIENT_ID", default="")
STRAVA_CLIENT_SECRET = env.str("STRAVA_CLIENT_SECRET", default="")
SYNC_TIMEZONE = env.str("SYNC_TIMEZONE", default="Europe/Warsaw")
# Tokens are encrypted at rest with this key (Fernet, 32 url-safe base64 bytes); required when
# DEBUG is off (derived from SECRET_KEY only in development). Several keys, comma-separated,
# rotate: the first encrypts, all decrypt; `manage.py rotate_tokens` re-encrypts with the first.
FIELD_ENCRYPTION_KEY = env.str("FIELD_ENCRYPTION_KEY", default="")
STRAVA_PER_PAGE = env.int("STRAVA_PER_PAGE", default=100)  # Strava allows up to 200
STRAVA_TIMEOUT = env.float("STRAVA_TIMEOUT", default=20)
# Cluster-wide start rate of per-participant sync jobs, e.g. "60/60s" (empty: no limit).
SYNC_PARTICIPANT_RATE_LIMIT = env.str("SYNC_PARTICIPANT_RATE_LIMIT", default="")
SYNC_INITIAL_DAYS = env.int("SYNC_INITIAL_DAYS", default=30)  # first sync looks this far back
SYNC_OVERLAP_HOURS = env.int("SYNC_OVERLAP_HOURS", default=48)  # late uploads are still found
# The catch-up check leaves the nightly beat entry this long to start the day's run itself.
SYNC_CATCH_UP_GRACE = env.int("SYNC_CATCH_UP_GRACE", default=600)
SYNC_CATCH_UP_EVERY = env.int("SYNC_CATCH_UP_EVERY", default=300)
# /healthz reports sync as failing when the current day's run is missing this long after its slot.
SYNC_HEALTH_MAX_LAG = env.int("SYNC_HEALTH_MAX_LAG", default=2 * 3600)
# ... and when the day's run has started but is still unfinished this many hours later.
SYNC_HEALTH_MAX_RUN_HOURS = env.float("SYNC_HEALTH_MAX_RUN_HOURS", default=6)
try:
    import zoneinfo as _zoneinfo

    _zoneinfo.ZoneInfo(SYNC_TIMEZONE)
except (ValueError, _zoneinfo.ZoneInfoNotFoundError):
    raise ImproperlyConfigured(f"SYNC_TIMEZONE {SYNC_TIMEZONE!r} is not a known time zone") from None
if not FIELD_ENCRYPTION_KEY and not DEBUG:
    raise ImproperlyConfigured(
        "FIELD_ENCRYPTION_KEY is required when DEBUG is off (Strava tokens are encrypted with it). Make "
        "one: python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
    )
if FIELD_ENCRYPTION_KEY:
    from cryptography.fernet import Fernet as _Fernet

    try:
        [_Fernet(k.strip()) for k in FIELD_ENCRYPTION_KEY.split(",")]
    except (ValueError, TypeError):
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY must be Fernet keys (32 url-safe base64 bytes), comma-separated"
        ) from None

# --- queue_handlers ----------------------------------------------------------------------------
HANDLER_RATE_LIMITS = env.dict(
    "HANDLER_RATE_LIMITS",
    default={"email": "100/60s", "ai_processing": "30/60s", "thought_extraction": "50/60s"},
)
AI_API_URL = env.str("AI_API_URL", default="https://api.openai.com/v1/")
AI_API_KEY = env.str("AI_API_KEY", default="")
OPENROUTER_API_URL = env.str("OPENROUTER_API_URL", default="https://openrouter.ai/api/v1/")
OPENROUTER_API_KEY = env.str("OPENROUTER_API_KEY", default="")
WEBHOOK_SIGNING_SECRET = env.str("WEBHOOK_SIGNING_SECRET", default="")
WEBHOOK_ALLOWED_HOSTS = env.list("WEBHOOK_ALLOWED_HOSTS", default=[])
# At most this much of a webhook target's answer is read (then the connection is dropped).
WEBHOOK_MAX_RESPONSE_BYTES = env.int("WEBHOOK_MAX_RESPONSE_BYTES", default=64 * 1024)
# Retries of transient handler errors: exponential from BASE seconds, capped, with jitter.
HANDLER_RETRY_BACKOFF_BASE = env.float("HANDLER_RETRY_BACKOFF_BASE", default=2.0)
HANDLER_RETRY_BACKOFF_CAP = env.float("HANDLER_RETRY_BACKOFF_CAP", default=300.0)
HANDLER_MAX_PAYLOAD_BYTES = env.int("HANDLER_MAX_PAYLOAD_BYTES", default=256 * 1024)
HANDLER_HTTP_TIMEOUT = env.float("HANDLER_HTTP_TIMEOUT", default=60.0)
# /healthz reports the handlers queue as failing past this many waiting messages.
HANDLER_HEALTH_MAX_DEPTH = env.int("HANDLER_HEALTH_MAX_DEPTH", default=10_000)
HANDLER_STATS_WINDOW = env.int("HANDLER_STATS_WINDOW", default=3600)  # seconds

# --- Logging: one structured line per event, ids not payloads ---------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"kv": {"()": "jobs.telemetry.KeyValueFormatter"}},
    "filters": {"redact_paths": {"()": "jobs.telemetry.RedactPathsFilter"}},
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
        "botocore": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
    },
}
