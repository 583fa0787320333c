"""AWS in one place: the only module that makes boto3 clients.

Modelled on django-anymail's shared boto3 parameters (`_get_anymail_boto3_params`): one
session/client parameter set, one botocore `Config`, clients made lazily (never at import, so a
moto server or a settings override applies) and cached per (service, region, endpoint). One
error map says what is transient (worth trying again) and what is permanent, for SQS, SES and SNS
alike, so no caller decides on a botocore class or an error code of its own.
"""

from __future__ import annotations

import functools
import re
import threading
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

# Long polls wait up to 20 s, so the read timeout must outlast them; botocore's "standard"
# retry mode already retries throttling and 5xx a couple of times before we see an error.
CONFIG = Config(
    connect_timeout=5,
    read_timeout=30,
    retries={"max_attempts": 3, "mode": "standard"},
    max_pool_connections=20,
)

# Error codes that mean "later", from the SQS, SES and SNS API references' common errors.
TRANSIENT_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "RequestThrottled",
        "TooManyRequestsException",
        "SlowDown",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalError",
        "InternalFailure",
        "RequestTimeout",
        "RequestTimeoutException",
        "KmsThrottled",
        "KMSThrottlingException",
    }
)


class AwsError(Exception):
    """AWS refused or could not be reached. `code` is AWS's error code ("" when AWS was never
    reached); `transient` says whether trying again later may succeed. The text carries the
    code and AWS's message, never our request (which may hold addresses)."""

    def __init__(self, message: str, *, code: str = "", transient: bool) -> None:
        self.code = code
        self.transient = transient
        super().__init__(message)


def endpoint_url() -> str | None:
    return settings.AWS_ENDPOINT_URL or None


def region() -> str:
    return settings.AWS_REGION


def client(service: str, *, region_name: str | None = None) -> Any:
    """The boto3 client for `service` ("sqs", "ses", "sns"), made on first use."""
    return _client(service, region_name or region(), endpoint_url())


_lock = threading.Lock()


@functools.lru_cache(maxsize=32)
def _client(service: str, region_name: str, endpoint: str | None) -> Any:
    # boto3's default session is not safe to make clients from in several threads at once
    # (worker threads); the clients themselves are.
    with _lock:
        return boto3.client(service, region_name=region_name, endpoint_url=endpoint, config=CONFIG)


def clients_reset() -> None:
    """Forget cached clients (tests that switch endpoints, credentials rotated)."""
    _client.cache_clear()


def credentials() -> Any:
    """What boto3's default chain finds (env, profile, instance role), or None."""
    try:
        return boto3.session.Session().get_credentials()
    except Exception:
        return None


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def is_transient(exc: BaseException) -> bool:
    """Throttling, 5xx and anything that never reached AWS (timeouts, connection errors) are
    transient; any other error code is AWS saying no, which retrying does not change."""
    if isinstance(exc, ClientError):
        code = error_code(exc)
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        return code in TRANSIENT_CODES or status >= 500
    return isinstance(exc, BotoCoreError | ConnectionError | TimeoutError)


def wrap(service: str, action: str, exc: BaseException) -> AwsError:
    """The one translation of a boto error into ours."""
    if isinstance(exc, ClientError):
        code = error_code(exc)
        text = scrub(str(exc.response.get("Error", {}).get("Message", "")))[:200]
        return AwsError(f"{service} {action} failed: {code}: {text}", code=code, transient=is_transient(exc))
    # Not a ClientError: AWS was never reached or never answered (timeouts, connection errors).
    return AwsError(f"{service} {action} failed: {type(exc).__name__}", transient=True)


_ADDRESS = re.compile(r"[^\s<>\"',;:()\[\]]+@[^\s<>\"',;:()\[\]]+")


def scrub(text: str) -> str:
    """AWS's messages may name addresses ("... identities failed the check: a@b.c"): an error we
    store or log says that one was named, not which."""
    return _ADDRESS.sub("<address>", text)


BOTO_ERRORS = (ClientError, BotoCoreError)
