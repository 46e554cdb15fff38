"""INSERT … ON CONFLICT DO NOTHING, the same call on SQLite and PostgreSQL.

Two requests that both find a row missing and both insert it would otherwise race:
one of them fails on the unique constraint (a 500). With this insert the loser's row
simply is not written, and both go on with the one that is there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Session


def insert_unless_present(
    session: Session,
    model: type[DeclarativeBase],
    values: Mapping[str, Any],
    conflict_columns: Sequence[str],
) -> bool:
    """Insert one row unless a row with the same ``conflict_columns`` exists (a unique
    constraint or primary key over exactly those columns). True when this call wrote it."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    table = model.__table__
    statement = (
        dialect.insert(model)
        .values(**values)
        .on_conflict_do_nothing(index_elements=list(conflict_columns))
        # Asked for explicitly, the written row's key comes back to us (an implicit
        # RETURNING is consumed for ``inserted_primary_key``, and PostgreSQL's driver then
        # reports rowcount -1): a row comes back only if this call wrote one.
        .returning(*table.primary_key.columns)  # type: ignore[attr-defined]
    )
    return session.execute(statement).first() is not None
