"""The data model of what donors earn and spend, and of what keeps reviews honest.

Badges, weekly goals, the reward catalogue and its redemptions, payouts and their batches,
fraud and compliance holds, tax details; gold clips and reviewers' answers on them, and
links between clips of different accounts that show one camera scene.

Money stays in the ledger (``models.LedgerEntry``): a redemption or a payout row points at
the ledger transaction that moved the donor's balance, and holds no amount of its own that
could drift from it. Personal data a donor gives here (a shipping address, tax details,
a payout address) and the gift-card codes are sealed by the vault, never stored in clear.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from vidonate.db.models import Base, UTCDateTime, utcnow


class BadgeDefinition(Base):
    """A badge or medal, as data: ``rule`` says what earns it (rewards/badges.py reads it)."""

    __tablename__ = "badge_definitions"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    description: Mapped[str] = mapped_column(Text)
    # {"kind": "accepted", "at_least": 10}, {"kind": "weekly_streak", "weeks": 4}, ...
    rule: Mapped[dict] = mapped_column(JSON)
    icon: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(Integer, default=0)  # display order
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BadgeAward(Base):
    """A badge a user earned, once; the vote or clip acceptance that earned it."""

    __tablename__ = "badge_awards"
    __table_args__ = (UniqueConstraint("user_id", "badge_code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    badge_code: Mapped[str] = mapped_column(ForeignKey("badge_definitions.code"))
    donation_id: Mapped[int | None] = mapped_column(
        ForeignKey("donations.id", ondelete="SET NULL"), nullable=True
    )
    awarded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WeeklyGoal(Base):
    """The accepted clips a donor means to reach each week (ISO weeks, UTC)."""

    __tablename__ = "weekly_goals"
    __table_args__ = (CheckConstraint("clips > 0", name="goal_positive"),)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    clips: Mapped[int] = mapped_column(Integer)
    set_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CatalogueItem(Base):
    """A gift card (codes in ``gift_card_codes``) or a product (``stock`` units)."""

    __tablename__ = "catalogue_items"
    __table_args__ = (
        CheckConstraint("price_cents > 0", name="price_positive"),
        CheckConstraint(
            "face_value_cents IS NULL OR face_value_cents > 0", name="face_value_positive"
        ),
        CheckConstraint("stock >= 0", name="stock_not_negative"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))  # "gift_card" or "product"
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    price_cents: Mapped[int] = mapped_column(BigInteger)  # taken from the donor's balance
    face_value_cents: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    stock: Mapped[int] = mapped_column(Integer, default=0)  # products only
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Redemption(Base):
    """A donor spent balance on a catalogue item: one ledger transfer, one inventory claim.

    ``client_key`` makes a retried request find the first one instead of redeeming again.
    """

    __tablename__ = "redemptions"
    __table_args__ = (UniqueConstraint("user_id", "client_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("catalogue_items.id"), index=True)
    client_key: Mapped[str] = mapped_column(String(80))
    price_cents: Mapped[int] = mapped_column(BigInteger)
    # "fulfilled" (a gift card's code is the donor's), "awaiting_shipment", "shipped"
    status: Mapped[str] = mapped_column(String(20))
    ledger_transaction_id: Mapped[int] = mapped_column(
        ForeignKey("ledger_transactions.id"), unique=True
    )
    # Sealed under the donor's key; NULL again once the operator marks it shipped.
    sealed_address: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    shipped_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GiftCardCode(Base):
    """One code of a gift card. In stock it is sealed under a key of its own (wrapped by
    the master key); once redeemed it is sealed again under the donor's key, so that
    withdrawing everything shreds it too, and its own key is dropped."""

    __tablename__ = "gift_card_codes"
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("catalogue_items.id"), index=True)
    key_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    sealed_code: Mapped[bytes] = mapped_column(LargeBinary)
    # sha256 of the code: a code added twice is refused without opening every sealed one.
    code_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    redemption_id: Mapped[int | None] = mapped_column(
        ForeignKey("redemptions.id"), nullable=True, unique=True
    )
    added_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PayoutDestination(Base):
    """Where a donor's cash payouts go (a PayPal receiver), sealed under the donor's key."""

    __tablename__ = "payout_destinations"
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    provider: Mapped[str] = mapped_column(String(16))
    sealed_receiver: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PayoutBatch(Base):
    """One exported payout file for one provider and one closed period. Exporting the
    period again returns this row's file, byte for byte: never a second payment."""

    __tablename__ = "payout_batches"
    __table_args__ = (UniqueConstraint("provider", "period"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    sender_batch_id: Mapped[str] = mapped_column(String(64), unique=True)
    provider: Mapped[str] = mapped_column(String(16))
    period: Mapped[str] = mapped_column(String(7))  # "YYYY-MM", a calendar month (UTC)
    items: Mapped[int] = mapped_column(Integer)
    total_cents: Mapped[int] = mapped_column(BigInteger)
    body: Mapped[str] = mapped_column(Text)
    body_sha256: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Payout(Base):
    """A donor's balance paid out in cash. The ledger moves it out of the balance when it
    is requested (so it cannot be spent twice); a batch export or an operator pays it."""

    __tablename__ = "payouts"
    __table_args__ = (
        UniqueConstraint("user_id", "client_key"),
        CheckConstraint("amount_cents > 0", name="payout_positive"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    client_key: Mapped[str] = mapped_column(String(80))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    provider: Mapped[str] = mapped_column(String(16))  # "manual" or "paypal_batch"
    # "requested", "exported" (in a batch file), "paid", "cancelled" (money returned)
    status: Mapped[str] = mapped_column(String(12), index=True)
    period: Mapped[str] = mapped_column(String(7))  # the month it was requested in
    batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("payout_batches.id"), nullable=True, index=True
    )
    ledger_transaction_id: Mapped[int] = mapped_column(
        ForeignKey("ledger_transactions.id"), unique=True
    )
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    paid_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class PayoutHold(Base):
    """Payouts and redemptions of a donor wait for an operator (or for tax details).

    ``open_reason`` is the reason while the hold is open and NULL once released, so that
    a donor has at most one open hold per reason (NULLs never collide in a unique key).
    """

    __tablename__ = "payout_holds"
    __table_args__ = (UniqueConstraint("user_id", "open_reason"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    reason: Mapped[str] = mapped_column(String(40))
    open_reason: Mapped[str | None] = mapped_column(String(40), nullable=True)
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    released_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    release_note: Mapped[str] = mapped_column(Text, default="")


class TaxDetails(Base):
    """A donor's tax details, sealed under their key; never in any export to a provider."""

    __tablename__ = "tax_details"
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    supplied_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GoldClip(Base):
    """A clip whose right answer is known, served to reviewers among the others."""

    __tablename__ = "gold_clips"
    donation_id: Mapped[int] = mapped_column(
        ForeignKey("donations.id", ondelete="CASCADE"), primary_key=True
    )
    decision: Mapped[str] = mapped_column(String(8))  # "accept" or "reject"
    category: Mapped[str] = mapped_column(String(40))
    marked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class GoldAnswer(Base):
    """A reviewer's answer on a gold clip, and whether it matched the known one."""

    __tablename__ = "gold_answers"
    __table_args__ = (UniqueConstraint("donation_id", "reviewer_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    donation_id: Mapped[int] = mapped_column(
        ForeignKey("donations.id", ondelete="CASCADE"), index=True
    )
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    decision: Mapped[str] = mapped_column(String(8))
    category: Mapped[str] = mapped_column(String(40))
    correct: Mapped[bool] = mapped_column(Boolean)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SceneLink(Base):
    """Two clips of different accounts that show one camera scene (the same background,
    found from dedupe's perceptual hashes): grounds for a hold, and for keeping each
    account's reviewers off the other's clips. Stored once per pair, lower id first."""

    __tablename__ = "scene_links"
    __table_args__ = (
        UniqueConstraint("donation_id", "other_donation_id"),
        CheckConstraint("donation_id < other_donation_id", name="scene_link_ordered"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    donation_id: Mapped[int] = mapped_column(
        ForeignKey("donations.id", ondelete="CASCADE"), index=True
    )
    other_donation_id: Mapped[int] = mapped_column(
        ForeignKey("donations.id", ondelete="CASCADE"), index=True
    )
    score: Mapped[float] = mapped_column()
    found_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
