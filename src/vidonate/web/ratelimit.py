"""Rate limits as token buckets, kept in this process or shared through Redis.

A bucket holds up to ``capacity`` tokens and refills at ``capacity`` tokens per
``period_s``; every request takes one token, and a request that finds the bucket
empty is refused with 429 and the seconds until the next token.

Where the buckets live is ``rate_limit_storage_url``: ``memory://`` (the default) keeps
them in this process (``TokenBuckets``), which is exact for one server process but lets
each of several processes enforce the limit by itself; ``redis://host:port/db`` keeps
them in Redis (``RedisTokenBuckets`` in ``ratelimit_redis``), shared by every server of
a deployment.
"""

from __future__ import annotations

import math
import threading
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from vidonate.config import Settings
from vidonate.errors import TooManyRequests

__all__ = ["Buckets", "Clock", "Limit", "RateLimits", "TokenBuckets"]

Clock = Callable[[], float]
MINUTE, HOUR = 60.0, 3600.0


@dataclass(frozen=True)
class Limit:
    """``capacity`` requests at once, refilled evenly over ``period_s``."""

    capacity: int
    period_s: float

    @property
    def per_second(self) -> float:
        return self.capacity / self.period_s


@dataclass
class _Bucket:
    tokens: float
    updated: float


class Buckets(ABC):
    """One token bucket per key, with ``limit``; the back ends differ in where they live.

    ``limit=None`` (a limit of 0 in the settings) lets everything through.
    """

    limit: Limit | None

    @abstractmethod
    def take(self, key: str) -> float:
        """Take one token for ``key``: 0.0 when it was there, else the seconds to wait."""

    def check(self, key: str, what: str) -> None:
        """Take a token for ``key`` or refuse with 429; ``what`` names what was counted."""
        wait = self.take(key)
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            raise TooManyRequests(
                "rate_limited", f"too many {what}; try again in {retry_after} s", retry_after
            )


class TokenBuckets(Buckets):
    """One token bucket per key (a user, an IP, a username) in this process, safe to share
    between threads.

    ``limit=None`` (a limit of 0 in the settings) lets everything through. At most
    ``max_keys`` buckets are kept: past that, the least recently used are dropped, which
    at worst hands a flooding client a fresh burst; it never refuses an honest one.
    """

    def __init__(
        self, limit: Limit | None, clock: Clock = time.monotonic, max_keys: int = 100_000
    ) -> None:
        self.limit = limit
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Take one token for ``key``: 0.0 when it was there, else the seconds to wait."""
        limit = self.limit
        if limit is None:
            return 0.0
        with self._lock:
            now = self._clock()
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(float(limit.capacity), now)
                while len(self._buckets) > self._max_keys:
                    self._buckets.popitem(last=False)
            else:
                self._buckets.move_to_end(key)
                elapsed = max(0.0, now - bucket.updated)
                bucket.tokens = min(limit.capacity, bucket.tokens + elapsed * limit.per_second)
                bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / limit.per_second


def _limit(capacity: int, period_s: float) -> Limit | None:
    return Limit(capacity, period_s) if capacity > 0 else None


MEMORY_URL = "memory://"
REDIS_SCHEMES = ("redis://", "rediss://")


@dataclass
class RateLimits:
    """Every limit the web app enforces, built from the settings."""

    requests: Buckets
    upload_chunks: Buckets
    uploads: Buckets
    sign_ins_per_ip: Buckets
    sign_ins_per_ip_and_username: Buckets

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock = time.monotonic) -> RateLimits:
        """The five limits, in the back end ``settings.rate_limit_storage_url`` names.

        ``clock`` is for the memory back end; Redis buckets read Redis's clock, one for
        every server.
        """
        url = settings.rate_limit_storage_url
        make: Callable[[str, Limit | None], Buckets]
        if url == MEMORY_URL:

            def make(name: str, limit: Limit | None) -> Buckets:
                return TokenBuckets(limit, clock)

        elif url.startswith(REDIS_SCHEMES):
            # Imported here: redis is an optional dependency (the [cluster] extra).
            from vidonate.web.ratelimit_redis import RedisBackend

            make = RedisBackend.from_url(url).buckets
        else:
            raise ValueError(
                f"rate_limit_storage_url must be {MEMORY_URL} (this process) or "
                f"redis://host:port/db (rediss:// with TLS), not {url!r}"
            )

        return cls(
            requests=make("requests", _limit(settings.rate_limit_requests_per_minute, MINUTE)),
            upload_chunks=make(
                "upload_chunks", _limit(settings.rate_limit_upload_chunks_per_minute, MINUTE)
            ),
            uploads=make("uploads", _limit(settings.rate_limit_uploads_per_hour, HOUR)),
            sign_ins_per_ip=make(
                "sign_ins_per_ip", _limit(settings.rate_limit_sign_ins_per_ip_per_minute, MINUTE)
            ),
            sign_ins_per_ip_and_username=make(
                "sign_ins_per_ip_and_username",
                _limit(settings.rate_limit_sign_ins_per_address_and_username_per_hour, HOUR),
            ),
        )

    def check_sign_in(self, client_ip: str, username: str) -> None:
        """Count one sign-in attempt, before the password is checked: guessing is what
        costs, so failed and successful attempts count alike.

        Both limits are per client address. A limit per username alone would let anyone
        lock a user out by failing in their name; this way an attacker spends only the
        budget of the addresses they hold, and the user signs in from their own.
        """
        self.sign_ins_per_ip.check(client_ip, "sign-in attempts from your address")
        self.sign_ins_per_ip_and_username.check(
            f"{client_ip} {username.strip().lower()}",
            "sign-in attempts for this account from your address",
        )
