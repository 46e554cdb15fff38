"""Cash payouts: donors ask for them; admins export a closed month's batch and mark it paid."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from vidonate.db.engine import read_transaction, transaction
from vidonate.db.models import User
from vidonate.db.models_rewards import PayoutBatch
from vidonate.errors import NotFound
from vidonate.rewards import holds, payouts
from vidonate.web.api.schemas import INT32_MAX, INT64_MAX, Public, Text
from vidonate.web.deps import AdminUser, CurrentUser, RuntimeDep

router = APIRouter(tags=["payouts"])
PayoutId = Annotated[int, Path(ge=1, le=INT32_MAX, description="a payout's id")]
BatchId = Annotated[int, Path(ge=1, le=INT32_MAX, description="a payout batch's id")]


class PayoutCreate(BaseModel):
    amount_cents: int = Field(ge=-INT64_MAX, le=INT64_MAX)
    client_key: Text = Field(max_length=200, description="the same key returns the first")
    provider: Text = Field("paypal_batch", max_length=40, description="paypal_batch or manual")


class PayoutPublic(Public):
    id: int
    amount_cents: int
    provider: str
    status: str
    period: str
    batch_id: int | None
    requested_at: datetime
    paid_at: datetime | None


class DestinationUpdate(BaseModel):
    receiver: Text = Field(max_length=400, description="the PayPal account's email address")


class BatchExport(BaseModel):
    provider: Text = Field("paypal_batch", max_length=40)
    period: Text = Field(max_length=20, description="a closed month, YYYY-MM")


class BatchPublic(Public):
    id: int
    sender_batch_id: str
    provider: str
    period: str
    items: int
    total_cents: int
    body_sha256: str
    created_at: datetime


@router.post("/payouts", response_model=PayoutPublic, status_code=201)
def request_payout(body: PayoutCreate, user: CurrentUser, rt: RuntimeDep) -> PayoutPublic:
    """Ask for part of your balance in cash; it leaves the balance now and is paid with the
    month's batch. 409 ``payouts_held`` names the hold that stops it."""

    def spend(session: Session) -> PayoutPublic:
        donor = session.get(User, user.id)
        assert donor is not None
        payout = payouts.request_payout(
            session,
            donor,
            body.amount_cents,
            client_key=body.client_key,
            provider=body.provider,
            tax_threshold_cents=rt.settings.tax_details_threshold_cents,
        )
        return PayoutPublic.model_validate(payout)

    return holds.spending(rt.sessions, spend)


@router.get("/payouts", response_model=list[PayoutPublic])
def payout_history(user: CurrentUser, rt: RuntimeDep) -> list[PayoutPublic]:
    with read_transaction(rt.sessions) as session:
        return [PayoutPublic.model_validate(p) for p in payouts.payouts_of(session, user)]


@router.delete("/payouts/{payout_id}", response_model=PayoutPublic)
def cancel(payout_id: PayoutId, user: CurrentUser, rt: RuntimeDep) -> PayoutPublic:
    """Cancel a payout not yet in a batch: the amount goes back to your balance."""
    with transaction(rt.sessions) as session:
        return PayoutPublic.model_validate(payouts.cancel_payout(session, user, payout_id))


@router.put("/me/payout-destination", status_code=204)
def set_destination(body: DestinationUpdate, user: CurrentUser, rt: RuntimeDep) -> Response:
    """Where cash payouts go; kept sealed under your key."""
    with transaction(rt.sessions) as session:
        payouts.set_destination(session, rt.vault, user, body.receiver)
    return Response(status_code=204)


@router.post("/admin/payout-batches", response_model=BatchPublic)
def export_batch(body: BatchExport, admin: AdminUser, rt: RuntimeDep) -> BatchPublic:
    """The batch of a closed month: made the first time, the same batch every time after."""
    with transaction(rt.sessions) as session:
        batch = payouts.export_batch(
            session,
            rt.vault,
            body.provider,
            body.period,
            currency=rt.settings.payout_currency,
            exported_by=admin.id,
        )
        return BatchPublic.model_validate(batch)


@router.get("/admin/payout-batches", response_model=list[BatchPublic])
def list_batches(_admin: AdminUser, rt: RuntimeDep) -> list[BatchPublic]:
    with read_transaction(rt.sessions) as session:
        return [BatchPublic.model_validate(b) for b in payouts.batches(session)]


@router.get("/admin/payout-batches/{batch_id}/file")
def batch_file(batch_id: BatchId, _admin: AdminUser, rt: RuntimeDep) -> Response:
    """The batch's file as exported: PayPal Payouts JSON, or the manual work list (CSV)."""
    with read_transaction(rt.sessions) as session:
        batch = session.get(PayoutBatch, batch_id)
        if batch is None:
            raise NotFound("unknown_payout_batch", f"there is no payout batch {batch_id}")
        media = "application/json" if batch.provider == "paypal_batch" else "text/csv"
        name = f"{batch.sender_batch_id}.{'json' if media == 'application/json' else 'csv'}"
        return Response(
            batch.body,
            media_type=media,
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )


@router.post("/admin/payout-batches/{batch_id}/paid", response_model=BatchPublic)
def mark_paid(batch_id: BatchId, admin: AdminUser, rt: RuntimeDep) -> BatchPublic:
    with transaction(rt.sessions) as session:
        return BatchPublic.model_validate(
            payouts.mark_batch_paid(session, batch_id, paid_by=admin.id)
        )
