"""The apps' settings: AWS, e-mail, emails, invoices, pii, sync and queue_handlers, each read
from the environment (project/env.py); project/settings.py takes every name from here."""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from project.env import DEBUG, VAR_DIR, env

# --- AWS (one region, optional local endpoint such as a moto server) --------------------------
AWS_REGION = env.str("AWS_REGION", default="us-east-1")
# AWS_ENDPOINT (seed 002's name) is accepted as an alias; project/aws.py makes every client.
AWS_ENDPOINT_URL = env.str("AWS_ENDPOINT_URL", default=env.str("AWS_ENDPOINT", default="")) or None
# `make run` sets it when AWS_ENDPOINT_URL is its own moto (scripts/local_aws.py): readiness then
# reports what that moto re-queued at its start.
LOCAL_AWS = env.bool("LOCAL_AWS", default=False)

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
# What actually sends: the invoice worker and queue_handlers' e-mail jobs use this backend.
EMAIL_DELIVERY_BACKEND = {
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "console": "django.core.mail.backends.console.EmailBackend",
    "ses": "invoices.ses.SesEmailBackend",
    "outbox": "invoices.outbox.OutboxEmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
}.get(EMAIL_PROVIDER) or ""
if not EMAIL_DELIVERY_BACKEND:
    raise ImproperlyConfigured("EMAIL_PROVIDER must be one of smtp, ses, outbox, console, locmem")
# Django's own mail (password reset, account mail, anything sent with send_mail/EmailMessage)
# goes through the invoice mail pipeline's priority queue instead of being sent inline (seed
# 002), unless EMAIL_THROUGH_QUEUE=0. Unmarked mail gets EMAIL_QUEUE_DEFAULT_PRIORITY (1-3:
# priority queue, 4-10: regular); invoices.mail.mail_mark(message, priority=…) says otherwise.
EMAIL_THROUGH_QUEUE = env.bool("EMAIL_THROUGH_QUEUE", default=True)
EMAIL_BACKEND = "invoices.mail.QueuedEmailBackend" if EMAIL_THROUGH_QUEUE else EMAIL_DELIVERY_BACKEND
EMAIL_QUEUE_DEFAULT_PRIORITY = env.int("EMAIL_QUEUE_DEFAULT_PRIORITY", default=2)
if not 1 <= EMAIL_QUEUE_DEFAULT_PRIORITY <= 10:
    raise ImproperlyConfigured("EMAIL_QUEUE_DEFAULT_PRIORITY must be from 1 to 10 (1-3: the priority queue)")
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
# An attempt committed but not handed to its queue this long after (the process died before
# SendMessage) is published by the relay, which beat runs every INVOICES_RELAY_EVERY seconds.
INVOICES_RELAY_AFTER = env.int("INVOICES_RELAY_AFTER", default=60)
INVOICES_RELAY_EVERY = env.int("INVOICES_RELAY_EVERY", default=30)

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
# Run-time switches (the admin's "PII settings" page wins once saved): detection on/off, the
# types looked for, and what a finding does: "delete" (remove it and tell the author) or
# "notify" (tell the author only).
PII_DETECTION_ENABLED = env.bool("PII_DETECTION_ENABLED", default=True)
PII_TYPES = env.list("PII_TYPES", default=["EMAIL", "PHONE", "CREDIT_CARD", "IBAN", "US_SSN", "IP_ADDRESS"])
PII_FINDING_ACTION = env.str("PII_FINDING_ACTION", default="delete")
if PII_FINDING_ACTION not in ("delete", "notify"):
    raise ImproperlyConfigured("PII_FINDING_ACTION must be delete or notify")
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
