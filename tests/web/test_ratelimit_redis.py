"""Rate limits in Redis: the token buckets of ``test_ratelimit.py``, shared by every
server process, and letting requests through when Redis is away.

Runs against the Redis at 127.0.0.1:6379; skipped when it does not answer, unless
``VIDONATE_REQUIRE_REDIS=1``. Each test writes under keys of its own (a random prefix or
key) and deletes only those.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import vidonate
from vidonate.config import Settings
from vidonate.errors import TooManyRequests
from vidonate.web.app import create_app
from vidonate.web.ratelimit import Limit, RateLimits, TokenBuckets
from world import World

REDIS_URL = "redis://127.0.0.1:6379/0"


def _redis_problem() -> str | None:
    try:
        import redis
    except ImportError as error:
        return f"redis-py is not installed ({error})"
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=1).ping()
    except redis.RedisError as error:
        return f"{type(error).__name__}: {error}"
    return None


_problem = _redis_problem()
if _problem is not None:
    if os.environ.get("VIDONATE_REQUIRE_REDIS") == "1":
        pytest.fail(f"Redis is required but {REDIS_URL} does not answer: {_problem}", pytrace=False)
    pytest.skip(f"Redis at {REDIS_URL} does not answer PING: {_problem}", allow_module_level=True)

import redis  # noqa: E402  (after the skip: redis is an optional dependency)

from vidonate.web.ratelimit_redis import RedisBackend, RedisTokenBuckets  # noqa: E402


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(REDIS_URL)
    yield connection
    connection.close()


@pytest.fixture
def tag(client: redis.Redis) -> Iterator[str]:
    """A string unique to the test, for its keys; afterwards every key holding it goes."""
    unique = uuid.uuid4().hex
    yield unique
    for key in client.scan_iter(match=f"*{unique}*", count=1000):
        client.delete(key)


@pytest.fixture
def backend(tag: str) -> Iterator[RedisBackend]:
    """A back end writing under a prefix of this test's own."""
    made = RedisBackend.from_url(REDIS_URL, prefix=f"vidonate-test:{tag}:")
    yield made
    made.client.close()


def _closed_port_url() -> str:
    """A Redis URL on a local port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


# The buckets on their own: as the memory ones


def test_a_bucket_lets_its_capacity_through_then_says_how_long_to_wait(
    backend: RedisBackend,
) -> None:
    buckets = backend.buckets("t", Limit(3, 60.0))
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    # 3 per minute: one every 20 s, less the moments since the first take
    assert buckets.take("a") == pytest.approx(20.0, abs=0.5)


def test_an_empty_bucket_refills_at_capacity_per_period(backend: RedisBackend) -> None:
    buckets = backend.buckets("t", Limit(2, 1.0))
    assert [buckets.take("a") for _ in range(2)] == [0.0, 0.0]
    wait = buckets.take("a")
    assert 0 < wait <= 0.5
    time.sleep(0.6)
    assert buckets.take("a") == 0.0


def test_each_key_has_its_own_bucket(backend: RedisBackend) -> None:
    buckets = backend.buckets("t", Limit(1, 60.0))
    assert buckets.take("alice") == 0.0
    assert buckets.take("alice") > 0
    assert buckets.take("bob") == 0.0


def test_limits_of_different_names_count_the_same_key_apart(
    backend: RedisBackend, client: redis.Redis
) -> None:
    requests = backend.buckets("requests", Limit(1, 60.0))
    uploads = backend.buckets("uploads", Limit(1, 60.0))
    assert requests.take("user:1") == 0.0
    assert uploads.take("user:1") == 0.0
    assert requests.take("user:1") > 0 and uploads.take("user:1") > 0
    assert requests.key("user:1") == f"{backend.prefix}requests:user:1"
    assert client.exists(requests.key("user:1"), uploads.key("user:1")) == 2


def test_a_bucket_expires_when_it_would_be_full_again(
    backend: RedisBackend, client: redis.Redis
) -> None:
    buckets = backend.buckets("t", Limit(5, 60.0))
    buckets.take("a")
    assert 59_000 < client.pttl(buckets.key("a")) <= 60_000
    assert set(client.hgetall(buckets.key("a"))) == {b"tokens", b"updated"}


def test_no_limit_lets_everything_through_without_asking_redis(
    backend: RedisBackend, client: redis.Redis
) -> None:
    buckets = backend.buckets("t", None)
    assert all(buckets.take("a") == 0.0 for _ in range(1000))
    assert not client.exists(buckets.key("a"))


def test_refusing_raises_429_with_the_wait_rounded_up(backend: RedisBackend) -> None:
    buckets = backend.buckets("t", Limit(3, 60.0))
    for _ in range(3):
        buckets.check("a", "things")
    with pytest.raises(TooManyRequests, match="too many things; try again in 20 s"):
        buckets.check("a", "things")


# Shared by every server


def _settings(**values: object) -> Settings:
    return Settings(rate_limit_storage_url=REDIS_URL, **values)  # type: ignore[arg-type]


def test_the_settings_pick_the_back_end() -> None:
    assert isinstance(RateLimits.from_settings(Settings()).requests, TokenBuckets)
    limits = RateLimits.from_settings(_settings(rate_limit_sign_ins_per_ip_per_minute=0))
    assert isinstance(limits.requests, RedisTokenBuckets)
    assert limits.sign_ins_per_ip.limit is None
    assert limits.sign_ins_per_ip_and_username.limit == Limit(30, 3600.0)


@pytest.mark.parametrize("url", ["memcached://127.0.0.1:11211", "memory:", "", "127.0.0.1:6379"])
def test_an_unknown_storage_url_is_refused_naming_both_forms(url: str) -> None:
    with pytest.raises(ValueError, match=r"memory:// .*redis://host:port/db"):
        RateLimits.from_settings(Settings(rate_limit_storage_url=url))


def test_two_servers_built_from_the_same_settings_share_the_count(tag: str) -> None:
    settings = _settings(rate_limit_sign_ins_per_ip_per_minute=3)
    first, second = RateLimits.from_settings(settings), RateLimits.from_settings(settings)
    address = f"ip-{tag}"
    assert [first.sign_ins_per_ip.take(address) for _ in range(2)] == [0.0, 0.0]
    assert second.sign_ins_per_ip.take(address) == 0.0
    assert second.sign_ins_per_ip.take(address) > 0, "the 4th of 3 is refused"
    with pytest.raises(TooManyRequests):
        first.check_sign_in(address, "alice")


CHILD = """
import sys
from vidonate.config import Settings
from vidonate.web.ratelimit import RateLimits

url, key, capacity, takes = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
settings = Settings(rate_limit_storage_url=url, rate_limit_uploads_per_hour=capacity)
limits = RateLimits.from_settings(settings)
print("ready", flush=True)
sys.stdin.readline()  # every process starts taking at once
print(sum(limits.uploads.take(key) == 0.0 for _ in range(takes)), flush=True)
"""


def test_server_processes_together_never_hand_out_more_than_the_capacity(tag: str) -> None:
    capacity, processes = 100, 3  # per hour: the refill while they run is far below a token
    src = str(Path(vidonate.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    args = [REDIS_URL, f"user-{tag}", str(capacity), str(capacity)]
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
        )
        for _ in range(processes)
    ]
    try:
        for child in children:
            assert child.stdout is not None and child.stdout.readline() == "ready\n"
        for child in children:
            assert child.stdin is not None
            child.stdin.write("\n")
            child.stdin.flush()
        granted = [int(child.communicate(timeout=60)[0]) for child in children]
    finally:
        for child in children:
            child.kill()
            child.wait()
    assert sum(granted) == capacity, granted
    assert all(child.returncode == 0 for child in children)


# Redis away


def test_an_unreachable_redis_lets_requests_through_and_warns_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    limits = RateLimits.from_settings(
        Settings(rate_limit_storage_url=_closed_port_url(), rate_limit_requests_per_minute=1)
    )
    with caplog.at_level(logging.WARNING, logger="vidonate.web.ratelimit_redis"):
        assert [limits.requests.take("ip:192.0.2.1") for _ in range(5)] == [0.0] * 5
        limits.uploads.check("user:1", "new uploads")  # no 429, and no other error
        limits.check_sign_in("192.0.2.1", "alice")
    warnings = [r for r in caplog.records if r.name == "vidonate.web.ratelimit_redis"]
    assert len(warnings) == 1, "one warning per minute, however many requests and limits"
    assert "Redis failed (ConnectionError" in warnings[0].getMessage()


def _address() -> str:
    """A documentation IPv6 address, random and written canonically (as the key is)."""
    return f"2001:db8:{random.randrange(1, 0x10000):x}:{random.randrange(1, 0x10000):x}::1"


def test_the_app_answers_through_an_unreachable_redis(world: World) -> None:
    world.rt.settings.rate_limit_storage_url = _closed_port_url()
    world.rt.settings.rate_limit_requests_per_minute = 1
    with TestClient(create_app(world.rt, run_worker=False), client=(_address(), 40000)) as app:
        assert [app.get("/api/v1/stats/redaction").status_code for _ in range(3)] == [200] * 3


def test_two_apps_share_one_budget_through_redis(world: World, client: redis.Redis) -> None:
    world.rt.settings.rate_limit_storage_url = REDIS_URL
    world.rt.settings.rate_limit_requests_per_minute = 3
    address = _address()
    key = f"vidonate:rl:requests:ip:{address}"
    try:
        servers = [create_app(world.rt, run_worker=False) for _ in range(2)]
        with (
            TestClient(servers[0], client=(address, 40000)) as first,
            TestClient(servers[1], client=(address, 40001)) as second,
        ):
            assert [first.get("/api/v1/stats/redaction").status_code for _ in range(2)] == [200] * 2
            assert second.get("/api/v1/stats/redaction").status_code == 200
            refused = second.get("/api/v1/stats/redaction")
            assert refused.status_code == 429
            # One token comes back every 20 s (3 a minute); less is left of that wait by
            # as long as the four requests took (seconds, on a loaded machine).
            assert 0 < int(refused.headers["retry-after"]) <= 20
            assert first.get("/api/v1/stats/redaction").status_code == 429
        assert client.exists(key), "the count lives under the documented key"
    finally:
        client.delete(key)
