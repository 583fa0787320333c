"""The poll against a moto SQS queue, the settings API, the beat row, the commands."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django_celery_beat.models import PeriodicTask

from emails import compat, config, polling, sqs
from emails.models import EmailEvent, EmailSettings
from tests.emails import payloads as p
from tests.emails.conftest import depth, put

pytestmark = pytest.mark.django_db
SEED_KEYS = {
    "enabled",
    "interval_ms",
    "pending_jobs",
    "last_run",
    "queue_url",
    "aws_region",
    "max_messages_per_poll",
    "system_enabled",
    "ses_events_enabled",
    "quarantined",
}


def beat_row() -> PeriodicTask:
    return PeriodicTask.objects.select_related("interval").get(name=config.PERIODIC_TASK_NAME)


def test_a_poll_records_everything_and_empties_the_queue(queue_url):
    from project import aws

    aws.client("sns").create_topic(Name=p.TOPIC.rsplit(":", 1)[1])  # the confirmation's topic
    polling.enable_polling(first_poll=False)
    bodies = p.mixed(24) + [p.VALIDATION_TEXT, p.subscription_confirmation(), "garbage"]
    put(queue_url, bodies)

    result = polling.poll_sync()

    assert result == {"received": 27, "recorded": 24, "duplicates": 0, "quarantined": 1, "ignored": 2}
    assert depth(queue_url) == 0
    s = polling.status()
    assert s["quarantined"] == 1 and s["last_run"] is not None
    assert s["totals"]["received"] == 27 and s["last_result"] == result


def test_the_same_sns_message_delivered_twice_records_one_event(queue_url):
    polling.enable_polling(first_poll=False)
    body = p.sns(p.ses_event("Bounce", "m1"), message_id="sns-twice")
    put(queue_url, [body])
    first = polling.poll_sync()
    put(queue_url, [body])  # SNS/SQS at-least-once: it comes again
    second = polling.poll_sync()

    assert (first["recorded"], second["recorded"], second["duplicates"]) == (1, 0, 1)
    assert EmailEvent.objects.count() == 1 and depth(queue_url) == 0


def test_a_disabled_poll_skips_and_leaves_messages_in_the_queue(queue_url):
    polling.enable_polling(first_poll=False)
    polling.disable_polling()
    put(queue_url, [p.raw(p.ses_event("Send", "m"))])

    result = polling.poll_sync()

    assert result["skipped"] == "SQS polling disabled" and result["received"] == 0
    assert depth(queue_url) == 1


def test_a_changed_setting_applies_at_the_next_poll(queue_url, aws):
    polling.enable_polling(first_poll=False)
    other = sqs.client("us-east-1").create_queue(QueueName="ses-other")["QueueUrl"]
    put(other, [p.raw(p.ses_event("Delivery", "elsewhere"))])
    assert polling.poll_sync()["received"] == 0

    polling.configure(queue_url=other)

    assert polling.poll_sync()["recorded"] == 1


@pytest.mark.django_db(transaction=True)
def test_messages_are_deleted_only_after_their_events_are_committed(queue_url, settings):
    settings.SES_EVENTS_VISIBILITY_TIMEOUT = 0  # a failed poll's messages come straight back
    polling.enable_polling(first_poll=False)
    put(queue_url, [p.sns(p.ses_event("Delivery", f"m{i}")) for i in range(5)])
    with connection.cursor() as cur:  # break the database for event inserts
        cur.execute("""CREATE FUNCTION emails_test_refuse() RETURNS trigger AS $$
                       BEGIN RAISE EXCEPTION 'disk on fire'; END $$ LANGUAGE plpgsql;
                       CREATE TRIGGER emails_test_refuse BEFORE INSERT ON emails_emailevent
                       FOR EACH ROW EXECUTE FUNCTION emails_test_refuse();""")
    try:
        with pytest.raises(Exception, match="disk on fire"):
            polling.poll_sync()
        assert depth(queue_url) == 5 and EmailEvent.objects.count() == 0
    finally:
        with connection.cursor() as cur:
            cur.execute(
                "DROP TRIGGER emails_test_refuse ON emails_emailevent;DROP FUNCTION emails_test_refuse();"
            )

    assert polling.poll_sync()["recorded"] == 5
    assert depth(queue_url) == 0


# -- settings through the API ----------------------------------------------------------------
def test_enable_disable_and_retime_update_the_beat_row(queue_url):
    polling.enable_polling(first_poll=False)
    assert beat_row().enabled and beat_row().queue == "sqs_polling"

    polling.set_polling_interval(3000)
    assert beat_row().interval.every == 3 and beat_row().interval.period == "seconds"

    polling.disable_polling()
    assert not beat_row().enabled and polling.status()["enabled"] is False

    polling.enable_polling(first_poll=False)
    polling.configure(ses_events_enabled=False)  # any switch off stops beat
    assert not beat_row().enabled and polling.status()["enabled"] is True


@pytest.mark.parametrize("ms, seconds", [(1000, 1), (1499, 1), (1500, 2), (2400, 2), (60_000, 60)])
def test_interval_milliseconds_round_to_the_nearest_second(queue_url, ms, seconds):
    polling.set_polling_interval(ms)
    assert beat_row().interval.every == seconds
    assert polling.status()["interval_ms"] == ms


@pytest.mark.parametrize(
    "call, field",
    [
        (lambda: polling.set_polling_interval(999), "polling_interval_ms"),
        (lambda: polling.set_polling_interval("5000"), "polling_interval_ms"),
        (lambda: polling.set_max_messages(0), "max_messages_per_poll"),
        (lambda: polling.set_max_messages(11), "max_messages_per_poll"),
        (lambda: polling.configure(aws_region="mars"), "aws_region"),
        (lambda: polling.configure(queue_url="not a url"), "queue_url"),
        (lambda: polling.configure(aws_secret_access_key="x"), "aws_secret_access_key"),
    ],
)
def test_invalid_values_raise_a_clear_error_and_change_nothing(queue_url, call, field):
    polling.set_polling_interval(4000)
    before = EmailSettings.objects.values().get()
    row = beat_row()

    with pytest.raises(polling.EmailSettingsError) as err:
        call()

    assert field in err.value.errors and field in str(err.value)
    assert EmailSettings.objects.values().get() == before
    assert beat_row().interval_id == row.interval_id and beat_row().enabled == row.enabled


def test_polling_cannot_be_enabled_without_a_queue_url(db):
    with pytest.raises(polling.EmailSettingsError, match="queue URL"):
        polling.enable_polling()
    assert not EmailSettings.objects.filter(sqs_polling_enabled=True).exists()


def test_status_has_the_seeds_keys(queue_url):
    s = polling.status()
    assert SEED_KEYS <= set(s)
    assert s["queue_url"] == queue_url and s["max_messages_per_poll"] == 10


def test_troubleshooting_helpers_mask_the_secret(queue_url):
    cfg = compat.get_sqs_config()
    assert compat.enabled() and compat.ses_events_enabled() and not compat.sqs_polling_enabled()
    assert compat.get_sqs_queue_url() == queue_url and compat.aws_configured()
    assert cfg["aws_access_key_id"].startswith("AKIA") and "TEST1234" not in str(cfg)
    assert "test-secret-not-real" not in json.dumps(cfg)


# -- management commands -----------------------------------------------------------------------
def run(*args: str) -> str:
    out = io.StringIO()
    call_command("sqs_polling", *args, stdout=out)
    return out.getvalue()


def test_the_command_switches_and_retimes_polling(queue_url):
    run("enable")
    assert beat_row().enabled
    run("set-interval", "7000")
    assert beat_row().interval.every == 7
    run("disable")
    assert not beat_row().enabled
    status = json.loads(run("status", "--json"))
    assert SEED_KEYS <= set(status) and status["enabled"] is False
    assert status["interval_ms"] == 7000

    with pytest.raises(CommandError, match="polling_interval_ms"):
        run("set-interval", "10")
    assert beat_row().interval.every == 7


def test_poll_now_sync_prints_one_json_line_whose_counts_add_up(queue_url):
    run("enable")
    put(
        queue_url,
        p.mixed(8)
        + [
            p.VALIDATION_TEXT,
            "{",
            p.sns(p.ses_event("Open", "x"), "d"),
            p.sns(p.ses_event("Open", "x"), "d"),
        ],
    )

    last = run("poll-now", "--sync").strip().splitlines()[-1]

    counts = json.loads(last)
    assert list(counts) == ["received", "recorded", "duplicates", "quarantined", "ignored"]
    assert counts == {"received": 12, "recorded": 9, "duplicates": 1, "quarantined": 1, "ignored": 1}
    assert counts["received"] == sum(v for k, v in counts.items() if k != "received")


def test_setup_ses_queue_creates_queue_and_dlq_idempotently(aws, db):
    out1, out2 = io.StringIO(), io.StringIO()
    call_command("setup_ses_queue", "--name", "ses-setup-test", stdout=out1)
    call_command("setup_ses_queue", "--name", "ses-setup-test", stdout=out2)

    url = out1.getvalue().strip().splitlines()[-1]
    assert url == out2.getvalue().strip().splitlines()[-1]
    assert url.startswith(aws) and url.endswith("/ses-setup-test")
    attrs = sqs.queue_attributes(queue_url=url, region="us-east-1")
    redrive = json.loads(attrs["RedrivePolicy"])
    assert int(redrive["maxReceiveCount"]) == 5
    assert redrive["deadLetterTargetArn"].endswith(":ses-setup-test-dlq")
    assert compat.get_sqs_queue_url() == url


def test_health_fails_only_when_polling_is_on_and_polls_have_stopped(queue_url):
    import time_machine

    from emails.apps import ses_polling_health

    assert ses_polling_health()["ok"]  # off: nothing expected
    polling.enable_polling(first_poll=False)
    assert not ses_polling_health()["ok"]  # on, never polled
    polling.poll_sync()
    assert ses_polling_health()["ok"]
    with time_machine.travel(polling.status()["last_run"] + timedelta(minutes=10)):
        report = ses_polling_health()
    assert not report["ok"] and report["age_s"] >= 600


def test_status_counts_the_next_poll_waiting_and_says_when(queue_url):
    from django.utils import timezone

    # off: nothing waits, no next poll
    s = polling.status()
    assert s["pending_jobs"] == 0 and s["next_poll_at"] is None
    # on, between beat ticks: beat's next tick is the poll waiting (the seed shows 1)
    polling.enable_polling(first_poll=False)
    polling.set_polling_interval(5000)
    beat = beat_row()
    beat.last_run_at = timezone.now() - timedelta(seconds=2)
    beat.save()
    s = polling.status()
    assert s["pending_jobs"] == 1
    assert abs((s["next_poll_at"] - (beat.last_run_at + timedelta(seconds=5))).total_seconds()) < 0.01
    # a poll queued now (poll_now) is that next poll: still 1, due now
    before = timezone.now()
    polling.poll_now()
    s = polling.status()
    assert s["pending_jobs"] == 1 and before - timedelta(seconds=1) <= s["next_poll_at"] <= timezone.now()
    # switched off again: 0 once nothing is queued
    polling.disable_polling()
    from jobs import Job

    Job.objects.filter(task=config.POLL_TASK).delete()
    assert polling.status()["pending_jobs"] == 0 and polling.status()["next_poll_at"] is None
