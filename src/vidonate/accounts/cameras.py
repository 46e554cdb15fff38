"""Cameras belong to one donor; a clip names the camera that recorded it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from vidonate.db.models import Camera, Placement, User
from vidonate.errors import Conflict, InvalidInput, NotFound


def add_camera(session: Session, owner: User, label: str, placement: str) -> Camera:
    label = label.strip()
    if not 1 <= len(label) <= 80:
        raise InvalidInput("bad_camera_label", "a camera label is 1-80 characters")
    if placement not in Placement.__members__:
        raise InvalidInput(
            "unknown_placement",
            f"placement {placement!r} is not one of {[p.value for p in Placement]}",
        )
    exists = select(Camera.id).where(Camera.owner_id == owner.id, Camera.label == label)
    if session.scalar(exists):
        raise Conflict("camera_exists", f"you already have a camera labelled {label!r}")
    camera = Camera(owner_id=owner.id, label=label, placement=placement)
    session.add(camera)
    session.flush()
    return camera


def cameras_of(session: Session, owner: User) -> list[Camera]:
    return list(
        session.scalars(select(Camera).where(Camera.owner_id == owner.id).order_by(Camera.id))
    )


def own_camera(session: Session, owner: User, camera_ref: str | int) -> Camera:
    """The donor's camera by id or label; someone else's camera is reported as unknown."""
    query = select(Camera).where(Camera.owner_id == owner.id)
    ref = str(camera_ref)
    query = (
        query.where(Camera.id == int(ref))
        if ref.isascii() and ref.isdigit() and int(ref) < 2**31
        else query.where(Camera.label == ref)
    )
    camera = session.scalar(query)
    if camera is None:
        raise NotFound("unknown_camera", f"you have no camera {ref!r}")
    return camera
