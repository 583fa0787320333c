"""`manage.py rotate_tokens`: re-encrypt every stored Strava token with the first key of
FIELD_ENCRYPTION_KEY (MultiFernet.rotate), so the old keys can then be removed from the setting.

Rotation steps (docs/sync.md): prepend the new key (`NEW,OLD`), deploy, run this command, then
drop OLD. `--from-secret-key` also reads rows stored with the SECRET_KEY-derived development key
(a database that ran before FIELD_ENCRYPTION_KEY was set). A row that no key opens is reported
by participant id and left as it is; the command goes on with the others.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from sync import crypto
from sync.models import Participant

FIELDS = ("access_token_encrypted", "refresh_token_encrypted")


class Command(BaseCommand):
    help = "Re-encrypt every stored Strava token with the first FIELD_ENCRYPTION_KEY."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--from-secret-key",
            action="store_true",
            help="also decrypt tokens stored with the SECRET_KEY-derived development key",
        )

    def handle(self, *args, from_secret_key: bool = False, **options) -> None:
        rotated, failed = 0, []
        ids = list(Participant.objects.order_by("pk").values_list("pk", flat=True))
        for pk in ids:
            with transaction.atomic():
                p = Participant.objects.select_for_update().filter(pk=pk).first()
                if p is None:
                    continue
                try:
                    new = {f: crypto.rotate(getattr(p, f), with_derived=from_secret_key) for f in FIELDS}
                except crypto.TokenDecryptError:
                    failed.append(pk)
                    continue
                Participant.objects.filter(pk=pk).update(**new)
                rotated += 1
        self.stdout.write(f"Rotated the tokens of {rotated} participant(s).")
        if failed:
            raise CommandError(
                f"{len(failed)} participant(s) have tokens no configured key decrypts "
                f"(ids {', '.join(map(str, failed[:50]))}); they were left unchanged. "
                "Add the old key to FIELD_ENCRYPTION_KEY (or pass --from-secret-key) and run again, "
                "or have those athletes reconnect."
            )
