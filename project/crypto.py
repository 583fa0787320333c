"""Encryption at rest, one way: Fernet / MultiFernet from FIELD_ENCRYPTION_KEY (comma-separated
keys rotate: the first encrypts, all decrypt); with no key set (development only: settings
require one when DEBUG is off), a key derived from SECRET_KEY and the caller's purpose."""

from __future__ import annotations

import base64
import functools
import hashlib

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings


def fernet(purpose: str, *, with_derived: bool = False) -> MultiFernet:
    """`with_derived` also decrypts what was stored with the SECRET_KEY-derived key before
    FIELD_ENCRYPTION_KEY was set (a rotation command's way out of the development key)."""
    # Settings are read on each call (cached per value): tests and key rotation see the current keys.
    return _fernet(settings.FIELD_ENCRYPTION_KEY, settings.SECRET_KEY, purpose, with_derived)


def secret_key_derived(purpose: str, secret: str) -> Fernet:
    derived = hashlib.sha256(f"{purpose}:".encode() + secret.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(derived))


@functools.cache
def _fernet(keys: str, secret: str, purpose: str, with_derived: bool) -> MultiFernet:
    if not keys:
        return MultiFernet([secret_key_derived(purpose, secret)])
    fernets = [Fernet(k.strip()) for k in keys.split(",") if k.strip()]
    if with_derived:
        fernets.append(secret_key_derived(purpose, secret))
    return MultiFernet(fernets)
