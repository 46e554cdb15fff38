"""the detector after training: model promotions (which model is served), reviewers'
event intervals, the intervals they agree on, and the serving model's suggestions and
runs

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vidonate.db.models import UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "interval_suggestions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("donation_id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("start_s", sa.Float(), nullable=False),
        sa.Column("end_s", sa.Float(), nullable=False),
        sa.Column("label", sa.String(length=40), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("start_s >= 0 AND end_s > start_s", name="interval_suggestion_span"),
        sa.ForeignKeyConstraint(["donation_id"], ["donations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["detector_models.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("interval_suggestions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_interval_suggestions_donation_id"), ["donation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_interval_suggestions_model_id"), ["model_id"], unique=False
        )

    op.create_table(
        "model_promotions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("previous_model_id", sa.Integer(), nullable=True),
        sa.Column("forced", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("comparison", sa.JSON(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["detector_models.id"],
        ),
        sa.ForeignKeyConstraint(
            ["previous_model_id"],
            ["detector_models.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("model_promotions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_model_promotions_model_id"), ["model_id"], unique=False
        )

    op.create_table(
        "verified_intervals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("donation_id", sa.Integer(), nullable=False),
        sa.Column("start_s", sa.Float(), nullable=False),
        sa.Column("end_s", sa.Float(), nullable=False),
        sa.Column("label", sa.String(length=40), nullable=False),
        sa.Column("reviewers", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("start_s >= 0 AND end_s > start_s", name="verified_interval_span"),
        sa.ForeignKeyConstraint(["donation_id"], ["donations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("verified_intervals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_verified_intervals_donation_id"), ["donation_id"], unique=False
        )

    op.create_table(
        "review_intervals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("donation_id", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("start_s", sa.Float(), nullable=False),
        sa.Column("end_s", sa.Float(), nullable=False),
        sa.Column("label", sa.String(length=40), nullable=False),
        sa.Column("suggestion_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("start_s >= 0 AND end_s > start_s", name="review_interval_span"),
        sa.ForeignKeyConstraint(["donation_id"], ["donations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["reviewer_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["suggestion_id"], ["interval_suggestions.id"], ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("review_intervals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_review_intervals_donation_id"), ["donation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_review_intervals_reviewer_id"), ["reviewer_id"], unique=False
        )
    op.create_table(
        "suggestion_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("donation_id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["donation_id"], ["donations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["model_id"], ["detector_models.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("donation_id", "model_id"),
    )
    with op.batch_alter_table("suggestion_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_suggestion_runs_donation_id"), ["donation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_suggestion_runs_model_id"), ["model_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("suggestion_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_suggestion_runs_model_id"))
        batch_op.drop_index(batch_op.f("ix_suggestion_runs_donation_id"))

    op.drop_table("suggestion_runs")
    with op.batch_alter_table("review_intervals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_intervals_reviewer_id"))
        batch_op.drop_index(batch_op.f("ix_review_intervals_donation_id"))

    op.drop_table("review_intervals")
    with op.batch_alter_table("verified_intervals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_verified_intervals_donation_id"))

    op.drop_table("verified_intervals")
    with op.batch_alter_table("model_promotions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_model_promotions_model_id"))

    op.drop_table("model_promotions")
    with op.batch_alter_table("interval_suggestions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_interval_suggestions_model_id"))
        batch_op.drop_index(batch_op.f("ix_interval_suggestions_donation_id"))

    op.drop_table("interval_suggestions")
