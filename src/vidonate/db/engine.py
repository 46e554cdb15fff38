"""Engine and session factory, the same code path for SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

_READ_ONLY = "vidonate_read_only"
_QUERY_ONLY = "vidonate_query_only"  # the connection's PRAGMA query_only, as last set
# Starlette runs sync routes on up to 40 threads; a SQLite connection costs a file handle
# and its page cache.
SQLITE_POOL_SIZE = 40


def make_engine(url: str, *, reads_take_write_lock: bool = False) -> Engine:
    """The engine for ``url``. ``reads_take_write_lock`` (SQLite only, the setting
    ``sqlite_reads_take_write_lock``) restores the old path where reads began IMMEDIATE
    too; it exists for bench/sqlite_load.py to measure against, never for production."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            # Enough kept connections for every request thread and job at once: a
            # connection opened past the pool is closed again after one use, and a new
            # SQLite connection re-reads the whole schema at its first statement (that
            # churn was the largest cost of a read under 10 concurrent clients).
            pool_size=SQLITE_POOL_SIZE,
            max_overflow=SQLITE_POOL_SIZE,
        )
        _serialize_sqlite_writes(engine, reads_take_write_lock=reads_take_write_lock)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _serialize_sqlite_writes(engine: Engine, *, reads_take_write_lock: bool = False) -> None:
    """Make every SQLite transaction take the write lock up front.

    pysqlite's default deferred BEGIN lets two transactions read, then both try
    to upgrade to a write and one fails with "database is locked". BEGIN
    IMMEDIATE queues writers instead, which is what the ledger's
    read-balance-then-credit needs; WAL keeps readers unblocked meanwhile.

    A transaction opened with :func:`read_transaction` only reads: it begins DEFERRED and
    so never takes the write lock, and never waits for a writer (WAL gives it a snapshot).
    ``PRAGMA query_only`` makes a write in it fail loudly, as READ ONLY does on PostgreSQL
    (a write there would upgrade to the write lock mid-transaction: a wait, or "database
    is locked" when another writer committed since the snapshot).
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        read_only = conn.get_execution_options().get(_READ_ONLY, False)
        deferred = read_only and not reads_take_write_lock
        # Checked at every BEGIN, so a pooled connection never carries it into a writer
        # (it is off for BEGIN IMMEDIATE, which query_only refuses); set only when it
        # changes, as each statement is a round through the GIL for the request thread.
        query_only = int(deferred)
        if conn.info.get(_QUERY_ONLY) != query_only:
            conn.exec_driver_sql(f"PRAGMA query_only = {query_only}")
            conn.info[_QUERY_ONLY] = query_only
        conn.exec_driver_sql("BEGIN DEFERRED" if deferred else "BEGIN IMMEDIATE")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with factory() as session, session.begin():
        yield session


@contextmanager
def read_transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A unit of work that only reads (pages, API GETs): on SQLite it takes no write lock,
    so it neither waits for writers nor makes them wait. Nothing it changes is kept: it
    always rolls back, and a write in it fails (READ ONLY on PostgreSQL, ``query_only`` on
    SQLite).

    What it loaded stays usable after it, as after :func:`transaction` (whose commit does
    not expire objects): they are detached before the rollback, which would expire them.
    """
    with factory() as session:
        connection = session.connection(execution_options={_READ_ONLY: True})
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SET TRANSACTION READ ONLY")
        try:
            yield session
        finally:
            session.expunge_all()
            session.rollback()
