"""The key a job's sensitive arguments are encrypted with, inside the layer (so the `jobs`
distribution needs no app of its host project): Fernet / MultiFernet from FIELD_ENCRYPTION_KEY
(comma-separated: the first encrypts, all decrypt); with none set, a key derived from SECRET_KEY
and the purpose. project.crypto builds its keys with `fernet_for` too, so the derivation is
written once: rows written by either open with the other, and `rotate_tokens` still covers
`jobs.Job.secret_payload`.
"""

from __future__ import annotations

import base64
import functools
import hashlib

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings


def fernet(purpose: str) -> MultiFernet:
    # Settings read on each call (cached per value): tests and key rotation see the current keys.
    return fernet_for(getattr(settings, "FIELD_ENCRYPTION_KEY", "") or "", settings.SECRET_KEY, purpose)


def secret_key_derived(purpose: str, secret: str) -> Fernet:
    """The development key of a purpose: stored rows depend on this derivation, never change it."""
    derived = hashlib.sha256(f"{purpose}:".encode() + secret.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(derived))


@functools.cache
def fernet_for(keys: str, secret: str, purpose: str, with_derived: bool = False) -> MultiFernet:
    """FIELD_ENCRYPTION_KEY's keys (or, with none, the derived key); `with_derived` also opens
    what the derived key wrote before keys were set."""
    if not keys:
        return MultiFernet([secret_key_derived(purpose, secret)])
    fernets = [Fernet(k.strip()) for k in keys.split(",") if k.strip()]
    if with_derived:
        fernets.append(secret_key_derived(purpose, secret))
    return MultiFernet(fernets)
