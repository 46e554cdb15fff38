"""Holds on payouts and redemptions (a donor sees theirs; admins release them), and tax
details."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import Response
from pydantic import BaseModel, Field

from vidonate.db.engine import read_transaction, transaction
from vidonate.db.models_rewards import PayoutHold
from vidonate.reasons import sentence
from vidonate.rewards import holds
from vidonate.web.api.schemas import INT32_MAX, Public, Text
from vidonate.web.deps import AdminUser, CurrentUser, RuntimeDep

router = APIRouter(tags=["holds"])
HoldId = Annotated[int, Path(ge=1, le=INT32_MAX, description="a hold's id")]


class HoldPublic(Public):
    id: int
    user_id: int
    reason: str
    reason_text: str
    detail: str
    open: bool
    created_at: datetime
    released_at: datetime | None
    release_note: str


class HoldRelease(BaseModel):
    note: Text = Field(min_length=1, max_length=2000, description="what the review found")


class TaxDetailsUpdate(BaseModel):
    details: Text = Field(max_length=4000, description="tax id, name and address as filed")


def _public(hold: PayoutHold) -> HoldPublic:
    return HoldPublic(
        id=hold.id,
        user_id=hold.user_id,
        reason=hold.reason,
        reason_text=sentence(hold.reason),
        detail=hold.detail,
        open=hold.open_reason is not None,
        created_at=hold.created_at,
        released_at=hold.released_at,
        release_note=hold.release_note,
    )


@router.get("/me/holds", response_model=list[HoldPublic])
def my_holds(user: CurrentUser, rt: RuntimeDep) -> list[HoldPublic]:
    """Your holds, open and released, with their reasons."""
    with read_transaction(rt.sessions) as session:
        return [_public(h) for h in holds.holds_of(session, user.id)]


@router.put("/me/tax-details", status_code=204)
def tax_details(body: TaxDetailsUpdate, user: CurrentUser, rt: RuntimeDep) -> Response:
    """Supply tax details (kept sealed under your key, never sent to a payout provider);
    a hold waiting for them is released."""
    with transaction(rt.sessions) as session:
        holds.supply_tax_details(session, rt.vault, user, body.details)
    return Response(status_code=204)


@router.get("/admin/holds", response_model=list[HoldPublic])
def open_holds(_admin: AdminUser, rt: RuntimeDep) -> list[HoldPublic]:
    """Every open hold, oldest first: the operators' review list."""
    with read_transaction(rt.sessions) as session:
        return [_public(hold) for hold, _handle in holds.review_list(session)]


@router.post("/admin/holds/{hold_id}/release", response_model=HoldPublic)
def release(hold_id: HoldId, body: HoldRelease, admin: AdminUser, rt: RuntimeDep) -> HoldPublic:
    with transaction(rt.sessions) as session:
        return _public(holds.release_hold(session, hold_id, released_by=admin.id, note=body.note))
