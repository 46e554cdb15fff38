"""text audit counts and the share of frame area redacted, per donation

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 03:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("donations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("text_strings_read", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("text_strings_left", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("redacted_share", sa.Double(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("donations", schema=None) as batch_op:
        batch_op.drop_column("redacted_share")
        batch_op.drop_column("text_strings_left")
        batch_op.drop_column("text_strings_read")
