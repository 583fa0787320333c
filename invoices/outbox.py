"""EMAIL_PROVIDER=outbox (`make run`'s default): every e-mail is written as one .eml file under
EMAIL_OUTBOX_DIR (var/outbox), and the admin's Outbox page shows them: headers, the text and HTML
parts, and the attachments (the invoice PDF) to download. A newcomer sees exactly what a customer
would receive, pay link included, without an SMTP server; nothing leaves the machine.

Unlike Django's file backend (several messages appended to one log per connection), one file per
message can be listed, opened and parsed back on its own.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage as ParsedMessage
from email.message import Message
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage
from django.utils import timezone

_NAME = re.compile(r"^\d{8}T\d{6}\.\d{6}-[0-9a-f]{32}\.eml$")


def outbox_dir() -> Path:
    path = Path(settings.EMAIL_OUTBOX_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


class OutboxEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        sent = 0
        for message in email_messages:
            if not message.recipients():
                continue
            name = f"{timezone.now():%Y%m%dT%H%M%S.%f}-{uuid.uuid4().hex}.eml"
            tmp = outbox_dir() / f".{name}.tmp"
            tmp.write_bytes(message.message().as_bytes(linesep="\n"))
            tmp.rename(outbox_dir() / name)  # a reader never sees half a file
            # Our own attribute, not one Django declares: invoices.sending reads it back with getattr.
            setattr(message, "provider_message_id", f"outbox:{name}")  # noqa: B010
            sent += 1
        return sent


@dataclass
class OutboxItem:
    name: str
    message: ParsedMessage

    @property
    def subject(self) -> str:
        return str(self.message.get("Subject", ""))

    @property
    def to(self) -> str:
        return str(self.message.get("To", ""))

    @property
    def date(self) -> str:
        return str(self.message.get("Date", ""))

    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content() if part else ""

    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        return part.get_content() if part else ""

    def attachments(self) -> list[tuple[str, str, bytes]]:
        """(filename, content type, bytes) of each attachment."""
        return [
            (a.get_filename() or "attachment", a.get_content_type(), _payload_bytes(a))
            for a in self.message.iter_attachments()
        ]


def _payload_bytes(part: Message) -> bytes:
    """An attachment's decoded bytes (b"" for none): with decode=True, get_payload returns bytes or
    None (for a multipart part), though typeshed also allows a Message."""
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def outbox_list(*, limit: int = 200) -> list[OutboxItem]:
    """Newest first."""
    names = sorted((p.name for p in outbox_dir().iterdir() if _NAME.match(p.name)), reverse=True)
    return [item for name in names[:limit] if (item := outbox_get(name=name)) is not None]


def outbox_get(*, name: str) -> OutboxItem | None:
    """One message by file name; None for a name that is not an outbox file (no path tricks)."""
    if not _NAME.match(name):
        return None
    path = outbox_dir() / name
    if not path.is_file():
        return None
    return OutboxItem(name, message_from_bytes(path.read_bytes(), policy=policy.default))
