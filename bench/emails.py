"""SES event processing: the bulk processor against a one-row-at-a-time version of itself,
and the whole path through a moto SQS queue.

Figures (medians of 3 runs):
- ses.processor_events_per_s: 5,000 mixed SES events (half SNS-wrapped, half raw) into
  PostgreSQL through `ses_messages_process`, in batches of 500, no SQS.
- ses.processor_ratio_vs_row_at_a_time: the same against `ses_message_record` per message.
- ses.pipeline_events_per_s: poll time (receive + record + delete) through a moto SQS queue, fed
  50 messages at a time so moto's queue stays shallow (moto slows sharply as it deepens); this
  figure is moto-bound and for the record.
"""

from __future__ import annotations

import os
import socket
import time
import uuid

from bench.common import figure, median_of, setup_django

EVENTS = 5_000
ROW_EVENTS = 1_000  # the slow baseline measures fewer, as a rate
BATCH = 500
PIPELINE_EVENTS = 1_000
FEED = 50


def _clean() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "TRUNCATE emails_emailevent, emails_emaillog, emails_suppression, emails_quarantinedmessage"
        )


def _messages(n: int, seed: int) -> list:
    from emails.sqs import SqsMessage
    from tests.emails.payloads import mixed

    return [SqsMessage(str(uuid.uuid4()), "rh", b) for b in mixed(n, seed=seed)]


def _bulk_rate(seed: int) -> float:
    from emails.processor import ses_messages_process

    _clean()
    messages = _messages(EVENTS, seed)
    started = time.perf_counter()
    recorded = 0
    for i in range(0, len(messages), BATCH):
        recorded += ses_messages_process(messages=messages[i : i + BATCH]).recorded
    elapsed = time.perf_counter() - started
    assert recorded == EVENTS, recorded
    return EVENTS / elapsed


def _row_rate(seed: int) -> float:
    from emails.processor import ses_message_record

    _clean()
    messages = _messages(ROW_EVENTS, seed)
    started = time.perf_counter()
    outcomes = [ses_message_record(message=m) for m in messages]
    elapsed = time.perf_counter() - started
    assert outcomes.count("recorded") == ROW_EVENTS
    return ROW_EVENTS / elapsed


def _pipeline_rate(endpoint: str, seed: int) -> float:
    from emails import polling, sqs
    from emails.config import email_settings_update
    from tests.emails.payloads import mixed

    _clean()
    url = sqs.client("us-east-1").create_queue(QueueName=f"bench-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    email_settings_update(
        queue_url=url,
        aws_region="us-east-1",
        sqs_polling_enabled=True,
        wait_time_seconds=0,
        max_messages_per_poll=10,
    )
    bodies = mixed(PIPELINE_EVENTS, seed=seed)
    polled, recorded = 0.0, 0
    for i in range(0, len(bodies), FEED):
        sqs.send(queue_url=url, region="us-east-1", bodies=bodies[i : i + FEED])
        started = time.perf_counter()
        recorded += polling.poll_sync()["recorded"]
        polled += time.perf_counter() - started
    assert recorded == PIPELINE_EVENTS, recorded
    return PIPELINE_EVENTS / polled


def run() -> list[dict]:
    setup_django()
    from django.conf import settings
    from moto.server import ThreadedMotoServer

    from project import aws

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    settings.AWS_ENDPOINT_URL, settings.AWS_REGION = f"http://127.0.0.1:{port}", "us-east-1"
    aws.clients_reset()
    try:
        seeds = iter(range(1, 100))
        bulk = median_of(3, lambda: _bulk_rate(next(seeds)))
        row = median_of(3, lambda: _row_rate(next(seeds)))
        pipeline = median_of(3, lambda: _pipeline_rate(settings.AWS_ENDPOINT_URL, next(seeds)))
    finally:
        server.stop()
        _clean()
    return [
        figure("ses.processor_events_per_s", bulk, "events/s"),
        figure("ses.pipeline_events_per_s", pipeline, "events/s"),
        figure("ses.processor_ratio_vs_row_at_a_time", bulk / row, "x"),
        figure("ses.row_at_a_time_events_per_s", row, "events/s"),
    ]
