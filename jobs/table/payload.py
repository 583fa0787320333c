"""A job's arguments as stored, shown and carried.

- `shown`: what the admin, logs, events and Flower see — secrets by name "[filtered]", text made
  safe for PostgreSQL (no NUL), oversized values cut.
- `secret`: when `shown` differs from the real arguments, the real ones, Fernet-encrypted with
  FIELD_ENCRYPTION_KEY (MultiFernet: the first key encrypts, every key decrypts), so a rescued or
  retried job runs with its real arguments while nothing else ever holds them in the clear.
Arguments travel as Celery's JSON does (kombu's encoder: datetimes, UUIDs, Decimals survive).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import InvalidToken, MultiFernet
from kombu.utils.json import dumps as kombu_dumps
from kombu.utils.json import loads as kombu_loads

from jobs.crypto import fernet

FILTERED = "[filtered]"
SENSITIVE_WORDS = ("token", "secret", "password", "passwd", "api_key", "apikey", "authorization")
MAX_SHOWN_TEXT = 2000


class PayloadError(Exception):
    """Stored arguments cannot be read back (the encryption key was rotated away)."""


@dataclass(frozen=True)
class Payload:
    args: list[Any]
    kwargs: dict[str, Any]
    shown_args: list[Any]
    shown_kwargs: dict[str, Any]
    secret: str | None


def payload_build(args: tuple | list, kwargs: dict[str, Any], sensitive: tuple[str, ...] = ()) -> Payload:
    """Check the arguments are JSON as Celery sends them and split what may be shown."""
    try:
        wire = json.loads(_wire(args, kwargs))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"job arguments must be JSON-serialisable: {exc}") from None
    real_args, real_kwargs = wire
    shown_args = filter_args(real_args, sensitive)
    shown_kwargs = filter_args(real_kwargs, sensitive)
    secret = None
    if shown_args != real_args or shown_kwargs != real_kwargs:
        secret = _fernet().encrypt(json.dumps(wire).encode()).decode()
    return Payload(real_args, real_kwargs, shown_args, shown_kwargs, secret)


def _wire(args: tuple | list, kwargs: dict[str, Any]) -> str:
    """The arguments as Celery's JSON: the standard encoder where that is all they need (kombu's
    builds a new encoder per call, ~0.5 µs a job more on small arguments), kombu's for what only
    it encodes (datetimes, UUIDs, Decimals, …). Both write JSON's own types alike."""
    value = [list(args), dict(kwargs)]
    try:  # NaN and the infinities are not JSON: PostgreSQL refuses them, so they are refused here
        return json.dumps(value, allow_nan=False)
    except TypeError:
        return kombu_dumps(value, allow_nan=False)


def payload_real(args: Any, kwargs: Any, secret: str | None) -> tuple[list[Any], dict[str, Any]]:
    """The real arguments of a stored job, decoded as a worker receives them."""
    if secret:
        try:
            raw = _fernet().decrypt(secret.encode()).decode()
        except InvalidToken:
            raise PayloadError("stored arguments cannot be decrypted with FIELD_ENCRYPTION_KEY") from None
    else:
        raw = json.dumps([args or [], kwargs or {}])
    try:
        real_args, real_kwargs = kombu_loads(raw)
        return list(real_args), dict(real_kwargs)
    except (ValueError, TypeError) as exc:  # decrypted, but not the [args, kwargs] it was written as
        raise PayloadError(f"stored arguments are malformed: {type(exc).__name__}") from None


def filter_args(value: Any, sensitive: tuple[str, ...] = ()) -> Any:
    """Arguments as people see them: secrets by name replaced, text safe for the database."""
    if isinstance(value, dict):  # names too: a NUL or a lone surrogate in one, PostgreSQL refuses
        return {
            (clean_text(k) if isinstance(k, str) else k): (
                FILTERED if _secret_name(k, sensitive) else filter_args(v, sensitive)
            )
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [filter_args(v, sensitive) for v in value]
    if isinstance(value, str):
        return clean_text(value, MAX_SHOWN_TEXT)
    return value


def clean_text(text: str, limit: int | None = None) -> str:
    """Text PostgreSQL accepts (no NUL, no lone surrogate), cut to `limit` characters."""
    if "\x00" in text:
        text = text.replace("\x00", "\\x00")
    if limit is not None and len(text) > limit:
        text = text[:limit] + "…"
    if text.isascii():  # no surrogate to replace: most names and values, without the round trip
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def reprs(shown_args: list[Any], shown_kwargs: dict[str, Any]) -> dict[str, str]:
    """What Celery's events, logs and Flower show instead of the message's arguments."""
    return {"argsrepr": repr(shown_args), "kwargsrepr": repr(shown_kwargs)}


def _secret_name(name: Any, sensitive: tuple[str, ...]) -> bool:
    lowered = str(name).lower()
    return name in sensitive or any(w in lowered for w in SENSITIVE_WORDS)


def _fernet() -> MultiFernet:
    return fernet("jobs.payload")  # the derivation purpose: unchanged since rows were first encrypted
