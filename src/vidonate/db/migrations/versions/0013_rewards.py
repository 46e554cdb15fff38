"""rewards and review quality: badges (with the starter set), weekly goals, the catalogue,
redemptions, gift-card codes, payouts and batches, holds, tax details, gold clips and
answers, scene links across accounts

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from vidonate.db.models import UTCDateTime

# The starter set, as data (rewards/badges.py reads the rule; operators may add more).
# Frozen here as this migration shipped it: a later change is a later migration.
STARTER_BADGES: list[tuple[str, str, str, dict, str]] = [
    (
        "first_clip",
        "First clip",
        "Your first accepted clip.",
        {"kind": "accepted", "at_least": 1},
        "star",
    ),
    (
        "clips_10",
        "Ten clips",
        "10 accepted clips.",
        {"kind": "accepted", "at_least": 10},
        "medal-bronze",
    ),
    (
        "clips_100",
        "A hundred clips",
        "100 accepted clips.",
        {"kind": "accepted", "at_least": 100},
        "medal-silver",
    ),
    (
        "clips_1000",
        "A thousand clips",
        "1,000 accepted clips.",
        {"kind": "accepted", "at_least": 1000},
        "medal-gold",
    ),
    (
        "package_theft",
        "Porch watch",
        "An accepted clip of a package theft.",
        {"kind": "accepted_in_category", "category": "package_theft"},
        "package",
    ),
    (
        "car_door_tampering",
        "Kerb watch",
        "An accepted clip of car-door-handle tampering.",
        {"kind": "accepted_in_category", "category": "car_door_tampering"},
        "car",
    ),
    (
        "normal_activity",
        "Everyday scenes",
        "An accepted clip of normal activity.",
        {"kind": "accepted_in_category", "category": "normal_activity"},
        "sun",
    ),
    (
        "staged_attested",
        "Re-enactor",
        "An accepted staged re-enactment, fully attested.",
        {"kind": "staged_attested"},
        "clapper",
    ),
    (
        "multi_angle",
        "Every angle",
        "An accepted incident seen by two or more of your cameras.",
        {"kind": "multi_angle", "angles": 2},
        "cameras",
    ),
    (
        "streak_2",
        "Two-week streak",
        "An accepted clip in each of 2 weeks in a row.",
        {"kind": "weekly_streak", "weeks": 2},
        "flame",
    ),
    (
        "streak_4",
        "Four-week streak",
        "An accepted clip in each of 4 weeks in a row.",
        {"kind": "weekly_streak", "weeks": 4},
        "flame-2",
    ),
    (
        "streak_12",
        "Twelve-week streak",
        "An accepted clip in each of 12 weeks in a row.",
        {"kind": "weekly_streak", "weeks": 12},
        "flame-3",
    ),
    (
        "agreeing_votes_100",
        "Steady eye",
        "100 review votes that agreed with the decision.",
        {"kind": "agreeing_votes", "at_least": 100},
        "eye",
    ),
]


revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "badge_definitions",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("rule", sa.JSON(), nullable=False),
        sa.Column("icon", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "catalogue_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("price_cents", sa.BigInteger(), nullable=False),
        sa.Column("face_value_cents", sa.BigInteger(), nullable=True),
        sa.Column("stock", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "face_value_cents IS NULL OR face_value_cents > 0", name="face_value_positive"
        ),
        sa.CheckConstraint("price_cents > 0", name="price_positive"),
        sa.CheckConstraint("stock >= 0", name="stock_not_negative"),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "payout_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender_batch_id", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("total_cents", sa.BigInteger(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("body_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("provider", "period"),
        sa.UniqueConstraint("sender_batch_id"),
    )
    op.create_table(
        "payout_destinations",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("sealed_receiver", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_table(
        "payout_holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("open_reason", sa.String(length=40), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("released_at", UTCDateTime(), nullable=True),
        sa.Column("released_by", sa.Integer(), nullable=True),
        sa.Column("release_note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["released_by"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "open_reason"),
    )
    with op.batch_alter_table("payout_holds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payout_holds_user_id"), ["user_id"], unique=False)

    op.create_table(
        "tax_details",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("supplied_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_table(
        "weekly_goals",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("clips", sa.Integer(), nullable=False),
        sa.Column("set_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("clips > 0", name="goal_positive"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_table(
        "badge_awards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("badge_code", sa.String(length=40), nullable=False),
        sa.Column("donation_id", sa.Integer(), nullable=True),
        sa.Column("awarded_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["badge_code"],
            ["badge_definitions.code"],
        ),
        sa.ForeignKeyConstraint(["donation_id"], ["donations.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "badge_code"),
    )
    with op.batch_alter_table("badge_awards", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_badge_awards_user_id"), ["user_id"], unique=False)

    op.create_table(
        "gold_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("donation_id", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=8), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("correct", sa.Boolean(), nullable=False),
        sa.Column("answered_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["donation_id"], ["donations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["reviewer_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("donation_id", "reviewer_id"),
    )
    with op.batch_alter_table("gold_answers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_gold_answers_donation_id"), ["donation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_gold_answers_reviewer_id"), ["reviewer_id"], unique=False
        )

    op.create_table(
        "gold_clips",
        sa.Column("donation_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=8), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("marked_by", sa.Integer(), nullable=True),
        sa.Column("marked_at", UTCDateTime(), nullable=False),
        sa.Column("retired_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["donation_id"], ["donations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["marked_by"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("donation_id"),
    )
    op.create_table(
        "scene_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("donation_id", sa.Integer(), nullable=False),
        sa.Column("other_donation_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Double(), nullable=False),
        sa.Column("found_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("donation_id < other_donation_id", name="scene_link_ordered"),
        sa.ForeignKeyConstraint(["donation_id"], ["donations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["other_donation_id"], ["donations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("donation_id", "other_donation_id"),
    )
    with op.batch_alter_table("scene_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_scene_links_donation_id"), ["donation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_scene_links_other_donation_id"), ["other_donation_id"], unique=False
        )

    op.create_table(
        "payouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("client_key", sa.String(length=80), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("ledger_transaction_id", sa.Integer(), nullable=False),
        sa.Column("requested_at", UTCDateTime(), nullable=False),
        sa.Column("paid_at", UTCDateTime(), nullable=True),
        sa.Column("paid_by", sa.Integer(), nullable=True),
        sa.CheckConstraint("amount_cents > 0", name="payout_positive"),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["payout_batches.id"],
        ),
        sa.ForeignKeyConstraint(
            ["ledger_transaction_id"],
            ["ledger_transactions.id"],
        ),
        sa.ForeignKeyConstraint(
            ["paid_by"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ledger_transaction_id"),
        sa.UniqueConstraint("user_id", "client_key"),
    )
    with op.batch_alter_table("payouts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payouts_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_payouts_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_payouts_user_id"), ["user_id"], unique=False)

    op.create_table(
        "redemptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("client_key", sa.String(length=80), nullable=False),
        sa.Column("price_cents", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("ledger_transaction_id", sa.Integer(), nullable=False),
        sa.Column("sealed_address", sa.LargeBinary(), nullable=True),
        sa.Column("shipped_at", UTCDateTime(), nullable=True),
        sa.Column("shipped_by", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["catalogue_items.id"],
        ),
        sa.ForeignKeyConstraint(
            ["ledger_transaction_id"],
            ["ledger_transactions.id"],
        ),
        sa.ForeignKeyConstraint(
            ["shipped_by"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ledger_transaction_id"),
        sa.UniqueConstraint("user_id", "client_key"),
    )
    with op.batch_alter_table("redemptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_redemptions_item_id"), ["item_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_redemptions_user_id"), ["user_id"], unique=False)

    op.create_table(
        "gift_card_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=True),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=True),
        sa.Column("sealed_code", sa.LargeBinary(), nullable=False),
        sa.Column("code_sha256", sa.String(length=64), nullable=False),
        sa.Column("redemption_id", sa.Integer(), nullable=True),
        sa.Column("added_by", sa.Integer(), nullable=True),
        sa.Column("added_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["added_by"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["catalogue_items.id"],
        ),
        sa.ForeignKeyConstraint(
            ["redemption_id"],
            ["redemptions.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code_sha256"),
        sa.UniqueConstraint("redemption_id"),
    )
    with op.batch_alter_table("gift_card_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gift_card_codes_item_id"), ["item_id"], unique=False)

    with op.batch_alter_table("review_assignments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("gold", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    badges = sa.table(
        "badge_definitions",
        sa.column("code", sa.String),
        sa.column("name", sa.String),
        sa.column("description", sa.Text),
        sa.column("rule", sa.JSON),
        sa.column("icon", sa.String),
        sa.column("position", sa.Integer),
        sa.column("created_at", UTCDateTime()),
    )
    now = datetime.now(UTC)
    op.bulk_insert(
        badges,
        [
            {"code": code, "name": name, "description": text, "rule": rule, "icon": icon}
            | {"position": n, "created_at": now}
            for n, (code, name, text, rule, icon) in enumerate(STARTER_BADGES)
        ],
    )


def downgrade() -> None:
    with op.batch_alter_table("review_assignments", schema=None) as batch_op:
        batch_op.drop_column("gold")

    with op.batch_alter_table("gift_card_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gift_card_codes_item_id"))

    op.drop_table("gift_card_codes")
    with op.batch_alter_table("redemptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_redemptions_user_id"))
        batch_op.drop_index(batch_op.f("ix_redemptions_item_id"))

    op.drop_table("redemptions")
    with op.batch_alter_table("payouts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payouts_user_id"))
        batch_op.drop_index(batch_op.f("ix_payouts_status"))
        batch_op.drop_index(batch_op.f("ix_payouts_batch_id"))

    op.drop_table("payouts")
    with op.batch_alter_table("scene_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scene_links_other_donation_id"))
        batch_op.drop_index(batch_op.f("ix_scene_links_donation_id"))

    op.drop_table("scene_links")
    op.drop_table("gold_clips")
    with op.batch_alter_table("gold_answers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gold_answers_reviewer_id"))
        batch_op.drop_index(batch_op.f("ix_gold_answers_donation_id"))

    op.drop_table("gold_answers")
    with op.batch_alter_table("badge_awards", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_badge_awards_user_id"))

    op.drop_table("badge_awards")
    op.drop_table("weekly_goals")
    op.drop_table("tax_details")
    with op.batch_alter_table("payout_holds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payout_holds_user_id"))

    op.drop_table("payout_holds")
    op.drop_table("payout_destinations")
    op.drop_table("payout_batches")
    op.drop_table("catalogue_items")
    op.drop_table("badge_definitions")
