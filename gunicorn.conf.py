"""gunicorn's settings for the web service (docker-compose.yml, Dockerfile): `gunicorn -c gunicorn.conf.py`.

The access log goes to stdout, where the container's log driver keeps it for anyone who can read
logs. Request lines carry secrets — a pay link's token (/pay/<token>), a Strava connect link,
OAuth's `code` and `state` on the way back from Slack or Strava — so every field of an access-log
line passes through `RedactingLogger` first.
"""

from __future__ import annotations

import os
from typing import Any

from gunicorn.glogging import Logger

from project.logredact import RedactSecretsFilter, redact

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
accesslog = "-"
errorlog = "-"
# The proxy in front holds slow clients; a request that takes longer than this is stuck.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))


class RedactingLogger(Logger):
    """gunicorn's logger with every access-log atom (request line, path, query string, referer,
    headers, environ) redacted, whatever `access_log_format` names, and the error log's too."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        if not any(isinstance(f, RedactSecretsFilter) for f in self.error_log.filters):
            self.error_log.addFilter(RedactSecretsFilter())

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        return {k: redact(v) if isinstance(v, str) else v for k, v in atoms.items()}


logger_class = RedactingLogger
