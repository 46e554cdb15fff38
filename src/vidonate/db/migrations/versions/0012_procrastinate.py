"""procrastinate: the task engine's tables and functions, on PostgreSQL

Jobs on PostgreSQL run on Procrastinate (vidonate.jobs.procrastinate_queue), whose job
rows are written in the application's own transactions: its schema lives in the
application's database. This applies the schema of the pinned Procrastinate version;
SQLite keeps the in-process queue and gets nothing.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from alembic import op
from procrastinate.schema import SchemaManager

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def _run_on_postgresql(script: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    # Straight to psycopg, without parameters: the script's % signs are its own.
    connection = bind.connection.driver_connection
    assert connection is not None  # a live connection: alembic runs inside it
    with connection.cursor() as cursor:
        cursor.execute(script)


def upgrade() -> None:
    _run_on_postgresql(SchemaManager.get_schema())


def downgrade() -> None:
    # Everything the schema created is named procrastinate_*: tables (their triggers and
    # indexes go with them), then functions, then types.
    _run_on_postgresql(
        """
        DO $$
        DECLARE item record;
        BEGIN
          FOR item IN SELECT tablename FROM pg_tables
                      WHERE schemaname = current_schema() AND tablename LIKE 'procrastinate%'
          LOOP EXECUTE format('DROP TABLE IF EXISTS %I CASCADE', item.tablename); END LOOP;
          FOR item IN SELECT p.oid::regprocedure AS signature FROM pg_proc p
                      JOIN pg_namespace n ON n.oid = p.pronamespace
                      WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate%'
          LOOP EXECUTE format('DROP FUNCTION IF EXISTS %s CASCADE', item.signature); END LOOP;
          FOR item IN SELECT t.typname FROM pg_type t
                      JOIN pg_namespace n ON n.oid = t.typnamespace
                      WHERE n.nspname = current_schema() AND t.typname LIKE 'procrastinate%'
                        AND t.typtype IN ('e', 'c')
          LOOP EXECUTE format('DROP TYPE IF EXISTS %I CASCADE', item.typname); END LOOP;
        END $$;
        """
    )
