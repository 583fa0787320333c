"""Encryption at rest for Slack tokens (Fernet / MultiFernet from FIELD_ENCRYPTION_KEY).

The same key setting as sync's Strava tokens (comma-separated keys rotate: the first encrypts,
all decrypt); with no key set, one is derived from SECRET_KEY so a development setup needs
nothing. The key handling is project.crypto's, shared with the jobs layer's encrypted arguments.
"""

from __future__ import annotations

from cryptography.fernet import InvalidToken

from project.crypto import fernet


class TokenDecryptError(Exception):
    """A stored token cannot be decrypted with any configured key (rotated away?)."""


def encrypt(plain: str) -> str:
    if not plain:
        return ""
    return fernet("pii.crypto").encrypt(plain.encode()).decode()


def decrypt(stored: str) -> str:
    if not stored:
        return ""
    try:
        return fernet("pii.crypto").decrypt(stored.encode()).decode()
    except InvalidToken:
        raise TokenDecryptError(
            "a stored Slack token cannot be decrypted with FIELD_ENCRYPTION_KEY"
        ) from None
