"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

Each test gets a fresh, migrated database: a copy of a migrated SQLite file, or
a PostgreSQL database cloned from a migrated template. Migrations run once per
session per back end.
"""

from __future__ import annotations

import itertools
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from vidonate.accounts.cameras import add_camera
from vidonate.accounts.users import create_user, issue_token
from vidonate.campaigns.service import consent_in_force, create_campaign
from vidonate.config import Settings
from vidonate.db.engine import transaction
from vidonate.db.migrate import upgrade
from vidonate.db.models import Campaign, Donation, User
from vidonate.runtime import Runtime
from vidonate.web.app import create_app

PG_ADMIN = os.environ.get("VIDONATE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
_counter = itertools.count()


def _pg_available() -> str | None:
    try:
        with psycopg.connect(PG_ADMIN, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0]


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing() -> Iterator[None]:
    """argon2 at its production cost takes ~100 ms a hash; tests create many users."""
    from argon2 import PasswordHasher

    from vidonate.accounts import users

    production = users._hasher
    users._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    users._hasher = production


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tpl") / "template.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    problem = _pg_available()
    if problem:
        if os.environ.get("VIDONATE_REQUIRE_POSTGRES"):
            pytest.fail(f"PostgreSQL is required but unreachable: {problem}")
        pytest.skip(f"PostgreSQL at {PG_ADMIN} is unreachable: {problem}")
    name = f"vidonate_tpl_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    upgrade(_pg_url(name))
    yield name
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pg_url(name: str) -> str:
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{name}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "vidonate.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    template = request.getfixturevalue("pg_template")
    name = f"vidonate_t_{os.getpid()}_{next(_counter)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    yield _pg_url(name)
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        var_dir=tmp_path / "var",
        database_url=database_url,
        storage_url="",
        queue_url="inprocess://",
        worker_threads=0,  # tests run jobs explicitly with rt.worker.run_pending()
        job_poll_seconds=0.1,
        secret_key="test-secret-key-test-secret-key",
    )


@pytest.fixture
def rt(settings: Settings) -> Iterator[Runtime]:
    runtime = Runtime.from_settings(settings)
    yield runtime
    runtime.close()


@pytest.fixture
def session(rt: Runtime) -> Iterator[Session]:
    with transaction(rt.sessions) as s:
        yield s


@dataclass
class World:
    """A small, ready population: one campaign, two donors with cameras, two reviewers."""

    rt: Runtime
    campaign: Campaign
    consent_sha256: str
    alice: User
    bob: User
    rita: User
    ravi: User
    tokens: dict[str, str]
    cameras: dict[str, int]
    baseline: dict[str, int] | None = None

    def metadata(self, donor: str = "alice", **overrides: str) -> dict[str, str]:
        meta = {
            "campaign": self.campaign.slug,
            "category": "package_theft",
            "camera": str(self.cameras[donor]),
            "consent": self.consent_sha256,
            "filename": "clip.mp4",
        }
        meta.update(overrides)
        return {k: v for k, v in meta.items() if v is not None}

    def clip_in_review(self, donor: str = "alice", **metadata: str) -> int:
        """A donation that went through upload and processing (without video work)."""
        from vidonate.donations.service import create_donation, validate_request
        from vidonate.donations.states import transition

        with transaction(self.rt.sessions) as s:
            user = s.get(User, getattr(self, donor).id)
            assert user is not None
            request = validate_request(s, user, self.metadata(donor, **metadata))
            donation = create_donation(s, user, request, size=1000)
            self.rt.vault.new_clip_key(s, donation)
            for status in ("received", "processing", "in_review"):
                transition(s, donation, status)  # type: ignore[arg-type]
            return donation.id

    def plaintext(self, donation_id: int, key: str) -> bytes:
        """The decrypted content of one of the donation's blobs (the store holds ciphertext)."""
        with transaction(self.rt.sessions) as s:
            donation = s.get(Donation, donation_id)
            assert donation is not None
            clip_key = self.rt.vault.clip_key(s, donation)
        return b"".join(self.rt.vault.read(clip_key, key))

    def vote(self, reviewer: str, donation_id: int, decision: str = "accept", **kw: object):  # type: ignore[no-untyped-def]
        from vidonate.review.service import cast_vote

        with transaction(self.rt.sessions) as s:
            user = s.get(User, getattr(self, reviewer).id)
            return cast_vote(s, user, donation_id, decision=decision, **kw)  # type: ignore[arg-type]


def build_world(rt: Runtime, **campaign_options: object) -> World:
    options: dict[str, object] = {"budget_cents": 100_000, "reward_cents": 200}
    options.update(campaign_options)
    with transaction(rt.sessions) as s:
        campaign = create_campaign(s, slug="porch-test", name="Porch test", **options)  # type: ignore[arg-type]
        consent = consent_in_force(s, campaign).content_sha256
        users = {
            "alice": create_user(s, "alice", "alice-password", ["donor"], "alice-h"),
            "bob": create_user(s, "bob", "bob-password", ["donor"], "bob-h"),
            "rita": create_user(s, "rita", "rita-password", ["reviewer"], "rita-h"),
            "ravi": create_user(s, "ravi", "ravi-password", ["reviewer", "donor"], "ravi-h"),
        }
        tokens = {name: issue_token(s, user) for name, user in users.items()}
        cameras = {
            "alice": add_camera(s, users["alice"], "front porch", "porch").id,
            "bob": add_camera(s, users["bob"], "driveway", "driveway").id,
            "ravi": add_camera(s, users["ravi"], "street", "street").id,
        }
    world = World(
        rt,
        campaign,
        consent,
        users["alice"],
        users["bob"],
        users["rita"],
        users["ravi"],
        tokens,
        cameras,
    )
    world.baseline = row_counts(rt)
    return world


@pytest.fixture
def world(rt: Runtime) -> World:
    return build_world(rt)


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    """The real app in-process, without the background worker."""
    with TestClient(create_app(world.rt, run_worker=False), base_url="http://testserver") as c:
        yield c


def row_counts(rt: Runtime) -> dict[str, int]:
    tables = (
        "donations",
        "donation_events",
        "uploads",
        "upload_parts",
        "jobs",
        "ledger_transactions",
    )
    with transaction(rt.sessions) as s:
        return {t: s.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables}


def assert_no_trace(world: World, before: dict[str, int] | None = None) -> None:
    """A refused request leaves no rows and no bytes behind."""
    rt = world.rt
    assert row_counts(rt) == (before or world.baseline)
    assert rt.store.keys("uploads/") == []
    leftovers = [p for p in Path(rt.store.root).rglob("*") if p.is_file()]  # type: ignore[attr-defined]
    assert [p for p in leftovers if "uploads" in p.parts] == []


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The CLI's environment pointed at this test's database, var dir and credentials."""
    from rich.console import Console

    from vidonate import cli

    monkeypatch.setenv("VIDONATE_VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("VIDONATE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("VIDONATE_CREDENTIALS", str(tmp_path / "credentials.json"))
    monkeypatch.setattr(cli, "console", Console(width=200))  # no wrapping inside asserted text
    return tmp_path
