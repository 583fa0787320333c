"""Encryption at rest, one way: Fernet / MultiFernet from FIELD_ENCRYPTION_KEY (comma-separated
keys rotate: the first encrypts, all decrypt); with no key set (development only: settings
require one when DEBUG is off), a key derived from SECRET_KEY and the caller's purpose: the keys
are built by jobs.crypto's `fernet_for`, so the derivation is written once for both.

`ENCRYPTED_COLUMNS` lists every column stored with it, so key rotation (`manage.py
rotate_tokens`) and its check cover all of them: a key dropped while one column still needs it
would break that column silently (Slack installations, jobs' encrypted arguments).
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.fernet import InvalidToken, MultiFernet
from django.conf import settings

from jobs.crypto import fernet_for


@dataclass(frozen=True)
class EncryptedColumns:
    """A model's Fernet-encrypted text columns and the purpose their key was made for."""

    model: str  # "app_label.ModelName"
    fields: tuple[str, ...]
    purpose: str  # the derivation salt of the development key: stored rows depend on it


ENCRYPTED_COLUMNS = (
    EncryptedColumns(
        "sync.Participant", ("access_token_encrypted", "refresh_token_encrypted"), "sync.crypto"
    ),
    EncryptedColumns("pii.SlackInstallation", ("bot_token_encrypted", "user_token_encrypted"), "pii.crypto"),
    # jobs.payload's own purpose (its _fernet()): the real arguments of jobs with secrets.
    EncryptedColumns("jobs.Job", ("secret_payload",), "jobs.payload"),
)


class CiphertextUnreadable(Exception):
    """No configured key opens a stored value."""


def fernet(purpose: str, *, with_derived: bool = False) -> MultiFernet:
    """`with_derived` also decrypts what was stored with the SECRET_KEY-derived key before
    FIELD_ENCRYPTION_KEY was set (a rotation command's way out of the development key)."""
    # Settings are read on each call (cached per value): tests and key rotation see the current keys.
    return fernet_for(settings.FIELD_ENCRYPTION_KEY, settings.SECRET_KEY, purpose, with_derived)


def primary(purpose: str) -> MultiFernet:
    """The key new values are written with (the first of FIELD_ENCRYPTION_KEY) alone: what
    still opens once every older key is dropped."""
    keys = [k.strip() for k in settings.FIELD_ENCRYPTION_KEY.split(",") if k.strip()]
    return fernet_for(keys[0] if keys else "", settings.SECRET_KEY, purpose)


def on_primary(stored: str, *, purpose: str) -> bool:
    """True when the first key alone decrypts `stored` (or it is empty): no older key needed."""
    if not stored:
        return True
    try:
        primary(purpose).decrypt(stored.encode())
    except InvalidToken:
        return False
    return True


def ciphertext_rotate(stored: str, *, purpose: str, with_derived: bool = False) -> str:
    """Re-encrypt with the first key (MultiFernet.rotate); the plaintext never leaves here."""
    if not stored:
        return stored
    try:
        return fernet(purpose, with_derived=with_derived).rotate(stored.encode()).decode()
    except InvalidToken:
        raise CiphertextUnreadable(f"no configured key decrypts a stored {purpose} value") from None
