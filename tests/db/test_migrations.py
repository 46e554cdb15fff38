"""The migrations build exactly the schema the models describe, on SQLite and
PostgreSQL, and every migration can be undone and redone."""

from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, inspect

from vidonate.db.migrate import alembic_config
from vidonate.db.models import Base


def test_migrated_schema_matches_the_models(database_url: str) -> None:
    config = alembic_config(database_url)
    command.check(config)  # raises if autogenerate would find any difference
    engine = create_engine(database_url)
    tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
    engine.dispose()
    engine_tables = {t for t in tables if t.startswith("procrastinate_")}
    assert tables - engine_tables == set(Base.metadata.tables)
    # The task engine's own tables are there on PostgreSQL only (SQLite queues in `jobs`).
    expected = {"procrastinate_jobs", "procrastinate_events", "procrastinate_workers"}
    assert engine_tables >= expected if database_url.startswith("postgresql") else not engine_tables


def test_migrations_go_down_to_nothing_and_back_up(database_url: str) -> None:
    config = alembic_config(database_url)
    command.downgrade(config, "base")
    engine = create_engine(database_url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    command.upgrade(config, "head")
    command.check(config)
