"""donations.content_expires_at: retention selects expired clips by their own expiry

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from alembic import op

from vidonate.db.models import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("donations") as batch:
        batch.add_column(sa.Column("content_expires_at", UTCDateTime(), nullable=True))
        batch.create_index("ix_donations_content_expires_at", ["content_expires_at"], unique=False)
    # Clips accepted before: acceptance plus their campaign's retention, computed here
    # because date arithmetic on a column differs between SQLite and PostgreSQL.
    donations = sa.table(
        "donations",
        sa.column("id", sa.Integer),
        sa.column("campaign_id", sa.Integer),
        sa.column("status", sa.String),
        sa.column("wrapped_key", sa.LargeBinary),
        sa.column("content_expires_at", UTCDateTime()),
    )
    events = sa.table(
        "donation_events",
        sa.column("donation_id", sa.Integer),
        sa.column("to_status", sa.String),
        sa.column("at", UTCDateTime()),
    )
    campaigns = sa.table(
        "campaigns", sa.column("id", sa.Integer), sa.column("retention_days", sa.Integer)
    )
    accepted_at = (
        sa.select(events.c.donation_id, sa.func.max(events.c.at).label("at"))
        .where(events.c.to_status == "accepted")
        .group_by(events.c.donation_id)
        .subquery()
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(donations.c.id, accepted_at.c.at, campaigns.c.retention_days)
        .join(accepted_at, accepted_at.c.donation_id == donations.c.id)
        .join(campaigns, campaigns.c.id == donations.c.campaign_id)
        .where(donations.c.status == "accepted", donations.c.wrapped_key.is_not(None))
    ).all()
    for donation_id, at, days in rows:
        bind.execute(
            sa.update(donations)
            .where(donations.c.id == donation_id)
            .values(content_expires_at=at + timedelta(days=days))
        )


def downgrade() -> None:
    with op.batch_alter_table("donations") as batch:
        batch.drop_index("ix_donations_content_expires_at")
        batch.drop_column("content_expires_at")
