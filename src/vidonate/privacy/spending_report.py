"""The transparency report's account of what donors spent their balances on, and of the
holds on payouts: counts and sums only, for the whole program."""

from __future__ import annotations

from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vidonate.db.models_rewards import CatalogueItem, Payout, Redemption
from vidonate.rewards.holds import hold_counts


class HoldsByReason(BaseModel):
    open: int = Field(description="holds open now")
    released: int = Field(description="holds released after review or tax details")


class Spending(BaseModel):
    redemptions: int = Field(description="catalogue redemptions (gift cards and products)")
    redeemed_cents: int = Field(description="balance spent on them")
    redemptions_by_kind: dict[str, int] = Field(description="'gift_card' and 'product'")
    payouts: int = Field(description="cash payouts requested and not cancelled")
    payouts_paid: int = Field(description="of them, paid")
    payout_cents: int = Field(description="their sum, paid or not yet paid")
    payout_paid_cents: int = Field(description="the sum paid")
    holds: dict[str, HoldsByReason] = Field(description="holds on payouts by reason code")


def spending_section(session: Session) -> Spending:
    by_kind = dict(
        session.execute(
            select(CatalogueItem.kind, func.count(Redemption.id))
            .join(CatalogueItem, CatalogueItem.id == Redemption.item_id)
            .group_by(CatalogueItem.kind)
        ).all()
    )
    redeemed = session.scalar(select(func.coalesce(func.sum(Redemption.price_cents), 0)))
    live = Payout.status != "cancelled"
    paid = Payout.status == "paid"
    payouts_row = session.execute(
        select(
            func.count(Payout.id).filter(live),
            func.count(Payout.id).filter(paid),
            func.coalesce(func.sum(Payout.amount_cents).filter(live), 0),
            func.coalesce(func.sum(Payout.amount_cents).filter(paid), 0),
        )
    ).one()
    return Spending(
        redemptions=sum(int(n) for n in by_kind.values()),
        redeemed_cents=int(redeemed or 0),
        redemptions_by_kind={kind: int(by_kind.get(kind, 0)) for kind in ("gift_card", "product")},
        payouts=int(payouts_row[0]),
        payouts_paid=int(payouts_row[1]),
        payout_cents=int(payouts_row[2]),
        payout_paid_cents=int(payouts_row[3]),
        holds={
            c.reason: HoldsByReason(open=c.open, released=c.released) for c in hold_counts(session)
        },
    )
