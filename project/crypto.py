"""Encryption at rest, one way: Fernet / MultiFernet from FIELD_ENCRYPTION_KEY (comma-separated
keys rotate: the first encrypts, all decrypt); with no key set (development only: settings
require one when DEBUG is off), a key derived from SECRET_KEY and the caller's purpose."""

from __future__ import annotations

import base64
import functools
import hashlib

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings


def fernet(purpose: str) -> MultiFernet:
    # Settings are read on each call (cached per value): tests and key rotation see the current keys.
    return _fernet(settings.FIELD_ENCRYPTION_KEY, settings.SECRET_KEY, purpose)


@functools.cache
def _fernet(keys: str, secret: str, purpose: str) -> MultiFernet:
    if keys:
        return MultiFernet([Fernet(k.strip()) for k in keys.split(",") if k.strip()])
    derived = hashlib.sha256(f"{purpose}:".encode() + secret.encode()).digest()
    return MultiFernet([Fernet(base64.urlsafe_b64encode(derived))])
