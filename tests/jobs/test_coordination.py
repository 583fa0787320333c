"""One contract, two backends: Redis (the cluster) and the database (single-machine mode)."""

import time

import pytest
from django.conf import settings

from jobs.coordination.database import DatabaseCoordinator
from jobs.coordination.memory import MemoryCoordinator
from jobs.coordination.redis import RedisCoordinator


@pytest.fixture(params=["redis", "database", "memory"])
def coord(request, db):
    if request.param == "redis":
        return RedisCoordinator(settings.REDIS_URL)
    if request.param == "memory":
        return MemoryCoordinator()
    return DatabaseCoordinator()


def test_a_lease_has_one_holder_and_is_released_only_by_it(coord):
    assert coord.lease_acquire("l", "a", 60)
    assert not coord.lease_acquire("l", "b", 60)
    coord.lease_release("l", "b")
    assert not coord.lease_acquire("l", "b", 60)
    coord.lease_release("l", "a")
    assert coord.lease_acquire("l", "b", 60)


def test_renewal_keeps_a_lease_and_a_slot_past_their_first_ttl(coord):
    assert coord.lease_acquire("r", "a", 0.4)
    assert coord.slot_acquire("s", "a", 1, 0.4)
    for _ in range(3):
        time.sleep(0.2)
        coord.lease_renew(["r", "s"], "a", 0.4)
    assert not coord.lease_acquire("r", "b", 60)
    assert not coord.slot_acquire("s", "b", 1, 60)


def test_slots_admit_the_limit_and_free_on_release_or_lapse(coord):
    assert coord.slot_acquire("q", "a", 2, 60)
    assert coord.slot_acquire("q", "b", 2, 0.3)
    assert coord.slot_acquire("q", "a", 2, 60)  # a holder asking again keeps its slot
    assert not coord.slot_acquire("q", "c", 2, 60)
    coord.slot_release("q", "a")
    assert coord.slot_acquire("q", "c", 2, 60)
    time.sleep(0.4)  # b's holder died: its slot lapses
    assert coord.slot_acquire("q", "d", 2, 60)


def test_rate_reservations_give_each_waiter_its_own_slot_and_keep_it(coord):
    waits = [coord.rate_reserve("rate:t", 3, 1.0, f"m{i}") for i in range(7)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    # The next free slot, in order: period + margin (0.25 s) after the slot `limit` places back.
    assert all(abs(w - 1.25) < 0.05 for w in waits[3:6]) and abs(waits[6] - 2.5) < 0.05
    again = coord.rate_reserve("rate:t", 3, 1.0, "m6")
    assert abs(again - waits[6]) < 0.1  # asking again gives the same slot: no second deferral
    time.sleep(waits[3] + 0.05)
    assert coord.rate_reserve("rate:t", 3, 1.0, "m3") <= 0  # its slot has come


def test_the_epoch_is_stable_until_the_store_forgets(coord):
    first = coord.epoch(1000.0)
    assert coord.epoch(2000.0) == first
    if isinstance(coord, RedisCoordinator):
        from jobs.coordination import key

        coord.client.delete(key("epoch"))  # what a Redis restarted empty looks like to us
        assert coord.epoch(3000.0) == 3000.0 > first


def test_a_waiter_back_later_than_the_margin_asks_again(coord):
    assert coord.rate_reserve("rate:late", 1, 0.5, "a") == 0.0
    time.sleep(0.3)  # a is back 0.3 s after its slot, past the 0.125 s margin: it starts now instead
    assert coord.rate_reserve("rate:late", 1, 0.5, "a") == 0.0
    assert coord.rate_reserve("rate:late", 1, 0.5, "c") > 0.5  # and the window counts that start
