"""Rate limits as token buckets in Redis, shared by every server process of a deployment.

The same buckets as ``TokenBuckets`` (``ratelimit.py``), kept in one Redis hash per key
(``tokens``, ``updated``) and taken from by one Lua script, so that concurrent takes from
any number of processes never hand out more than the capacity. The script reads the time
from Redis (``TIME``): all servers share that one clock, and a server whose clock is off
cannot refill buckets early. A key expires after a full refill's time (``period_s``),
when it would be full anyway, so idle clients cost Redis nothing.

If Redis cannot be reached, requests go through (see ``RedisTokenBuckets.take``).
"""

from __future__ import annotations

import logging
import threading
import time

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from vidonate.web.ratelimit import Buckets, Clock, Limit

__all__ = ["DEFAULT_PREFIX", "Outage", "RedisBackend", "RedisTokenBuckets"]

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "vidonate:rl:"
WARN_EVERY_S = 60.0
# A rate limit must not hold a request up for long: a Redis that does not answer within
# this is treated as down (the request goes through).
TIMEOUT_S = 0.5

# KEYS[1]: the bucket's hash; ARGV[1]: capacity; ARGV[2]: tokens per second.
# Returns the seconds to wait as a string (Redis truncates Lua numbers to integers).
# Times are whole microseconds (about 2**51 now, exact in a double); the hash stores
# them with %.17g, since Redis would format a plain Lua number with only 14 digits.
TAKE_SCRIPT = """
local capacity = tonumber(ARGV[1])
local per_us = tonumber(ARGV[2]) / 1000000
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = tonumber(state[1])
local updated = tonumber(state[2])
if tokens == nil or updated == nil then
  tokens = capacity
else
  tokens = math.min(capacity, tokens + math.max(0, now - updated) * per_us)
end
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = (1 - tokens) / per_us / 1000000
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens),
           'updated', string.format('%.17g', now))
-- capacity / per_us is the period in microseconds give or take a rounding error
-- (5 per 60 s gives 60000000.00000001): drop it before rounding up to milliseconds.
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / per_us / 1000 - 1e-6))
return string.format('%.17g', wait)
"""


class Outage:
    """Reports that Redis failed, at most once per ``every_s`` however many requests
    meet the failure: a log line per request would flood the log exactly when it is
    read."""

    def __init__(self, every_s: float = WARN_EVERY_S, clock: Clock = time.monotonic) -> None:
        self._every_s = every_s
        self._clock = clock
        self._last: float | None = None
        self._lock = threading.Lock()

    def report(self, error: Exception) -> None:
        """Log ``error`` as a warning unless one was logged within ``every_s``."""
        with self._lock:
            now = self._clock()
            if self._last is not None and now - self._last < self._every_s:
                return
            self._last = now
        log.warning(
            "rate limits are off: Redis failed (%s: %s); letting requests through",
            type(error).__name__,
            error,
        )


class RedisTokenBuckets(Buckets):
    """One token bucket per key in Redis, under ``<prefix><name>:<key>``.

    ``name`` keeps limits apart that count the same keys (a user's requests and the
    same user's uploads). ``limit=None`` lets everything through without asking Redis.
    """

    def __init__(
        self,
        limit: Limit | None,
        client: redis.Redis,
        name: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        outage: Outage | None = None,
    ) -> None:
        self.limit = limit
        self.name = name
        self._client = client
        self._key_prefix = f"{prefix}{name}:"
        self._script = client.register_script(TAKE_SCRIPT)
        self._outage = outage if outage is not None else Outage()

    def key(self, key: str) -> str:
        """The Redis key of ``key``'s bucket."""
        return self._key_prefix + key

    def take(self, key: str) -> float:
        """Take one token for ``key``: 0.0 when it was there, else the seconds to wait.

        When Redis fails (down, unreachable, too slow, refusing writes) this returns 0.0:
        availability over strictness. The limits protect the service from abuse; turning
        every request into a 500 while Redis is away would do the abuser's work for them.
        The outage is logged, and a deployment that must never run unlimited keeps one
        server with ``memory://``.
        """
        limit = self.limit
        if limit is None:
            return 0.0
        try:
            wait = self._script(keys=[self.key(key)], args=[limit.capacity, repr(limit.per_second)])
        except redis.RedisError as error:
            self._outage.report(error)
            return 0.0
        return float(wait)


class RedisBackend:
    """One Redis client, and one outage report, shared by a deployment's buckets."""

    def __init__(
        self, client: redis.Redis, prefix: str = DEFAULT_PREFIX, outage: Outage | None = None
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.outage = outage if outage is not None else Outage()

    @classmethod
    def from_url(cls, url: str, prefix: str = DEFAULT_PREFIX) -> RedisBackend:
        """A back end for ``redis://host:port/db``; nothing is connected until first use.

        Short timeouts and a single immediate retry (a pooled connection may have been
        closed by a Redis restart): a Redis that is down must cost a request little.
        Options in the URL's query (``?socket_timeout=2``) override these.
        """
        client = redis.Redis.from_url(
            url,
            socket_timeout=TIMEOUT_S,
            socket_connect_timeout=TIMEOUT_S,
            retry=Retry(NoBackoff(), 1),
        )
        return cls(client, prefix)

    def buckets(self, name: str, limit: Limit | None) -> RedisTokenBuckets:
        """The buckets of the limit ``name``."""
        return RedisTokenBuckets(limit, self.client, name, prefix=self.prefix, outage=self.outage)
