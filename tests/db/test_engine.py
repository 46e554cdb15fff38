"""Transactions: writers queue for SQLite's write lock; readers never take it."""

from __future__ import annotations

import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import DBAPIError

from vidonate.accounts.users import create_user
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


def test_a_write_in_a_read_transaction_fails_and_leaves_nothing(database_url: str) -> None:
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    refusal = "read-only" if engine.dialect.name == "postgresql" else "readonly database"
    try:
        with pytest.raises(DBAPIError, match=refusal), read_transaction(sessions) as s:
            s.execute(text("UPDATE campaigns SET name = 'changed'"))
        with pytest.raises(DBAPIError, match=refusal), read_transaction(sessions) as s:
            s.execute(text("CREATE TABLE scratch_probe (x INTEGER)"))
        with transaction(sessions) as s:  # the same pooled connection writes again
            s.execute(text("CREATE TABLE scratch_probe (x INTEGER)"))
    finally:
        engine.dispose()


def test_what_a_read_transaction_loaded_stays_readable_after_it(database_url: str) -> None:
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    try:
        with transaction(sessions) as s:
            create_user(s, "reader", "reader-password", ["donor"])
        with read_transaction(sessions) as s:
            user = s.scalars(select(User)).one()
        assert (user.username, user.roles) == ("reader", {"donor"})
    finally:
        engine.dispose()


def test_the_bench_flag_makes_sqlite_reads_wait_for_the_write_lock_as_before(
    tmp_path: Path, sqlite_template: Path
) -> None:
    """``sqlite_reads_take_write_lock`` (bench/sqlite_load.py's old path) brings back
    BEGIN IMMEDIATE for reads: one queues behind a writer (here: gives up at once)."""
    path = tmp_path / "old.sqlite3"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}", reads_take_write_lock=True)
    sessions = make_sessionmaker(engine)
    try:
        with transaction(sessions) as writer:
            writer.execute(text("UPDATE campaigns SET name = name"))
            impatient = engine.raw_connection()  # the pool's next one waits 1 ms only
            impatient.cursor().execute("PRAGMA busy_timeout = 1")
            impatient.close()
            with pytest.raises(DBAPIError, match="locked"), read_transaction(sessions) as s:
                s.execute(text("SELECT 1"))
    finally:
        engine.dispose()


def test_concurrent_reads_keep_their_connections_open_for_the_next_ones(
    tmp_path: Path, sqlite_template: Path
) -> None:
    """A SQLite connection opened past the pool would be closed after one use, and the
    next one re-reads the schema: a burst of reads as wide as the server's request
    threads opens connections once, and the next burst opens none."""
    path = tmp_path / "pool.sqlite3"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    sessions = make_sessionmaker(engine)
    opened: list[object] = []
    event.listen(engine, "connect", lambda dbapi_conn, _record: opened.append(dbapi_conn))
    all_in = threading.Barrier(20)

    def read(_: int) -> int:
        with read_transaction(sessions) as s:
            all_in.wait(timeout=30)  # all 20 hold a connection at once
            return s.query(User).count()

    try:
        with ThreadPoolExecutor(20) as pool:
            assert list(pool.map(read, range(20))) == [0] * 20
            first_burst = len(opened)
            assert list(pool.map(read, range(20))) == [0] * 20
        assert first_burst == 20
        assert len(opened) == first_burst
    finally:
        engine.dispose()
