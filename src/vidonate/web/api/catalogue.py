"""The reward catalogue and redemptions: donors spend their balance; admins stock it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from vidonate.db.engine import read_transaction, transaction
from vidonate.db.models import User
from vidonate.db.models_rewards import Redemption
from vidonate.rewards import catalogue, holds
from vidonate.web.api.schemas import INT32_MAX, INT64_MAX, Public, Text
from vidonate.web.deps import AdminUser, CurrentUser, RuntimeDep

router = APIRouter(tags=["rewards"])
ItemId = Annotated[int, Path(ge=1, le=INT32_MAX, description="a catalogue item's id")]
RedemptionId = Annotated[int, Path(ge=1, le=INT32_MAX, description="a redemption's id")]
Cents = Annotated[int, Field(ge=-INT64_MAX, le=INT64_MAX)]


class ItemPublic(Public):
    id: int
    kind: str
    name: str
    description: str
    price_cents: int
    face_value_cents: int | None
    available: int
    active: bool


class ItemCreate(BaseModel):
    kind: Text = Field(description="gift_card or product")
    name: Text = Field(max_length=200)
    description: Text = Field("", max_length=4000)
    price_cents: Cents = Field(description="taken from the donor's balance")
    face_value_cents: Cents | None = None
    stock: int = Field(0, ge=-INT32_MAX, le=INT32_MAX, description="products only")


class CodesAdd(BaseModel):
    codes: list[Text] = Field(min_length=1, max_length=10_000)


class Restock(BaseModel):
    units: int = Field(ge=-INT32_MAX, le=INT32_MAX)


class Activation(BaseModel):
    active: bool


class RedemptionCreate(BaseModel):
    item_id: int = Field(ge=1, le=INT32_MAX)
    client_key: Text = Field(
        max_length=200, description="the same key again returns the first redemption (a UUID)"
    )
    shipping_address: Text | None = Field(None, max_length=4000, description="products only")


class RedemptionPublic(Public):
    id: int
    item_id: int
    price_cents: int
    status: str
    created_at: datetime
    shipped_at: datetime | None


class CodePublic(BaseModel):
    redemption_id: int
    code: str


class AddressPublic(BaseModel):
    redemption_id: int
    shipping_address: str


def _entry(entry: catalogue.CatalogueEntry) -> ItemPublic:
    item = entry.item
    return ItemPublic(
        id=item.id,
        kind=item.kind,
        name=item.name,
        description=item.description,
        price_cents=item.price_cents,
        face_value_cents=item.face_value_cents,
        available=entry.available,
        active=item.active,
    )


def _one(session: Session, item_id: int) -> ItemPublic:
    return _entry(catalogue.entry(session, item_id))


@router.get("/catalogue", response_model=list[ItemPublic])
def list_catalogue(_user: CurrentUser, rt: RuntimeDep) -> list[ItemPublic]:
    """What a balance can be spent on now, cheapest first, with the units left."""
    with read_transaction(rt.sessions) as session:
        return [_entry(e) for e in catalogue.catalogue(session)]


@router.get("/admin/catalogue", response_model=list[ItemPublic])
def list_inventory(_admin: AdminUser, rt: RuntimeDep) -> list[ItemPublic]:
    """Every item, withdrawn ones too, with its inventory."""
    with read_transaction(rt.sessions) as session:
        return [_entry(e) for e in catalogue.catalogue(session, include_inactive=True)]


@router.post("/admin/catalogue", response_model=ItemPublic, status_code=201)
def add_item(body: ItemCreate, admin: AdminUser, rt: RuntimeDep) -> ItemPublic:
    with transaction(rt.sessions) as session:
        item = catalogue.add_item(session, **body.model_dump(), created_by=admin.id)
        return _one(session, item.id)


@router.post("/admin/catalogue/{item_id}/codes", response_model=ItemPublic)
def add_codes(item_id: ItemId, body: CodesAdd, admin: AdminUser, rt: RuntimeDep) -> ItemPublic:
    """Stock a gift card with codes (each sealed as it is stored)."""
    with transaction(rt.sessions) as session:
        catalogue.add_gift_card_codes(session, rt.vault, item_id, body.codes, added_by=admin.id)
        return _one(session, item_id)


@router.post("/admin/catalogue/{item_id}/stock", response_model=ItemPublic)
def restock(item_id: ItemId, body: Restock, _admin: AdminUser, rt: RuntimeDep) -> ItemPublic:
    with transaction(rt.sessions) as session:
        catalogue.restock(session, item_id, body.units)
        return _one(session, item_id)


@router.put("/admin/catalogue/{item_id}/active", response_model=ItemPublic)
def activate(item_id: ItemId, body: Activation, _admin: AdminUser, rt: RuntimeDep) -> ItemPublic:
    """Offer an item again, or stop offering it (redemptions made stay)."""
    with transaction(rt.sessions) as session:
        catalogue.set_active(session, item_id, body.active)
        return _one(session, item_id)


@router.post("/redemptions", response_model=RedemptionPublic, status_code=201)
def redeem(body: RedemptionCreate, user: CurrentUser, rt: RuntimeDep) -> RedemptionPublic:
    """Spend balance on one unit of an item. Retrying with the same ``client_key`` returns
    the first redemption; 409 ``insufficient_balance``, ``out_of_stock`` or
    ``payouts_held`` (with the hold's reason) otherwise refuse it, changing nothing."""

    def spend(session: Session) -> RedemptionPublic:
        donor = session.get(User, user.id)
        assert donor is not None
        redemption = catalogue.redeem(
            session,
            rt.vault,
            donor,
            body.item_id,
            client_key=body.client_key,
            shipping_address=body.shipping_address,
            tax_threshold_cents=rt.settings.tax_details_threshold_cents,
        )
        return RedemptionPublic.model_validate(redemption)

    return holds.spending(rt.sessions, spend)


@router.get("/redemptions", response_model=list[RedemptionPublic])
def my_redemptions(user: CurrentUser, rt: RuntimeDep) -> list[RedemptionPublic]:
    with read_transaction(rt.sessions) as session:
        return [RedemptionPublic.model_validate(r) for r in catalogue.redemptions_of(session, user)]


@router.get("/redemptions/{redemption_id}/code", response_model=CodePublic)
def gift_card_code(redemption_id: RedemptionId, user: CurrentUser, rt: RuntimeDep) -> CodePublic:
    """The gift-card code of your own redemption; each read is in the access log."""
    with transaction(rt.sessions) as session:
        code = catalogue.reveal_code(session, rt.vault, user, redemption_id)
    return CodePublic(redemption_id=redemption_id, code=code)


@router.get("/admin/redemptions", response_model=list[RedemptionPublic])
def to_ship(_admin: AdminUser, rt: RuntimeDep) -> list[RedemptionPublic]:
    """Product redemptions awaiting shipment."""
    with read_transaction(rt.sessions) as session:
        return [RedemptionPublic.model_validate(r) for r in catalogue.awaiting_shipment(session)]


@router.get("/admin/redemptions/{redemption_id}/address", response_model=AddressPublic)
def address(redemption_id: RedemptionId, admin: AdminUser, rt: RuntimeDep) -> AddressPublic:
    """Where to ship; each read is in the access log (purpose ``fulfilment``)."""
    with transaction(rt.sessions) as session:
        where = catalogue.shipping_address(session, rt.vault, redemption_id, actor_id=admin.id)
    return AddressPublic(redemption_id=redemption_id, shipping_address=where)


@router.post("/admin/redemptions/{redemption_id}/shipped", response_model=RedemptionPublic)
def shipped(redemption_id: RedemptionId, admin: AdminUser, rt: RuntimeDep) -> RedemptionPublic:
    """Mark a product shipped: its shipping address is destroyed."""
    with transaction(rt.sessions) as session:
        redemption: Redemption = catalogue.mark_shipped(session, redemption_id, shipped_by=admin.id)
        return RedemptionPublic.model_validate(redemption)
