"""The data model of the detector's life after training: which model is served, and the
event intervals people and models mark on donated clips.

- ``ModelPromotion``: each time a model becomes the one the detect endpoint serves, with
  both models' numbers on the gate (or the reason it was forced).
- ``ReviewInterval``: an event interval one reviewer marked on a clip (start, end, label).
- ``VerifiedInterval``: an interval the reviewers agree on; only these train a detector on
  a donated clip, and releases carry them in the manifest.
- ``IntervalSuggestion``: an interval the serving model found when the clip reached review,
  offered to reviewers as a suggestion, never counted as a verdict.
- ``SuggestionRun``: that a model was run on a clip, and how many events it found, so that
  a clip the model found nothing in is told apart from one it never saw.

Intervals are seconds on the clip's own timeline. They are not donor content (no pixel of
the clip is in them) but they describe it, so they go when the clip goes (cascade).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from vidonate.db.models import Base, UTCDateTime, utcnow

# A clip's interval is within its own timeline and lasts a moment at least.
_INTERVAL_CHECK = "start_s >= 0 AND end_s > start_s"


class ModelPromotion(Base):
    """``model_id`` became the served model, replacing ``previous_model_id``."""

    __tablename__ = "model_promotions"
    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("detector_models.id"), index=True)
    previous_model_id: Mapped[int | None] = mapped_column(
        ForeignKey("detector_models.id"), nullable=True
    )
    forced: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Both models' numbers on each gate check, and each check's verdict.
    comparison: Mapped[dict] = mapped_column(JSON, default=dict)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReviewInterval(Base):
    """One reviewer's event interval on a clip."""

    __tablename__ = "review_intervals"
    __table_args__ = (CheckConstraint(_INTERVAL_CHECK, name="review_interval_span"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    donation_id: Mapped[int] = mapped_column(
        ForeignKey("donations.id", ondelete="CASCADE"), index=True
    )
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    label: Mapped[str] = mapped_column(String(40))
    # The suggestion this interval confirms or moves, if it started as one.
    suggestion_id: Mapped[int | None] = mapped_column(
        ForeignKey("interval_suggestions.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class VerifiedInterval(Base):
    """An interval the reviewers agree on: the clip's ground truth for training."""

    __tablename__ = "verified_intervals"
    __table_args__ = (CheckConstraint(_INTERVAL_CHECK, name="verified_interval_span"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    donation_id: Mapped[int] = mapped_column(
        ForeignKey("donations.id", ondelete="CASCADE"), index=True
    )
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    label: Mapped[str] = mapped_column(String(40))
    reviewers: Mapped[int] = mapped_column(Integer)  # how many reviewers agree on it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IntervalSuggestion(Base):
    """An event the serving model found in a clip, offered to its reviewers."""

    __tablename__ = "interval_suggestions"
    __table_args__ = (CheckConstraint(_INTERVAL_CHECK, name="interval_suggestion_span"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    donation_id: Mapped[int] = mapped_column(
        ForeignKey("donations.id", ondelete="CASCADE"), index=True
    )
    model_id: Mapped[int] = mapped_column(ForeignKey("detector_models.id"), index=True)
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    label: Mapped[str] = mapped_column(String(40))
    score: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SuggestionRun(Base):
    """The serving model ``model_id`` was run on a clip and found ``events`` events."""

    __tablename__ = "suggestion_runs"
    __table_args__ = (UniqueConstraint("donation_id", "model_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    donation_id: Mapped[int] = mapped_column(
        ForeignKey("donations.id", ondelete="CASCADE"), index=True
    )
    model_id: Mapped[int] = mapped_column(ForeignKey("detector_models.id"), index=True)
    events: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
