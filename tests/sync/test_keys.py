"""Token keys: FIELD_ENCRYPTION_KEY required in production, and rotation with rotate_tokens."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command

from sync import crypto
from sync.models import Participant

pytestmark = pytest.mark.django_db


def _settings_import(**env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in ("FIELD_ENCRYPTION_KEY", "DEBUG")}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={**base, "DJANGO_SETTINGS_MODULE": "project.settings", "SECRET_KEY": "s", **env},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=django_settings.BASE_DIR,
    )


def test_field_encryption_key_is_required_when_debug_is_off():
    refused = _settings_import(DEBUG="0")
    assert refused.returncode != 0
    assert "ImproperlyConfigured: FIELD_ENCRYPTION_KEY is required when DEBUG is off" in refused.stderr

    assert _settings_import(DEBUG="0", FIELD_ENCRYPTION_KEY=Fernet.generate_key().decode()).returncode == 0
    assert _settings_import(DEBUG="1").returncode == 0  # development derives one from SECRET_KEY


def test_rotate_tokens_reencrypts_every_token_with_the_first_key(make_participant, settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEY = old
    a, b = make_participant(), make_participant()
    plain = {p.pk: (p.access_token, p.refresh_token) for p in (a, b)}

    settings.FIELD_ENCRYPTION_KEY = f"{new},{old}"
    out = StringIO()
    call_command("rotate_tokens", stdout=out)

    assert "sync.Participant: re-encrypted 2 row(s), 0 already current." in out.getvalue()
    settings.FIELD_ENCRYPTION_KEY = new  # the old key is gone: everything still reads
    for p in Participant.objects.filter(pk__in=plain):
        assert (p.access_token, p.refresh_token) == plain[p.pk]
        assert Fernet(new.encode()).decrypt(p.refresh_token_encrypted.encode()).decode() == plain[p.pk][1]


def test_rotate_tokens_reports_rows_no_key_opens_and_goes_on(make_participant, settings):
    lost, kept = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEY = lost
    orphan = make_participant()
    settings.FIELD_ENCRYPTION_KEY = kept
    ok = make_participant()
    before = Participant.objects.get(pk=orphan.pk).access_token_encrypted

    out = StringIO()
    with pytest.raises(
        CommandError,
        match=f"left unchanged: sync.Participant 1 row\\(s\\) \\(ids {orphan.pk}\\)",
    ):
        call_command("rotate_tokens", stdout=out)

    assert "sync.Participant: re-encrypted 0 row(s), 1 already current." in out.getvalue()
    assert Participant.objects.get(pk=orphan.pk).access_token_encrypted == before  # untouched
    assert Participant.objects.get(pk=ok.pk).access_token.startswith("access-")


def test_rotate_tokens_moves_rows_off_the_secret_key_derived_key(make_participant, settings):
    settings.FIELD_ENCRYPTION_KEY = ""  # a development database, before the key was set
    p = make_participant()
    token = p.access_token
    settings.FIELD_ENCRYPTION_KEY = Fernet.generate_key().decode()
    with pytest.raises(crypto.TokenDecryptError):
        _ = Participant.objects.get(pk=p.pk).access_token

    call_command("rotate_tokens", from_secret_key=True, stdout=StringIO())

    assert Participant.objects.get(pk=p.pk).access_token == token
