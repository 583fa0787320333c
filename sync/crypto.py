"""Encryption at rest for OAuth tokens (Fernet), so a database dump or the admin never shows one.

The key comes from FIELD_ENCRYPTION_KEY (comma-separated keys rotate: the first encrypts, every
one decrypts) or, when unset, is derived from SECRET_KEY so a development setup needs nothing.
"""

from __future__ import annotations

import base64
import functools
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class TokenDecryptError(Exception):
    """A stored token cannot be decrypted with any configured key (key rotated away?)."""


@functools.cache
def _fernet(keys: str, secret: str) -> MultiFernet:
    if keys:
        return MultiFernet([Fernet(k.strip()) for k in keys.split(",") if k.strip()])
    derived = hashlib.sha256(b"sync.crypto:" + secret.encode()).digest()
    return MultiFernet([Fernet(base64.urlsafe_b64encode(derived))])


def fernet() -> MultiFernet:
    # Read settings on each call (cached per value) so tests and key rotation see the current keys.
    return _fernet(settings.FIELD_ENCRYPTION_KEY, settings.SECRET_KEY)


def encrypt(plain: str) -> str:
    if not plain:
        return ""
    return fernet().encrypt(plain.encode()).decode()


def decrypt(stored: str) -> str:
    if not stored:
        return ""
    try:
        return fernet().decrypt(stored.encode()).decode()
    except InvalidToken:
        raise TokenDecryptError("stored token cannot be decrypted with FIELD_ENCRYPTION_KEY") from None
