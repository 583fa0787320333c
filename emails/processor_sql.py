"""The SQL of recording SES events: insert each event once, upsert its e-mail log row.

One merge rule, in SQL only: the ON CONFLICT upsert below (status rank only rises, first-times
only get earlier, counts add up, source and destination filled once). Several events for one
message in a batch are applied in rounds (the k-th event of each message in round k), since one
statement cannot update a row twice; nothing merges rows in Python. PostgreSQL gets array
parameters (unnest) for speed; any other database (SQLite under `make run`) the same statements
with placeholders. Table and column names come from the models' _meta.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Field, Model
from django.utils import timezone

from emails.models import RANK, EmailEvent, EmailLog, EmailStatus, EventType
from emails.parsing import Event
from emails.sqs import SqsMessage

CHUNK = 500

# Keyed by str: Event.event_type is a plain str, and an EventType member equals (and hashes as) its value.
STATUS_FOR: dict[str, EmailStatus] = {
    EventType.SEND: EmailStatus.SENT,
    EventType.SUBSCRIPTION: EmailStatus.SENT,
    EventType.DELIVERY_DELAY: EmailStatus.DELIVERY_DELAYED,
    EventType.DELIVERY: EmailStatus.DELIVERED,
    EventType.OPEN: EmailStatus.DELIVERED,  # an open proves delivery, never more
    EventType.CLICK: EmailStatus.DELIVERED,
    EventType.REJECT: EmailStatus.REJECTED,
    EventType.RENDERING_FAILURE: EmailStatus.RENDERING_FAILED,
    EventType.BOUNCE: EmailStatus.BOUNCED,
    EventType.COMPLAINT: EmailStatus.COMPLAINED,
}
FIRST_AT: dict[str, str] = {  # event type -> the log column holding its first occurrence
    EventType.DELIVERY: "delivered_at",
    EventType.BOUNCE: "bounced_at",
    EventType.COMPLAINT: "complained_at",
    EventType.OPEN: "first_opened_at",
    EventType.CLICK: "first_clicked_at",
}
MIN_COLS = ("sent_at", "delivered_at", "bounced_at", "complained_at", "first_opened_at", "first_clicked_at")


def events_insert(rows: list[tuple[SqsMessage, Event]]) -> set[str]:
    """INSERT … ON CONFLICT DO NOTHING RETURNING: the keys that were new (not duplicates)."""
    if connection.vendor == "postgresql":
        return _insert_events_pg(rows)
    return _insert_events(rows)


def _event_fields(m: SqsMessage, e: Event) -> dict[str, Any]:
    return {
        "sqs_message_id": m.message_id[:100],
        "ses_message_id": e.ses_message_id,
        "event_type": e.event_type,
        "sub_type": e.sub_type,
        "recipient": e.recipients[0] if e.recipients else "",
        "recipients": e.recipients,
        "occurred_at": e.occurred_at,
        "format": e.format,
        "delivery": e.delivery,
        "payload": e.payload,
    }


def _fields(model: type[Model], names: Iterable[str]) -> list[Field[Any, Any]]:
    """The named concrete fields (get_field may also return a relation or a generic key)."""
    fields: list[Field[Any, Any]] = []
    for n in names:
        f = model._meta.get_field(n)
        if not isinstance(f, Field):
            raise TypeError(f"{model.__name__}.{n} is not a concrete field")
        fields.append(f)
    return fields


def _insert_events(rows: list[tuple[SqsMessage, Event]]) -> set[str]:
    fields = _fields(
        EmailEvent,
        (
            "sns_message_id",
            "sqs_message_id",
            "ses_message_id",
            "event_type",
            "sub_type",
            "recipient",
            "recipients",
            "occurred_at",
            "format",
            "delivery",
            "payload",
            "received_at",
        ),
    )
    now = timezone.now()
    inserted: set[str] = set()
    table, cols = EmailEvent._meta.db_table, ", ".join(f.column for f in fields)
    for start in range(0, len(rows), CHUNK):
        params: list[Any] = []
        chunk = rows[start : start + CHUNK]
        for m, e in chunk:
            values = {"sns_message_id": e.sns_message_id, "received_at": now, **_event_fields(m, e)}
            params += [f.get_db_prep_save(values[f.name], connection) for f in fields]
        one = "(" + ", ".join(["%s"] * len(fields)) + ")"
        sql = (
            f"INSERT INTO {table} ({cols}) VALUES {', '.join([one] * len(chunk))} "
            f"ON CONFLICT (sns_message_id) DO NOTHING RETURNING sns_message_id"
        )
        with connection.cursor() as cur:
            cur.execute(sql, params)
            inserted.update(r[0] for r in cur.fetchall())
    return inserted


_EVENT_PG = """
INSERT INTO {table} (sns_message_id, sqs_message_id, ses_message_id, event_type,
    sub_type, recipient, recipients, occurred_at, format, delivery, payload, received_at)
SELECT k, q, m, t, st, r, rs::jsonb, o::timestamptz, f, d, pl::jsonb, now()
FROM unnest(%b::text[], %b::text[], %b::text[], %b::text[], %b::text[], %b::text[],
            %b::text[], %b::text[], %b::text[], %b::text[], %b::text[])
     AS u(k, q, m, t, st, r, rs, o, f, d, pl)
ON CONFLICT (sns_message_id) DO NOTHING RETURNING sns_message_id
"""


def _insert_events_pg(rows: list[tuple[SqsMessage, Event]]) -> set[str]:
    """PostgreSQL: eleven array parameters instead of thousands of placeholders, and the
    payload passed as the JSON text it arrived as (2-3x less time in the driver)."""
    cols: list[list[Any]] = [[] for _ in range(11)]
    for m, e in rows:
        values = (
            e.sns_message_id,
            m.message_id[:100],
            e.ses_message_id,
            e.event_type,
            e.sub_type,
            e.recipients[0] if e.recipients else "",
            json.dumps(e.recipients),
            e.occurred_at.isoformat(),
            e.format,
            e.delivery,
            e.payload_json or json.dumps(e.payload),
        )
        for col, v in zip(cols, values, strict=True):
            col.append(v)
    sql = _EVENT_PG.format(table=EmailEvent._meta.db_table)
    return {r[0] for r in _pg_execute(sql, cols, returning=True)}


def _pg_execute(sql: str, params: list[Any], *, returning: bool = False) -> list[tuple]:
    """Run on the psycopg connection with server-side binding and binary (%b) parameters:
    Django's default client-side binding quotes and escapes every array element in Python."""
    import psycopg

    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cur:
        cur.execute(sql, params)
        return cur.fetchall() if returning else []


# -- the e-mail log ------------------------------------------------------------------------
def _delta(e: Event) -> dict[str, Any]:
    """What one event says about its e-mail, in EmailLog's columns."""
    status = STATUS_FOR[e.event_type]
    d: dict[str, Any] = {
        "status": status,
        "status_rank": RANK[status],
        "source": e.source,
        "destination": e.destination,
        "sent_at": e.sent_at,
        "last_event_at": e.occurred_at,
        "open_count": 1 if e.event_type == EventType.OPEN else 0,
        "click_count": 1 if e.event_type == EventType.CLICK else 0,
    }
    for col in MIN_COLS[1:]:
        d[col] = None
    if e.event_type in FIRST_AT:
        d[FIRST_AT[e.event_type]] = e.occurred_at
    return d


def logs_upsert(events: Iterable[Event]) -> None:
    """Apply each event to its log row through the one SQL rule, in rounds (see above)."""
    rounds: list[dict[str, dict[str, Any]]] = []
    seen: dict[str, int] = {}
    for e in events:
        k = seen.get(e.ses_message_id, 0)
        seen[e.ses_message_id] = k + 1
        if k == len(rounds):
            rounds.append({})
        rounds[k][e.ses_message_id] = _delta(e)
    for deltas in rounds:
        _upsert(sorted(deltas.items()))  # one lock order for every writer


def _merge_sets(t: str, pg: bool) -> list[str]:
    least, greatest = ("LEAST", "GREATEST") if pg else ("MIN", "MAX")
    length = "jsonb_array_length" if pg else "json_array_length"
    return [
        f"status = CASE WHEN EXCLUDED.status_rank > {t}.status_rank THEN EXCLUDED.status ELSE {t}.status END",
        f"status_rank = {greatest}({t}.status_rank, EXCLUDED.status_rank)",
        *(
            f"{c} = {least}(COALESCE({t}.{c}, EXCLUDED.{c}), COALESCE(EXCLUDED.{c}, {t}.{c}))"
            for c in MIN_COLS
        ),
        f"last_event_at = {greatest}(COALESCE({t}.last_event_at, EXCLUDED.last_event_at), "
        "EXCLUDED.last_event_at)",
        f"open_count = {t}.open_count + EXCLUDED.open_count",
        f"click_count = {t}.click_count + EXCLUDED.click_count",
        f"source = CASE WHEN {t}.source = '' THEN EXCLUDED.source ELSE {t}.source END",
        f"destination = CASE WHEN {length}({t}.destination) = 0 THEN EXCLUDED.destination "
        f"ELSE {t}.destination END",
        "updated_at = EXCLUDED.updated_at",
    ]


NAMES = [
    "ses_message_id",
    "status",
    "status_rank",
    "source",
    "destination",
    *MIN_COLS,
    "last_event_at",
    "open_count",
    "click_count",
]


def _upsert(items: list[tuple[str, dict[str, Any]]]) -> None:
    if not items:
        return
    pg = connection.vendor == "postgresql"
    t = EmailLog._meta.db_table
    sets = _merge_sets(t, pg)
    if pg:
        _upsert_logs_pg(items, sets)
        return
    fields = _fields(EmailLog, [*NAMES, "created_at", "updated_at"])
    now = timezone.now()
    for start in range(0, len(items), CHUNK):
        chunk = items[start : start + CHUNK]
        params: list[Any] = []
        for ses_id, d in chunk:
            row = {**d, "ses_message_id": ses_id, "created_at": now, "updated_at": now}
            params += [f.get_db_prep_save(row[f.name], connection) for f in fields]
        one = "(" + ", ".join(["%s"] * len(fields)) + ")"
        sql = (
            f"INSERT INTO {t} ({', '.join(f.column for f in fields)}) VALUES "
            f"{', '.join([one] * len(chunk))} ON CONFLICT (ses_message_id) DO UPDATE SET " + ", ".join(sets)
        )
        with connection.cursor() as cur:
            cur.execute(sql, params)


def _upsert_logs_pg(items: list[tuple[str, dict[str, Any]]], sets: list[str]) -> None:
    """PostgreSQL: the same upsert from arrays (see _insert_events_pg)."""
    text_cols = ["ses_message_id", "status", "source", "destination", *MIN_COLS, "last_event_at"]
    int_cols = ["status_rank", "open_count", "click_count"]
    cols: dict[str, list[Any]] = {c: [] for c in text_cols + int_cols}
    for ses_id, d in items:
        row = {**d, "ses_message_id": ses_id, "destination": json.dumps(d["destination"])}
        for c in text_cols:
            v = row[c]
            cols[c].append(v.isoformat() if isinstance(v, datetime) else v)
        for c in int_cols:
            cols[c].append(int(row[c]))
    casts = {"destination": "::jsonb", **{c: "::timestamptz" for c in (*MIN_COLS, "last_event_at")}}
    names = text_cols + int_cols
    select = ", ".join(f"u.{c}{casts.get(c, '')}" for c in names)
    arrays = ", ".join(["%b::text[]"] * len(text_cols) + ["%b::int[]"] * len(int_cols))
    sql = (
        f"INSERT INTO {EmailLog._meta.db_table} ({', '.join(names)}, created_at, updated_at) "
        f"SELECT {select}, now(), now() FROM unnest({arrays}) AS u({', '.join(names)}) "
        "ON CONFLICT (ses_message_id) DO UPDATE SET " + ", ".join(sets)
    )
    _pg_execute(sql, [cols[c] for c in names])
