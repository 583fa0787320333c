"""Encryption at rest for OAuth tokens (project.crypto's Fernet), so a database dump or the admin
never shows one.

The key comes from FIELD_ENCRYPTION_KEY (comma-separated keys rotate: the first encrypts, every
one decrypts). It is required when DEBUG is off (settings refuse to start without it), because a
key derived from SECRET_KEY would silently break every stored token when SECRET_KEY rotates; only
a development setup (DEBUG on, no key) derives one from SECRET_KEY so it needs nothing.
"""

from __future__ import annotations

from cryptography.fernet import InvalidToken, MultiFernet

from project import crypto

PURPOSE = "sync.crypto"  # the derivation salt of the development key: stored rows depend on it


class TokenDecryptError(Exception):
    """A stored token cannot be decrypted with any configured key (key rotated away?)."""


def fernet(*, with_derived: bool = False) -> MultiFernet:
    return crypto.fernet(PURPOSE, with_derived=with_derived)


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
