"""Handing jobs to Celery's broker and asking it questions (publish, the Redis pipeline, depth)."""

# A header on every message the layer publishes: a delivery whose row is gone (pruned) is
# dropped, while a message without it (a plain `send_task`) is adopted as a new job.
MARKER = "jobs_published"
