"""The operator console's receivers, loaded once from JobsConfig.ready(): the system check on
queues (jobs.checks), start-up hooks (jobs.hooks), Prometheus receivers (jobs.metrics) and the
queue pause/resume receivers and control command (jobs.queues)."""

from jobs import checks, hooks, metrics, queues

__all__ = ["checks", "hooks", "metrics", "queues"]
