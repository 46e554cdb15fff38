"""Which model the detect endpoint serves.

The served model is the one most recently promoted (``vidonate model promote``, which
checks it against the model it replaces). Before any promotion, it is the newest trained
model, so a fresh deployment detects as soon as it has trained one.

Everywhere a model may be named (the CLI's ``--model``, the API's ``model`` parameter),
naming none, or "served", means this model; "latest" means the newest trained one.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from vidonate.db.models import DetectorModel
from vidonate.db.models_detect import ModelPromotion
from vidonate.detect.lineage import get_model


def served_model(session: Session) -> DetectorModel:
    """The model detection uses when none is named; NotFound before any is trained."""
    promoted = session.scalar(
        select(ModelPromotion.model_id).order_by(ModelPromotion.id.desc()).limit(1)
    )
    return get_model(session, "latest" if promoted is None else promoted)


def served_model_or_none(session: Session) -> DetectorModel | None:
    """The served model, or None where no model has been trained yet."""
    if session.scalar(select(DetectorModel.id).limit(1)) is None:
        return None
    return served_model(session)


def resolve_model(session: Session, ref: str | int | None) -> DetectorModel:
    """The model ``ref`` names: None or "served" the served model, else as ``get_model``."""
    if ref is None or str(ref).strip().lower() in ("", "served"):
        return served_model(session)
    return get_model(session, ref)
