from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from django.conf import settings

from jobs.models import Job, JobState
from tests.helpers import wait_for
from tests.jobs.tasks import unique_job


@pytest.mark.django_db(transaction=True)
def test_200_enqueues_from_8_threads_run_once(celery_worker):
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: unique_job.enqueue(n=7), range(200)))

    ids = {r.job_id for r in results}
    assert len(ids) == 1
    assert sum(not r.duplicate for r in results) == 1
    r = redis.Redis.from_url(settings.REDIS_URL)
    wait_for(lambda: Job.objects.filter(state=JobState.SUCCEEDED).exists(), 20, message="run")
    assert r.lrange("test:unique_runs", 0, -1) == [b"7"]
    assert Job.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_other_arguments_are_another_job(celery_worker):
    a, b = unique_job.enqueue(n=1), unique_job.enqueue(n=2)
    assert a.job_id != b.job_id and not a.duplicate and not b.duplicate


def test_sensitive_arguments_are_hidden_from_history_and_monitoring(transactional_db):
    import base64
    import json

    import redis
    from django.conf import settings

    from jobs import job
    from jobs.models import Job
    from jobs.table.payload import payload_real

    @job(name="tests.secretive", queue="events", sensitive=("text",))  # a declared queue
    def secretive(text: str, api_token: str, channel: str) -> None: ...

    enq = secretive.enqueue(text="mail me at jan@example.com", api_token="xoxb-123", channel="C1")
    row = Job.objects.get(pk=enq.job_id)
    assert row.kwargs == {"text": "[filtered]", "api_token": "[filtered]", "channel": "C1"}
    # The message Redis holds (and Flower and events show) carries no secret, in body or headers.
    raw = redis.Redis.from_url(settings.REDIS_URL).lrange("events", 0, -1)
    assert len(raw) == 1
    message = json.loads(raw[0])
    shown = json.dumps(message) + base64.b64decode(message["body"]).decode()
    assert "jan@example.com" not in shown and "xoxb-123" not in shown
    assert "[filtered]" in message["headers"]["kwargsrepr"] and "C1" in message["headers"]["kwargsrepr"]
    # The real arguments are kept, encrypted, for a rescue or a retry.
    assert row.secret_payload and "jan@example.com" not in row.secret_payload
    assert payload_real(row.args, row.kwargs, row.secret_payload)[1]["text"] == "mail me at jan@example.com"


@pytest.mark.django_db(transaction=True)
def test_unique_until_done_frees_the_key_when_the_job_ends(celery_worker):
    from tests.jobs.tasks import unique_until_done_job

    first = unique_until_done_job.enqueue(n=1)
    assert unique_until_done_job.enqueue(n=1).duplicate  # still waiting or running
    wait_for(
        lambda: Job.objects.filter(pk=first.job_id, state=JobState.SUCCEEDED).exists(),
        20,
        message="first run",
    )
    second = unique_until_done_job.enqueue(n=1)
    assert not second.duplicate and second.job_id != first.job_id


@pytest.mark.parametrize("stored", ["not json", '{"args": 1}', "[1, 2, 3]", "[[1], 2]"])
def test_stored_arguments_that_decrypt_to_something_else_are_a_payload_error(stored):
    """A payload that decrypts (the key is right) but is not the [args, kwargs] it was written
    as fails the job with that reason; it does not reach Celery as a raw exception."""
    from jobs.crypto import fernet
    from jobs.table.payload import PayloadError, payload_real

    secret = fernet("jobs.payload").encrypt(stored.encode()).decode()
    with pytest.raises(PayloadError, match="stored arguments are malformed"):
        payload_real(None, None, secret)
