"""Rate limits: token buckets that refuse with 429, a Retry-After header and the reason
``rate_limited``; sign-in attempts, new uploads and requests in general are counted."""

from __future__ import annotations

import math
import threading

import pytest
from fastapi.testclient import TestClient
from test_pages import form_token

from tus_helpers import auth, create
from vidonate.config import Settings
from vidonate.web.app import create_app
from vidonate.web.ratelimit import Limit, RateLimits, TokenBuckets
from world import World, row_counts

MIB = 1024 * 1024


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


# The buckets on their own


def test_a_bucket_lets_its_capacity_through_then_says_how_long_to_wait(clock: FakeClock) -> None:
    buckets = TokenBuckets(Limit(3, 60.0), clock)
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a") == pytest.approx(20.0)  # 3 per minute: one every 20 s
    clock.advance(20.0)
    assert buckets.take("a") == 0.0
    assert buckets.take("a") > 0


def test_each_key_has_its_own_bucket_and_a_full_bucket_stays_full(clock: FakeClock) -> None:
    buckets = TokenBuckets(Limit(1, 60.0), clock)
    assert buckets.take("alice") == 0.0
    assert buckets.take("alice") > 0
    assert buckets.take("bob") == 0.0
    clock.advance(3600.0)  # an hour idle refills one minute's worth, no more
    assert buckets.take("alice") == 0.0
    assert buckets.take("alice") > 0


def test_no_limit_lets_everything_through(clock: FakeClock) -> None:
    buckets = TokenBuckets(None, clock)
    assert all(buckets.take("a") == 0.0 for _ in range(10_000))


def test_a_limit_of_zero_in_the_settings_turns_it_off() -> None:
    limits = RateLimits.from_settings(Settings(rate_limit_sign_ins_per_ip_per_minute=0))
    assert limits.sign_ins_per_ip.limit is None
    assert limits.sign_ins_per_ip_and_username.limit == Limit(30, 3600.0)


def test_buckets_shared_by_threads_never_hand_out_more_than_their_capacity(
    clock: FakeClock,
) -> None:
    buckets = TokenBuckets(Limit(50, 60.0), clock)  # the clock stands still: no refill
    granted: list[int] = []
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait()
        granted.append(sum(buckets.take("shared") == 0.0 for _ in range(100)))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(granted) == 50


def test_past_max_keys_the_least_recently_used_bucket_is_dropped(clock: FakeClock) -> None:
    buckets = TokenBuckets(Limit(1, 60.0), clock, max_keys=2)
    buckets.take("a")
    buckets.take("b")
    buckets.take("a")  # a is used again: b is now the oldest
    buckets.take("c")
    assert buckets.take("b") == 0.0, "b was forgotten, so it starts full"
    assert buckets.take("c") > 0


def test_the_default_limits_carry_a_whole_2_gib_upload_in_8_mib_chunks(clock: FakeClock) -> None:
    settings = Settings()
    chunks = math.ceil(settings.tus_max_size / (8 * MIB))
    limits = RateLimits.from_settings(settings, clock)
    # every chunk a PATCH, and a HEAD before each after a cut connection, with no pause
    assert all(limits.upload_chunks.take("user:1") == 0.0 for _ in range(2 * chunks))


# The limits in the app


def _client(world: World, clock: FakeClock, ip: str = "198.51.100.7", **limits: int) -> TestClient:
    for name, value in limits.items():
        setattr(world.rt.settings, name, value)
    app = create_app(world.rt, run_worker=False)
    app.state.rate_limits = RateLimits.from_settings(world.rt.settings, clock)
    return TestClient(app, base_url="http://testserver", client=(ip, 40000))


def _assert_refused(response, retry_after: int | None = None) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 429, response.text
    assert int(response.headers["retry-after"]) >= 1
    if retry_after is not None:
        assert response.headers["retry-after"] == str(retry_after)
    if response.headers["content-type"].startswith("application/json"):
        error = response.json()["error"]
        assert error["code"] == "rate_limited" and "try again in" in error["message"]
    else:
        assert "rate_limited" in response.text


def _token(client: TestClient, username: str, password: str | None = None):  # type: ignore[no-untyped-def]
    body = {"username": username, "password": password or f"{username}-password"}
    return client.post("/api/v1/auth/token", json=body)


def test_sign_in_attempts_from_one_address_are_limited(world: World, clock: FakeClock) -> None:
    with _client(world, clock, rate_limit_sign_ins_per_ip_per_minute=3) as client:
        assert [_token(client, "alice", "wrong-guess").status_code for _ in range(3)] == [401] * 3
        # Past the limit even the right password waits: the limit is what stops guessing.
        _assert_refused(_token(client, "alice"), retry_after=20)
        _assert_refused(_token(client, "bob"))
        clock.advance(20)
        assert _token(client, "alice").status_code == 200
    with _client(world, clock, "203.0.113.9", rate_limit_sign_ins_per_ip_per_minute=3) as other:
        assert _token(other, "bob").status_code == 200, "another address has its own budget"


def test_sign_in_attempts_for_one_username_are_limited_per_address(
    world: World, clock: FakeClock
) -> None:
    limits = {"rate_limit_sign_ins_per_address_and_username_per_hour": 2}
    with _client(world, clock, "198.51.100.1", **limits) as first:
        assert _token(first, "alice", "guess-one").status_code == 401
        assert _token(first, "ALICE ", "guess-two").status_code == 401
        _assert_refused(_token(first, "alice"), retry_after=1800)
        assert _token(first, "bob").status_code == 200, "other accounts from there still sign in"
        app = first.app
    with TestClient(app, client=("198.51.100.2", 40000)) as second:
        assert _token(second, "alice").status_code == 200, "alice, elsewhere, is not locked out"


def test_an_attackers_40_failures_do_not_lock_out_the_user_signing_in_from_elsewhere(
    world: World, clock: FakeClock
) -> None:
    with _client(world, clock, "203.0.113.66") as attacker:  # the default limits
        tries = [_token(attacker, "alice", f"guess-{n}").status_code for n in range(40)]
        assert set(tries) == {401, 429} and tries[-1] == 429, "the attacker is slowed down"
        app = attacker.app
    with TestClient(app, client=("198.51.100.20", 40000)) as alice:
        assert _token(alice, "alice").status_code == 200


def test_a_forged_x_forwarded_for_from_an_untrusted_peer_does_not_reset_the_limit(
    world: World, clock: FakeClock
) -> None:
    # uvicorn believes X-Forwarded-For from loopback by default; vidonate believes nobody's.
    with _client(world, clock, "127.0.0.1", rate_limit_sign_ins_per_ip_per_minute=3) as client:
        for n in range(3):
            forged = {"X-Forwarded-For": f"192.0.2.{n}"}
            body = {"username": "alice", "password": "wrong-guess"}
            assert client.post("/api/v1/auth/token", json=body, headers=forged).status_code == 401
        fresh = {"X-Forwarded-For": "192.0.2.99"}
        body = {"username": "alice", "password": "alice-password"}
        _assert_refused(client.post("/api/v1/auth/token", json=body, headers=fresh))


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_budget(
    world: World, clock: FakeClock
) -> None:
    settings = {"rate_limit_sign_ins_per_ip_per_minute": 2}
    world.rt.settings.trusted_proxies = "127.0.0.1"
    with _client(world, clock, "127.0.0.1", **settings) as proxy:
        body = {"username": "alice", "password": "wrong-guess"}
        # a client may write its own X-Forwarded-For; the proxy appends the real address
        forged = {"X-Forwarded-For": "192.0.2.1, 203.0.113.5"}
        assert [proxy.post("/api/v1/auth/token", json=body, headers=forged).status_code
                for _ in range(2)] == [401, 401]  # fmt: skip
        other_forgery = {"X-Forwarded-For": "192.0.2.2, 203.0.113.5"}
        _assert_refused(proxy.post("/api/v1/auth/token", json=body, headers=other_forgery))
        someone_else = {"X-Forwarded-For": "203.0.113.6"}
        right = {"username": "bob", "password": "bob-password"}
        assert proxy.post("/api/v1/auth/token", json=right, headers=someone_else).status_code == 200


def test_the_sign_in_page_counts_too_and_shows_the_reason(world: World, clock: FakeClock) -> None:
    with _client(world, clock, rate_limit_sign_ins_per_ip_per_minute=1) as client:
        form = {"username": "alice", "password": "nope-nope", "csrf_token": form_token(client)}
        assert client.post("/login", data=form).status_code == 401
        refused = client.post("/login", data=form)
        _assert_refused(refused, retry_after=60)
        assert refused.headers["content-type"].startswith("text/html")


def test_new_uploads_per_donor_are_limited_and_a_refused_one_leaves_nothing(
    world: World, clock: FakeClock
) -> None:
    with _client(world, clock, rate_limit_uploads_per_hour=2) as client:
        for _ in range(2):
            assert create(client, world.tokens["alice"], 1000, world.metadata()).status_code == 201
        before = row_counts(world.rt)
        refused = create(client, world.tokens["alice"], 1000, world.metadata())
        _assert_refused(refused, retry_after=1800)
        assert refused.headers["tus-resumable"] == "1.0.0"
        assert row_counts(world.rt) == before
        bob = create(client, world.tokens["bob"], 1000, world.metadata("bob"))
        assert bob.status_code == 201, "bob's uploads are counted apart from alice's"


def test_requests_are_limited_per_user_and_per_address_when_anonymous(
    world: World, clock: FakeClock
) -> None:
    alice = {"Authorization": f"Bearer {world.tokens['alice']}"}
    with _client(world, clock, rate_limit_requests_per_minute=5) as client:
        assert [client.get("/api/v1/me", headers=alice).status_code for _ in range(5)] == [200] * 5
        _assert_refused(client.get("/api/v1/me", headers=alice), retry_after=12)
        _assert_refused(client.get("/api/v1/balance", headers=alice))
        bob = {"Authorization": f"Bearer {world.tokens['bob']}"}
        assert client.get("/api/v1/me", headers=bob).status_code == 200
        anonymous = [client.get("/api/v1/stats/redaction").status_code for _ in range(6)]
        assert anonymous == [200] * 5 + [429]
        assert client.get("/").status_code == 429, "pages count as requests too"
        clock.advance(12)
        assert client.get("/api/v1/me", headers=alice).status_code == 200


def test_tus_chunks_of_an_existing_upload_have_their_own_budget(
    world: World, clock: FakeClock
) -> None:
    limits = {"rate_limit_requests_per_minute": 3, "rate_limit_upload_chunks_per_minute": 10}
    with _client(world, clock, **limits) as client:
        created = create(client, world.tokens["alice"], 1000, world.metadata())
        assert created.status_code == 201
        location = created.headers["location"]
        heads = [client.head(location, headers=auth(world.tokens["alice"])) for _ in range(10)]
        assert [r.status_code for r in heads] == [200] * 10, "more than the 3 general requests"
        refused = client.head(location, headers=auth(world.tokens["alice"]))
        assert refused.status_code == 429 and refused.headers["retry-after"] == "6"
        alice = {"Authorization": f"Bearer {world.tokens['alice']}"}
        assert client.get("/api/v1/me", headers=alice).status_code == 200
