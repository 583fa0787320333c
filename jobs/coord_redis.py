"""The Redis coordinator: each operation is one command or one Lua script (atomic)."""

from __future__ import annotations

import json

import redis

from jobs.coordination import (
    CANCEL_TTL,
    CLAIM_CANCELLED,
    CLAIM_DONE,
    CLAIM_OK,
    CLAIM_RUNNING,
    DONE_TTL,
    key,
)

_CLAIM = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 'cancelled' end
local v = redis.call('GET', KEYS[1])
if (not v) or v == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 'ok'
end
if v == 'done' then return 'done' end
return 'running'
"""
_RELEASE_IF = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_RENEW_IF = """
local n = 0
for i, k in ipairs(KEYS) do
  if redis.call('GET', k) == ARGV[1] then redis.call('PEXPIRE', k, ARGV[2]) n = n + 1 end
end
return n
"""
# Sliding window of actual start times, measured on Redis's clock so machines need not agree.
_RATE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local period = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - period)
local n = redis.call('ZCARD', KEYS[1])
if n < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(period * 1000) + 1000)
  return '0'
end
local oldest = redis.call('ZRANGE', KEYS[1], n - limit, n - limit, 'WITHSCORES')
return tostring(tonumber(oldest[2]) + period - now)
"""
_POP_DUE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
local out = {}
for i, id in ipairs(ids) do
  local p = redis.call('HGET', KEYS[2], id)
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
  if p then table.insert(out, p) end
end
return out
"""
_SCHEDULE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
return 1
"""


class RedisCoordinator:
    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(
            url, socket_timeout=5, socket_connect_timeout=3, health_check_interval=30
        )
        self._claim = self.client.register_script(_CLAIM)
        self._release_if = self.client.register_script(_RELEASE_IF)
        self._renew_if = self.client.register_script(_RENEW_IF)
        self._rate = self.client.register_script(_RATE)
        self._pop_due = self.client.register_script(_POP_DUE)
        self._schedule = self.client.register_script(_SCHEDULE)
        self.sched_key, self.sched_payload_key = key("scheduled"), key("scheduled", "payload")

    def unique_acquire(self, k: str, job_id: str, ttl: float) -> str | None:
        for _ in range(3):
            if self.client.set(k, job_id, nx=True, px=max(int(ttl * 1000), 1)):
                return None
            holder = self.client.get(k)
            if holder is not None:
                return holder.decode()
        return None

    def unique_release(self, k: str, job_id: str) -> None:
        self._release_if(keys=[k], args=[job_id])

    def claim(self, job_id: str, delivery: str, token: str, ttl: float) -> str:
        keys = [key("claim", job_id, delivery), key("cancel", job_id)]
        return self._claim(keys=keys, args=[token, int(ttl * 1000)]).decode()

    def claim_done(self, job_id: str, delivery: str) -> None:
        self.client.set(key("claim", job_id, delivery), CLAIM_DONE, ex=DONE_TTL)

    def claim_release(self, job_id: str, delivery: str, token: str) -> None:
        self._release_if(keys=[key("claim", job_id, delivery)], args=[token])

    def cancel(self, job_id: str) -> None:
        with self.client.pipeline() as pipe:
            pipe.set(key("cancel", job_id), 1, ex=CANCEL_TTL)
            pipe.zrem(self.sched_key, job_id)
            pipe.hdel(self.sched_payload_key, job_id)
            pipe.execute()

    def lease_acquire(self, k: str, token: str, ttl: float) -> bool:
        if self.client.set(k, token, nx=True, px=int(ttl * 1000)):
            return True
        return self.client.get(k) == token.encode()

    def lease_renew(self, keys: list[str], token: str, ttl: float) -> None:
        if keys:
            self._renew_if(keys=keys, args=[token, int(ttl * 1000)])

    def lease_release(self, k: str, token: str) -> None:
        self._release_if(keys=[k], args=[token])

    def rate_take(self, k: str, limit: int, period: float, member: str) -> float:
        return float(self._rate(keys=[k], args=[period, limit, member]))

    def schedule(self, job_id: str, delay: float, payload: dict) -> None:
        keys = [self.sched_key, self.sched_payload_key]
        self._schedule(keys=keys, args=[job_id, max(delay, 0.0), json.dumps(payload)])

    def pop_due(self, limit: int = 200) -> list[dict]:
        raw = self._pop_due(keys=[self.sched_key, self.sched_payload_key], args=[limit])
        return [json.loads(p) for p in raw]

    def scheduled_count(self) -> int:
        return int(self.client.zcard(self.sched_key))

    def is_scheduled(self, job_id: str) -> bool:
        return self.client.zscore(self.sched_key, job_id) is not None

    def ping(self) -> None:
        self.client.ping()


__all__ = ["RedisCoordinator", "CLAIM_OK", "CLAIM_RUNNING", "CLAIM_CANCELLED", "CANCEL_TTL"]
