from __future__ import annotations

from fastapi import APIRouter

from vidonate.accounts.cameras import add_camera, cameras_of
from vidonate.db.engine import read_transaction, transaction
from vidonate.web.api.schemas import CameraCreate, CameraPublic
from vidonate.web.deps import CurrentUser, RuntimeDep

router = APIRouter(prefix="/cameras", tags=["cameras"])


@router.get("", response_model=list[CameraPublic])
def my_cameras(user: CurrentUser, rt: RuntimeDep) -> list[CameraPublic]:
    with read_transaction(rt.sessions) as session:
        return [CameraPublic.model_validate(c) for c in cameras_of(session, user)]


@router.post("", response_model=CameraPublic, status_code=201)
def new_camera(body: CameraCreate, user: CurrentUser, rt: RuntimeDep) -> CameraPublic:
    with transaction(rt.sessions) as session:
        return CameraPublic.model_validate(add_camera(session, user, body.label, body.placement))
