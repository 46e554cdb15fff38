"""The data model. Every table is created by the Alembic migrations, never by ``create_all``.

Money is integer cents. Times are timezone-aware UTC. Status strings and reason
codes are plain strings so that they read the same in SQL, JSON and the CLI.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, Mapper, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC; always returns aware datetimes, also from SQLite, which keeps no zone."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        # SQLite keeps no zone; psycopg returns its own fixed-offset zone. Both become UTC.
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class Role(enum.StrEnum):
    donor = "donor"
    reviewer = "reviewer"
    admin = "admin"
    auditor = "auditor"


class Placement(enum.StrEnum):
    porch = "porch"
    driveway = "driveway"
    street = "street"
    indoor = "indoor"


class DonationStatus(enum.StrEnum):
    uploading = "uploading"
    received = "received"
    processing = "processing"
    in_review = "in_review"
    accepted = "accepted"
    rejected = "rejected"
    withdrawn = "withdrawn"
    failed = "failed"


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    handle: Mapped[str] = mapped_column(String(64), unique=True)
    leaderboard_opt_in: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    role_rows: Mapped[list[UserRole]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def roles(self) -> set[str]:
        return {r.role for r in self.role_rows}

    def has_role(self, role: Role | str) -> bool:
        return str(role) in self.roles


class UserRole(Base):
    __tablename__ = "user_roles"
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(16), primary_key=True)


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # Only the sha256 of the secret is kept: the token is 256 random bits, so the hash
    # cannot be reversed by guessing, and a leaked table holds no usable token.
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(64), default="cli")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebSession(Base):
    """A signed-in browser. The cookie holds the secret; signing out deletes the row, so
    a copy of the cookie kept from before signs nobody in."""

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Camera(Base):
    __tablename__ = "cameras"
    __table_args__ = (UniqueConstraint("owner_id", "label"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    label: Mapped[str] = mapped_column(String(80))
    placement: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Campaign(Base):
    __tablename__ = "campaigns"
    __table_args__ = (
        CheckConstraint("reward_cents >= 0", name="reward_not_negative"),
        CheckConstraint("budget_cents >= 0", name="budget_not_negative"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    reward_cents: Mapped[int] = mapped_column(Integer, default=200)
    paid_cap_per_camera: Mapped[int] = mapped_column(Integer, default=10)
    budget_cents: Mapped[int] = mapped_column(BigInteger)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    allow_staged: Mapped[bool] = mapped_column(Boolean, default=True)
    # "each_angle": every accepted angle of an incident is paid; "once_per_incident": one is.
    incident_payment: Mapped[str] = mapped_column(String(20), default="each_angle")
    # Set only by an admin, on purpose, for children or the inside of homes; such a campaign
    # may never pay (paying would buy exactly the footage these programs were blamed for).
    sensitive_data: Mapped[bool] = mapped_column(Boolean, default=False)
    # Days a processed clip is kept after acceptance; stated in the consent text.
    retention_days: Mapped[int] = mapped_column(Integer, default=730)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    categories: Mapped[list[CampaignCategory]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="CampaignCategory.category"
    )

    def category_names(self) -> list[str]:
        return [c.category for c in self.categories]


class CampaignCategory(Base):
    __tablename__ = "campaign_categories"
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    category: Mapped[str] = mapped_column(String(40), primary_key=True)
    target: Mapped[int] = mapped_column(Integer, default=20_000)


class ConsentText(Base):
    """A version of a campaign's consent text. The newest version is the one in force."""

    __tablename__ = "consent_texts"
    __table_args__ = (UniqueConstraint("campaign_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    content_sha256: Mapped[str] = mapped_column(String(64))
    # What donors allow under this version; dataset releases take only clips whose
    # consent names "training".
    purposes: Mapped[list[str]] = mapped_column(JSON, default=lambda: ["training"])
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConsentAcceptance(Base):
    __tablename__ = "consent_acceptances"
    __table_args__ = (UniqueConstraint("user_id", "consent_text_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    consent_text_id: Mapped[int] = mapped_column(ForeignKey("consent_texts.id"))
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Donation(Base):
    __tablename__ = "donations"
    id: Mapped[int] = mapped_column(primary_key=True)
    donor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id"), index=True)
    consent_text_id: Mapped[int] = mapped_column(ForeignKey("consent_texts.id"))
    category: Mapped[str] = mapped_column(String(40))
    staged: Mapped[bool] = mapped_column(Boolean)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # False when the donor gave no time and recorded_at is the upload time: such a clip
    # joins incidents by key only, never by an overlap that means nothing.
    recorded_at_known: Mapped[bool] = mapped_column(Boolean, default=True)
    incident_key: Mapped[str | None] = mapped_column(String(80), nullable=True, index=True)
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id"), nullable=True, index=True
    )
    duplicate_of: Mapped[int | None] = mapped_column(
        ForeignKey("donations.id"), nullable=True, index=True
    )
    duplicate_score: Mapped[float | None] = mapped_column(nullable=True)
    redaction_flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    residual_face_rate: Mapped[float | None] = mapped_column(nullable=True)
    # The text audit: distinct strings PP-OCR read in sampled input frames, and how many of
    # them it still reads in the same frames of the redacted clip (any flags the clip).
    text_strings_read: Mapped[int | None] = mapped_column(nullable=True)
    text_strings_left: Mapped[int | None] = mapped_column(nullable=True)
    # Mean share of frame area under a mosaic, so over-redaction shows as well as misses.
    redacted_share: Mapped[float | None] = mapped_column(nullable=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    failure_reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    failure_detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    rejection_reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    unpaid_reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    source_filename: Mapped[str] = mapped_column(String(255), default="")
    source_size: Mapped[int] = mapped_column(BigInteger)
    source_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    video_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    thumbnail_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # This clip's own key, wrapped by the donor's data key (see vidonate.crypto.vault).
    # NULL once withdrawn: from then on no copy of its blobs can be read.
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # When an accepted clip's content is destroyed: acceptance plus its campaign's
    # retention_days, fixed at acceptance (what the consent text promised then).
    content_expires_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, nullable=True, index=True
    )
    # sha256 of the processed video's plaintext: the content hash dataset manifests list.
    video_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Made by vidonate's scene synthesizer, not filmed: marked wherever the clip appears.
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    # Ground-truth event times [{"start", "end", "label"}] where known (synthetic scenes).
    events: Mapped[list[dict] | None] = mapped_column(JSON, nullable=True)
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    duration_s: Mapped[float | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Incident(Base):
    """One scene seen by several of a donor's cameras: one key, or overlapping recordings."""

    __tablename__ = "incidents"
    id: Mapped[int] = mapped_column(primary_key=True)
    donor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ClipSignature(Base):
    """Perceptual hashes of a processed clip's sampled frames, for near-duplicate search."""

    __tablename__ = "clip_signatures"
    id: Mapped[int] = mapped_column(primary_key=True)
    donation_id: Mapped[int] = mapped_column(
        ForeignKey("donations.id", ondelete="CASCADE"), unique=True
    )
    hashes: Mapped[bytes] = mapped_column(LargeBinary)  # n × 32 bytes, packed 256-bit hashes
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DonationEvent(Base):
    """One status transition, with who caused it and why. Never updated."""

    __tablename__ = "donation_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    donation_id: Mapped[int] = mapped_column(
        ForeignKey("donations.id", ondelete="CASCADE"), index=True
    )
    from_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_status: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Upload(Base):
    """A tus upload; its bytes are parts in the blob store until processing consumes them."""

    __tablename__ = "uploads"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    donation_id: Mapped[int] = mapped_column(
        ForeignKey("donations.id", ondelete="CASCADE"), unique=True
    )
    donor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    length: Mapped[int] = mapped_column(BigInteger)
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The Upload-Metadata header as the client sent it: tus has HEAD return it verbatim.
    upload_metadata: Mapped[str | None] = mapped_column(Text, nullable=True)
    parts: Mapped[list[UploadPart]] = relationship(
        cascade="all, delete-orphan", order_by="UploadPart.offset", lazy="selectin"
    )


class UploadPart(Base):
    __tablename__ = "upload_parts"
    __table_args__ = (UniqueConstraint("upload_id", "offset"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    upload_id: Mapped[str] = mapped_column(ForeignKey("uploads.id", ondelete="CASCADE"))
    offset: Mapped[int] = mapped_column(BigInteger)
    size: Mapped[int] = mapped_column(BigInteger)
    key: Mapped[str] = mapped_column(String(255))


class ReviewVote(Base):
    __tablename__ = "review_votes"
    __table_args__ = (UniqueConstraint("donation_id", "reviewer_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    donation_id: Mapped[int] = mapped_column(ForeignKey("donations.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    decision: Mapped[str] = mapped_column(String(8))
    category: Mapped[str] = mapped_column(String(40))
    staged: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReviewAssignment(Base):
    """A clip the review queue gave a reviewer: what they may watch while it is in review."""

    __tablename__ = "review_assignments"
    donation_id: Mapped[int] = mapped_column(
        ForeignKey("donations.id", ondelete="CASCADE"), primary_key=True
    )
    reviewer_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A gold clip (models_rewards.GoldClip) served as if it were any other.
    gold: Mapped[bool] = mapped_column(Boolean, default=False)


class LedgerAccount(Base):
    """funding (money from outside) → campaign budget → donor."""

    __tablename__ = "ledger_accounts"
    id: Mapped[int] = mapped_column(primary_key=True)
    # "funding", "campaign:<id>" or "donor:<id>": unique even where SQL would let NULLs repeat.
    key: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"), nullable=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class LedgerTransaction(Base):
    __tablename__ = "ledger_transactions"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    # At most one reward per donation: the database itself refuses a second credit.
    donation_id: Mapped[int | None] = mapped_column(
        ForeignKey("donations.id"), nullable=True, unique=True
    )
    memo: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    entries: Mapped[list[LedgerEntry]] = relationship(lazy="selectin")


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"
    id: Mapped[int] = mapped_column(primary_key=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)


class AuditEntry(Base):
    """One access to clip content. Each entry carries the hash of the one before it, so a
    changed, deleted or reordered entry breaks the chain. It holds ids and codes only:
    no clip content and no raw personal data."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    action: Mapped[str] = mapped_column(String(32))
    purpose: Mapped[str] = mapped_column(String(32))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)


class DonorKey(Base):
    """A donor's data key, wrapped by the master key ``key_id``. Deleting the row (when the
    donor withdraws everything) destroys the key: crypto-shredding."""

    __tablename__ = "donor_keys"
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    key_id: Mapped[str] = mapped_column(String(32), index=True)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    rewrapped_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Withdrawal(Base):
    """A donor withdrew one clip (``scope`` "clip") or everything ("all")."""

    __tablename__ = "withdrawals"
    id: Mapped[int] = mapped_column(primary_key=True)
    donor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    scope: Mapped[str] = mapped_column(String(8))
    donation_id: Mapped[int | None] = mapped_column(
        ForeignKey("donations.id"), nullable=True, index=True
    )
    clips: Mapped[int] = mapped_column(Integer, default=0)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the keys were destroyed, in the same transaction as the request: from then on
    # nothing withdrawn can be decrypted, whatever copies of the blobs exist.
    unreadable_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    blobs_deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    blobs_deleted: Mapped[int] = mapped_column(Integer, default=0)


class Disclosure(Base):
    """Clips or data handed to anyone outside vidonate (a court order, say). Public counts."""

    __tablename__ = "disclosures"
    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(200))
    legal_basis: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    donations: Mapped[int] = mapped_column(Integer, default=0)
    disclosed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Release(Base):
    """A frozen, versioned dataset release. Never updated: a new release is a new row."""

    __tablename__ = "releases"
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    seed: Mapped[int] = mapped_column(Integer)
    split_ratios: Mapped[dict] = mapped_column(JSON)
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("releases.id"), nullable=True)
    code_version: Mapped[str] = mapped_column(String(64))
    clips: Mapped[int] = mapped_column(Integer)
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    withdrawn_since_previous: Mapped[list[int]] = mapped_column(JSON, default=list)
    diff: Mapped[dict] = mapped_column(JSON, default=dict)
    datasheet: Mapped[str] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReleaseClip(Base):
    """One clip of a release, as the manifest lists it."""

    __tablename__ = "release_clips"
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id"), primary_key=True)
    donation_id: Mapped[int] = mapped_column(ForeignKey("donations.id"), primary_key=True)
    split: Mapped[str] = mapped_column(String(8))
    label: Mapped[str] = mapped_column(String(40))
    staged: Mapped[bool] = mapped_column(Boolean)
    synthetic: Mapped[bool] = mapped_column(Boolean)
    incident_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    camera_id: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    duration_s: Mapped[float | None] = mapped_column(nullable=True)
    events: Mapped[list[dict] | None] = mapped_column(JSON, nullable=True)


class DetectorModel(Base):
    """A trained detector with its lineage: the release it learned from, the code, metrics."""

    __tablename__ = "detector_models"
    id: Mapped[int] = mapped_column(primary_key=True)
    release_id: Mapped[int | None] = mapped_column(ForeignKey("releases.id"), nullable=True)
    code_version: Mapped[str] = mapped_column(String(64))
    artifact_key: Mapped[str] = mapped_column(String(255))
    artifact_sha256: Mapped[str] = mapped_column(String(64))
    config: Mapped[dict] = mapped_column(JSON, default=dict)
    metrics: Mapped[dict] = mapped_column(JSON, default=dict)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Job(Base):
    """A background job. State lives here so that jobs survive a restart."""

    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(12), default="queued", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    run_after: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ScheduledTask(Base):
    """A periodic task that runs once per deployment, not once per process: the worker
    that moves ``next_run_at`` forward (a conditional UPDATE) runs it; the others see the
    row moved and wait for the next turn (jobs/schedule.py)."""

    __tablename__ = "scheduled_tasks"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_run_by: Mapped[str | None] = mapped_column(String(80), nullable=True)


@event.listens_for(Release, "before_update")
@event.listens_for(Release, "before_delete")
@event.listens_for(ReleaseClip, "before_update")
@event.listens_for(ReleaseClip, "before_delete")
def _releases_are_immutable(_mapper: Mapper[Any], _connection: Connection, target: object) -> None:
    raise RuntimeError(f"dataset releases are immutable; refusing to change {target!r}")


@event.listens_for(LedgerEntry, "before_update")
@event.listens_for(LedgerEntry, "before_delete")
@event.listens_for(LedgerTransaction, "before_update")
@event.listens_for(LedgerTransaction, "before_delete")
def _ledger_is_append_only(_mapper: Mapper[Any], _connection: Connection, target: object) -> None:
    raise RuntimeError(f"the ledger is append-only; refusing to change {target!r}")


# The rewards and review-quality tables, and the detector's serving and interval tables,
# live in modules of their own; importing them here puts them in ``Base.metadata`` wherever
# the models are loaded (migrations, the check).
from vidonate.db import models_detect as _models_detect  # noqa: E402, F401
from vidonate.db import models_rewards as _models_rewards  # noqa: E402, F401
