"""Alembic environment: runs migrations online against the configured URL."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import create_engine, pool

from vidonate.db.models import Base

config = context.config
target_metadata = Base.metadata

# Procrastinate's tables (migration 0012) are the task engine's, not described by the
# models: autogenerate and `alembic check` leave them alone.
ENGINE_PREFIX = "procrastinate_"


def _is_ours(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    table = getattr(obj, "table", obj) if type_ != "table" else obj
    table_name = name if type_ == "table" else getattr(table, "name", "")
    return not (table_name or "").startswith(ENGINE_PREFIX)


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("alembic config has no sqlalchemy.url (db.migrate sets it)")
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            include_object=_is_ours,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
