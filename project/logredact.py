"""Secrets that travel in URLs, masked wherever a request is logged: a pay link's token
(/pay/<token>), a Strava connect link, OAuth's `code` and `state`, tokens and signatures in a
query string. One function, used by gunicorn's access log (gunicorn.conf.py) and by Django's own
request log (`RedactSecretsFilter` in settings.LOGGING, e.g. runserver under `make run`).
"""

from __future__ import annotations

import logging
import re

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


class RedactSecretsFilter(logging.Filter):
    """Masks URL secrets in a record's message and positional arguments (a mapping, as in
    `%(name)s` style, is left as it is)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True
