"""Transactions: writers queue for SQLite's write lock; readers never take it."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from vidonate.db.engine import make_engine, make_sessionmaker, read_transaction, transaction
from vidonate.db.models import User


def test_a_read_runs_while_a_writer_holds_the_lock_and_sees_the_last_commit(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    try:
        with transaction(sessions) as writer:
            writer.execute(text("UPDATE campaigns SET name = name"))  # holds the write lock
            with read_transaction(sessions) as reader:
                # BEGIN IMMEDIATE here would wait for the writer above, which waits for us.
                assert reader.query(User).count() == 0
    finally:
        engine.dispose()


def test_a_read_transaction_keeps_nothing_it_changed(database_url: str) -> None:
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    try:
        if engine.dialect.name == "postgresql":
            with pytest.raises(DBAPIError, match="read-only"), read_transaction(sessions) as s:
                s.execute(text("DELETE FROM campaigns"))
        else:
            with read_transaction(sessions) as s:
                s.execute(text("CREATE TABLE scratch_probe (x INTEGER)"))
            with read_transaction(sessions) as s:
                assert not s.execute(
                    text("SELECT name FROM sqlite_master WHERE name = 'scratch_probe'")
                ).first()
    finally:
        engine.dispose()
