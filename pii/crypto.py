"""Encryption at rest for Slack tokens (Fernet / MultiFernet from FIELD_ENCRYPTION_KEY).

The same key setting as sync's Strava tokens (comma-separated keys rotate: the first encrypts,
all decrypt); with no key set, one is derived from SECRET_KEY so a development setup needs
nothing. Kept in pii rather than imported from sync: sync's module is not a public API.
"""

from __future__ import annotations

import base64
import functools
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class TokenDecryptError(Exception):
    """A stored token cannot be decrypted with any configured key (rotated away?)."""


@functools.cache
def _fernet(keys: str, secret: str) -> MultiFernet:
    if keys:
        return MultiFernet([Fernet(k.strip()) for k in keys.split(",") if k.strip()])
    derived = hashlib.sha256(b"pii.crypto:" + secret.encode()).digest()
    return MultiFernet([Fernet(base64.urlsafe_b64encode(derived))])


def encrypt(plain: str) -> str:
    if not plain:
        return ""
    return _fernet(settings.FIELD_ENCRYPTION_KEY, settings.SECRET_KEY).encrypt(plain.encode()).decode()


def decrypt(stored: str) -> str:
    if not stored:
        return ""
    try:
        return _fernet(settings.FIELD_ENCRYPTION_KEY, settings.SECRET_KEY).decrypt(stored.encode()).decode()
    except InvalidToken:
        raise TokenDecryptError(
            "a stored Slack token cannot be decrypted with FIELD_ENCRYPTION_KEY"
        ) from None
