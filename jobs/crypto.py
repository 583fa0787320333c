"""The key a job's sensitive arguments are encrypted with, inside the layer (so the `jobs`
distribution needs no app of its host project): Fernet / MultiFernet from FIELD_ENCRYPTION_KEY
(comma-separated: the first encrypts, all decrypt); with none set, a key derived from SECRET_KEY
and the purpose — the same derivation as project.crypto, so rows written by either open with
the other and `rotate_tokens` still covers `jobs.Job.secret_payload`.
"""

from __future__ import annotations

import base64
import functools
import hashlib

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings


def fernet(purpose: str) -> MultiFernet:
    # Settings read on each call (cached per value): tests and key rotation see the current keys.
    return _fernet(getattr(settings, "FIELD_ENCRYPTION_KEY", "") or "", settings.SECRET_KEY, purpose)


@functools.cache
def _fernet(keys: str, secret: str, purpose: str) -> MultiFernet:
    if not keys:
        derived = hashlib.sha256(f"{purpose}:".encode() + secret.encode()).digest()
        return MultiFernet([Fernet(base64.urlsafe_b64encode(derived))])
    return MultiFernet([Fernet(k.strip()) for k in keys.split(",") if k.strip()])
