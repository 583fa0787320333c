"""The Redis coordinator: each operation is one command or one Lua script (atomic)."""

from __future__ import annotations

from typing import Any

import redis

from jobs.coordination.base import key, rate_margin

_RELEASE_IF = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# Leases and slots renewed together: a plain key holding the token, or a slot member.
_RENEW_IF = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local n = 0
for i, k in ipairs(KEYS) do
  if redis.call('TYPE', k).ok == 'zset' then
    if redis.call('ZSCORE', k, ARGV[1]) then
      redis.call('ZADD', k, now + tonumber(ARGV[2]) / 1000, ARGV[1]) n = n + 1
    end
  elseif redis.call('GET', k) == ARGV[1] then
    redis.call('PEXPIRE', k, ARGV[2]) n = n + 1
  end
end
return n
"""
# A counting semaphore whose members lapse unless renewed (a killed holder frees its slot).
_SLOT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
  redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[3])) + 60)
  return 1
end
return 0
"""
# "Next free slot": reservations (member -> start time) in a sorted set; a new member gets the
# earliest start with fewer than `limit` reservations in the `period` + `margin` before it, on
# Redis's clock. A member that comes back more than `margin` after its slot gives it up and asks
# again, so real starts (slot + at most margin) never put more than `limit` in any `period`.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local period = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local margin = tonumber(ARGV[4])
local span = period + margin
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - span)
local mine = redis.call('ZSCORE', KEYS[1], ARGV[3])
if mine then
  if now - tonumber(mine) <= margin then return tostring(tonumber(mine) - now) end
  redis.call('ZREM', KEYS[1], ARGV[3])
end
local n = redis.call('ZCARD', KEYS[1])
local slot = now
if n >= limit then
  local nth = redis.call('ZRANGE', KEYS[1], n - limit, n - limit, 'WITHSCORES')
  slot = math.max(now, tonumber(nth[2]) + span)
end
redis.call('ZADD', KEYS[1], slot, ARGV[3])
redis.call('PEXPIREAT', KEYS[1], math.ceil((slot + span) * 1000) + 1000)
return tostring(slot - now)
"""


class RedisCoordinator:
    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(
            url, socket_timeout=5, socket_connect_timeout=3, health_check_interval=30
        )
        self._release_if = self.client.register_script(_RELEASE_IF)
        self._renew_if = self.client.register_script(_RENEW_IF)
        self._slot = self.client.register_script(_SLOT)
        self._reserve = self.client.register_script(_RESERVE)

    def lease_acquire(self, k: str, token: str, ttl: float) -> bool:
        if self.client.set(k, token, nx=True, px=max(int(ttl * 1000), 1)):
            return True
        return self.client.get(k) == token.encode()

    def lease_renew(self, keys: list[str], token: str, ttl: float) -> None:
        if keys:
            self._renew_if(keys=keys, args=[token, int(ttl * 1000)])

    def lease_release(self, k: str, token: str) -> None:
        self._release_if(keys=[k], args=[token])

    def slot_acquire(self, k: str, token: str, limit: int, ttl: float) -> bool:
        return bool(self._slot(keys=[k], args=[token, limit, ttl]))

    def slot_release(self, k: str, token: str) -> None:
        self.client.zrem(k, token)

    def rate_reserve(self, k: str, limit: int, period: float, member: str) -> float:
        wait: Any = self._reserve(keys=[k], args=[period, limit, member, rate_margin(period)])
        return float(wait)

    def epoch(self, now: float) -> float:
        k = key("epoch")
        self.client.set(k, repr(now), nx=True)
        value: Any = self.client.get(k)
        return float(value) if value else now

    def ping(self) -> None:
        self.client.ping()


__all__ = ["RedisCoordinator"]
