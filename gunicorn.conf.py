"""gunicorn's settings for the web service (docker-compose.yml, Dockerfile): `gunicorn -c gunicorn.conf.py`.

The access log goes to stdout, where the container's log driver keeps it for anyone who can read
logs. Request lines carry secrets — a pay link's token (/pay/<token>), a Strava connect link,
OAuth's `code` and `state` on the way back from Slack or Strava — so every field of an access-log
line passes through `RedactingLogger` first.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any

from gunicorn.glogging import Logger

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
accesslog = "-"
errorlog = "-"
# The proxy in front holds slow clients; a request that takes longer than this is stuck.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))

# Path segments that are themselves secrets.
_PATH_SECRETS = re.compile(r"(/pay/|/sync/strava/connect/)[^\s/?\"]+")
# Query parameters that carry credentials (OAuth's code and state, tokens, signatures).
_QUERY_SECRETS = re.compile(
    r"(^|[?&;])(code|state|token|access_token|refresh_token|id_token|signature|sig|password|secret|key)=[^&;\s\"]*",
    re.IGNORECASE,
)


def redact(value: str) -> str:
    """`/pay/abc?x=1&code=xyz` -> `/pay/[token]?x=1&code=[filtered]`."""
    value = _PATH_SECRETS.sub(r"\1[token]", value)
    return _QUERY_SECRETS.sub(r"\1\2=[filtered]", value)


class _RedactFilter(logging.Filter):
    """The error log names a request's URI too ("Error handling request /pay/...")."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


class RedactingLogger(Logger):
    """gunicorn's logger with every access-log atom (request line, path, query string, referer,
    headers, environ) redacted, whatever `access_log_format` names, and the error log's too."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        if not any(isinstance(f, _RedactFilter) for f in self.error_log.filters):
            self.error_log.addFilter(_RedactFilter())

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        return {k: redact(v) if isinstance(v, str) else v for k, v in atoms.items()}


logger_class = RedactingLogger
