"""One contract, two backends: Redis (the cluster) and the database (single-machine mode)."""

import time

import pytest
from django.conf import settings

from jobs.coord_db import DatabaseCoordinator
from jobs.coord_redis import RedisCoordinator
from jobs.coordination import CLAIM_CANCELLED, CLAIM_DONE, CLAIM_OK, CLAIM_RUNNING


@pytest.fixture(params=["redis", "database"])
def coord(request, db):
    if request.param == "redis":
        return RedisCoordinator(settings.REDIS_URL)
    return DatabaseCoordinator()


def test_uniqueness_returns_the_holder_until_released(coord):
    assert coord.unique_acquire("u:1", "job-a", 60) is None
    assert coord.unique_acquire("u:1", "job-b", 60) == "job-a"
    coord.unique_release("u:1", "job-b")  # not the holder: nothing changes
    assert coord.unique_acquire("u:1", "job-c", 60) == "job-a"
    coord.unique_release("u:1", "job-a")
    assert coord.unique_acquire("u:1", "job-c", 60) is None


def test_uniqueness_lapses_with_its_window(coord):
    assert coord.unique_acquire("u:2", "job-a", 0.2) is None
    time.sleep(0.3)
    assert coord.unique_acquire("u:2", "job-b", 60) is None


def test_a_claimed_delivery_runs_once_and_a_dead_holders_claim_lapses(coord):
    assert coord.claim("j1", "1", "worker-a", 60) == CLAIM_OK
    assert coord.claim("j1", "1", "worker-b", 60) == CLAIM_RUNNING
    assert coord.claim("j1", "1", "worker-a", 60) == CLAIM_OK  # the holder may claim again
    coord.claim_done("j1", "1")
    assert coord.claim("j1", "1", "worker-b", 60) == CLAIM_DONE
    assert coord.claim("j1", "2", "worker-b", 60) == CLAIM_OK  # the next attempt is new

    assert coord.claim("j2", "1", "dead", 0.2) == CLAIM_OK
    time.sleep(0.3)
    assert coord.claim("j2", "1", "alive", 60) == CLAIM_OK


def test_a_cancelled_job_is_never_claimed_and_leaves_the_scheduled_set(coord):
    coord.schedule("j3", 0, {"id": "j3"})
    coord.cancel("j3")
    assert coord.claim("j3", "1", "w", 60) == CLAIM_CANCELLED
    assert not coord.is_scheduled("j3")
    assert coord.pop_due() == []


def test_a_lease_has_one_holder_and_is_released_only_by_it(coord):
    assert coord.lease_acquire("l", "a", 60)
    assert not coord.lease_acquire("l", "b", 60)
    coord.lease_release("l", "b")
    assert not coord.lease_acquire("l", "b", 60)
    coord.lease_release("l", "a")
    assert coord.lease_acquire("l", "b", 60)


def test_renewal_keeps_a_lease_past_its_first_ttl(coord):
    assert coord.lease_acquire("r", "a", 0.4)
    for _ in range(3):
        time.sleep(0.2)
        coord.lease_renew(["r"], "a", 0.4)
    assert not coord.lease_acquire("r", "b", 60)


def test_rate_slots_allow_the_limit_then_name_the_wait(coord):
    waits = [coord.rate_take("rate:t", 3, 1.0, f"m{i}") for i in range(4)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert 0 < waits[3] <= 1.0
    time.sleep(waits[3] + 0.05)
    assert coord.rate_take("rate:t", 3, 1.0, "m4") == 0.0


def test_scheduled_jobs_come_out_once_when_due(coord):
    coord.schedule("later", 60, {"id": "later"})
    coord.schedule("now", 0, {"id": "now"})
    assert coord.is_scheduled("later") and coord.scheduled_count() == 2
    assert coord.pop_due() == [{"id": "now"}]
    assert coord.pop_due() == []
    assert coord.is_scheduled("later") and not coord.is_scheduled("now")
