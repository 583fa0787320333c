"""`manage.py rotate_tokens`: re-encrypt every encrypted column (project.crypto.ENCRYPTED_COLUMNS:
Strava tokens, Slack installations' tokens, jobs' encrypted arguments) with the first key of
FIELD_ENCRYPTION_KEY, then check that the first key alone opens every stored value.

Rotation steps (docs/sync.md): prepend the new key (`NEW,OLD`), deploy, run this command, run
`rotate_tokens --check` (it exits non-zero, naming how many rows per table still need an older
key, until none does), then drop OLD. `--from-secret-key` also reads rows stored with the
SECRET_KEY-derived development key. A value no key opens is reported by row id and left as it
is; the command goes on with the others. Each value is replaced only if it is still the one read
(a conditional update), so a concurrent writer — which writes with the first key — never loses
its value and no row is locked longer than one statement.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from cryptography.fernet import InvalidToken
from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q

from project.crypto import (
    ENCRYPTED_COLUMNS,
    CiphertextUnreadable,
    EncryptedColumns,
    ciphertext_rotate,
    on_primary,
)
from project.crypto import fernet as crypto_fernet

BATCH = 500


@dataclass
class Tally:
    rotated: int = 0  # rows re-encrypted now
    current: int = 0  # rows already on the first key
    older: list[Any] = field(default_factory=list)  # rows an older key still opens (check)
    unreadable: list[Any] = field(default_factory=list)  # rows no configured key opens


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted column with the first FIELD_ENCRYPTION_KEY; "
        "--check: say whether the older keys may be dropped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--from-secret-key",
            action="store_true",
            help="also decrypt values stored with the SECRET_KEY-derived development key",
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help="change nothing; fail, naming the rows per table, while any value still needs an "
            "older key (drop a key only after this passes)",
        )

    def handle(self, *args: Any, from_secret_key: bool = False, check: bool = False, **options: Any) -> None:
        if not check:
            rotated = {c.model: _rotate(c, with_derived=from_secret_key) for c in ENCRYPTED_COLUMNS}
            for model, t in rotated.items():
                self.stdout.write(f"{model}: re-encrypted {t.rotated} row(s), {t.current} already current.")
            lost = {m: t.unreadable for m, t in rotated.items() if t.unreadable}
            if lost:
                raise CommandError(
                    "Values no configured key decrypts were left unchanged: "
                    + "; ".join(f"{m} {len(ids)} row(s) (ids {_ids(ids)})" for m, ids in lost.items())
                    + ". Add the old key to FIELD_ENCRYPTION_KEY (or pass --from-secret-key) and run "
                    "again; otherwise Strava athletes reconnect, Slack is reinstalled, and such jobs "
                    "cannot run again."
                )
        checked = {c.model: _check(c, with_derived=from_secret_key) for c in ENCRYPTED_COLUMNS}
        for model, t in checked.items():
            if t.unreadable:  # lost already, whichever key is dropped: said, not a reason to wait
                self.stderr.write(
                    f"{model}: {len(t.unreadable)} row(s) no configured key opens (ids {_ids(t.unreadable)})."
                )
        older = {m: t.older for m, t in checked.items() if t.older}
        if older:
            raise CommandError(
                f"{sum(map(len, older.values()))} row(s) still need an older key: do not drop it yet ("
                + "; ".join(f"{m} {len(ids)} row(s)" for m, ids in older.items())
                + "). Run `manage.py rotate_tokens`, then check again."
            )
        self.stdout.write("Every stored value opens with the first key alone: older keys may be dropped.")


def _rows(columns: EncryptedColumns) -> Iterator[tuple[Any, dict[str, str]]]:
    """(pk, {field: stored}) of rows holding any value, by primary key in batches (the job
    table may be large: never all of it in memory)."""
    model = apps.get_model(columns.model)
    holding = Q()
    for name in columns.fields:
        holding |= Q(**{f"{name}__gt": ""})
    last = None
    while True:
        qs = model._default_manager.filter(holding).order_by("pk")
        if last is not None:
            qs = qs.filter(pk__gt=last)
        batch = list(qs.values_list("pk", *columns.fields)[:BATCH])
        for pk, *values in batch:
            yield pk, {n: v for n, v in zip(columns.fields, values, strict=True) if v}
        if len(batch) < BATCH:
            return
        last = batch[-1][0]


def _rotate(columns: EncryptedColumns, *, with_derived: bool) -> Tally:
    model = apps.get_model(columns.model)
    tally = Tally()
    for pk, values in _rows(columns):
        stale = {n: v for n, v in values.items() if not on_primary(v, purpose=columns.purpose)}
        if not stale:
            tally.current += 1
            continue
        try:
            new = {
                n: ciphertext_rotate(v, purpose=columns.purpose, with_derived=with_derived)
                for n, v in stale.items()
            }
        except CiphertextUnreadable:
            tally.unreadable.append(pk)
            continue
        for name, value in new.items():  # only if unchanged meanwhile (a writer uses the first key)
            model._default_manager.filter(pk=pk, **{name: stale[name]}).update(**{name: value})
        tally.rotated += 1
    return tally


def _check(columns: EncryptedColumns, *, with_derived: bool) -> Tally:
    configured = crypto_fernet(columns.purpose, with_derived=with_derived)
    tally = Tally()
    for pk, values in _rows(columns):
        stale = [v for v in values.values() if not on_primary(v, purpose=columns.purpose)]
        if not stale:
            tally.current += 1
            continue
        try:
            for value in stale:
                configured.decrypt(value.encode())
        except InvalidToken:  # not even the older keys open it
            tally.unreadable.append(pk)
        else:
            tally.older.append(pk)
    return tally


def _ids(ids: list[Any]) -> str:
    shown = ", ".join(map(str, ids[:20]))
    return shown + (f" and {len(ids) - 20} more" if len(ids) > 20 else "")
