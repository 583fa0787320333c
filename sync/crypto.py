"""Encryption at rest for OAuth tokens (Fernet), so a database dump or the admin never shows one.

The key comes from FIELD_ENCRYPTION_KEY (comma-separated keys rotate: the first encrypts, every
one decrypts). It is required when DEBUG is off (settings refuse to start without it), because a
key derived from SECRET_KEY would silently break every stored token when SECRET_KEY rotates; only
a development setup (DEBUG on, no key) derives one from SECRET_KEY so it needs nothing.
"""

from __future__ import annotations

import base64
import functools
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class TokenDecryptError(Exception):
    """A stored token cannot be decrypted with any configured key (key rotated away?)."""


def secret_key_derived(secret: str) -> Fernet:
    """The development key (and the key of rows stored before FIELD_ENCRYPTION_KEY was set)."""
    derived = hashlib.sha256(b"sync.crypto:" + secret.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(derived))


@functools.cache
def _fernet(keys: str, secret: str, with_derived: bool = False) -> MultiFernet:
    if not keys:
        return MultiFernet([secret_key_derived(secret)])
    fernets = [Fernet(k.strip()) for k in keys.split(",") if k.strip()]
    if with_derived:
        fernets.append(secret_key_derived(secret))
    return MultiFernet(fernets)


def fernet(*, with_derived: bool = False) -> MultiFernet:
    """Settings are read on each call (cached per value) so tests and key rotation see the
    current keys; `with_derived` also decrypts rows made with the SECRET_KEY-derived key."""
    return _fernet(settings.FIELD_ENCRYPTION_KEY, settings.SECRET_KEY, with_derived)


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


def rotate(stored: str, *, with_derived: bool = False) -> str:
    """Re-encrypt with the first key (MultiFernet.rotate); the plaintext never leaves here."""
    if not stored:
        return ""
    try:
        return fernet(with_derived=with_derived).rotate(stored.encode()).decode()
    except InvalidToken:
        raise TokenDecryptError("stored token cannot be decrypted with any configured key") from None
