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
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from seaweed import SeaweedS3
from vidonate.config import Settings
from vidonate.db.engine import transaction
from vidonate.db.migrate import upgrade
from vidonate.runtime import Runtime
from vidonate.web.app import create_app
from world import World, build_world

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


@pytest.fixture(autouse=True)
def _no_gathered_footage(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Evaluation and the promotion gate also score the real footage `vidonate footage
    gather` cached for this user; a test sees only the footage it is given, on any machine."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "xdg-cache"))


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
        queue_url="",  # each database's default: Procrastinate on PostgreSQL
        worker_threads=0,  # tests run jobs explicitly with rt.jobs.run_pending()
        transparency_max_age_seconds=0,  # a report read after a change shows it
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


@pytest.fixture
def world(rt: Runtime) -> World:
    return build_world(rt)


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    """The real app in-process, without the background worker."""
    with TestClient(create_app(world.rt, run_worker=False), base_url="http://testserver") as c:
        yield c


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


# --- Markers by path, for `make test-fast` ---------------------------------------------
# `make test-fast` runs `pytest -m "not slow and not training and not fuzz"`: the
# edit-test loop. `make test` (and .ci/run) runs everything. Whole modules are marked
# here, by path, so a new test in them is sorted without remembering a decorator.

# Train the detector with PyTorch (some with torchrun), or use a model trained in the
# session (tests/detect/conftest.py renders and trains on a synthetic set once).
_TRAINING_MODULES = frozenset(
    {
        "detect/test_train.py",
        "detect/test_ddp.py",
        "detect/test_pipeline.py",
        "detect/test_model.py",
        "detect/test_infer.py",
    }
)
_TRAINING_FIXTURES = frozenset({"trained_model", "labelled_clips", "synth_clips"})
# Property-based fuzzing of the whole OpenAPI spec.
_FUZZ_MODULES = frozenset({"web/test_schemathesis.py"})
# Left out of the edit-test loop (`make test-fast`), kept in `make test`: modules whose
# tests push several whole clips through decode, redaction and encoding, kill worker
# processes, render synthetic scenes or build fresh virtual environments. Each costs
# 8-40 s on the 2-core reference machine; together they were 40% of the fast loop.
_SLOW_MODULES = frozenset(
    {
        "dedupe/test_finder.py",
        "ingest/test_hostile.py",
        "ingest/test_redaction_audit.py",
        "jobs/test_leases.py",
        "synth/test_synth.py",
        "datasets/test_synthetic.py",
        "test_extras.py",
        "test_make.py",
    }
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    tests_dir = Path(__file__).parent
    for item in items:
        try:
            module = item.path.relative_to(tests_dir).as_posix()
        except ValueError:
            continue
        if module in _TRAINING_MODULES or _TRAINING_FIXTURES & set(
            getattr(item, "fixturenames", ())
        ):
            item.add_marker(pytest.mark.training)
        if module in _FUZZ_MODULES:
            item.add_marker(pytest.mark.fuzz)
        if module in _SLOW_MODULES:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedS3]:
    """A real S3 server on loopback for this test process (tests/seaweed.py)."""
    server = SeaweedS3(tmp_path_factory.mktemp("seaweed"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def s3_env(seaweed: SeaweedS3, monkeypatch: pytest.MonkeyPatch) -> SeaweedS3:
    """The server, with its access key in this test's environment (boto3 reads it there,
    as a deployment's processes do)."""
    for name, value in seaweed.environment().items():
        monkeypatch.setenv(name, value)
    return seaweed
