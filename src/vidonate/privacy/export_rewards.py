"""``rewards.json`` of a donor's data export: badges, weekly goal, redemptions, payouts,
holds and what the donor gave for them (addresses, payout receiver, tax details),
decrypted: the export is the donor's own copy of everything kept about them."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from vidonate.crypto.vault import ContentShredded, Vault
from vidonate.db.models import User
from vidonate.db.models_rewards import WeeklyGoal
from vidonate.rewards import catalogue, holds, payouts
from vidonate.rewards.badges import badges_of


def rewards_document(session: Session, vault: Vault, user: User) -> dict[str, Any]:
    goal = session.get(WeeklyGoal, user.id)
    redemptions = catalogue.redemptions_of(session, user)
    try:
        receiver = payouts.receiver_of(session, vault, user.id)
        tax_details = holds.read_tax_details(session, vault, user.id)
        addresses = {r.id: catalogue.own_address(session, vault, r) for r in redemptions}
    except ContentShredded:  # everything was withdrawn: the key that sealed these is gone
        receiver, tax_details, addresses = None, None, {}
    return {
        "badges": [
            {
                "code": b.code,
                "name": b.name,
                "awarded_at": b.awarded_at,
                "donation_id": b.donation_id,
            }
            for b in badges_of(session, user)
        ],
        "weekly_goal": goal.clips if goal else None,
        "redemptions": [
            {
                "id": r.id,
                "item_id": r.item_id,
                "price_cents": r.price_cents,
                "status": r.status,
                "shipping_address": addresses.get(r.id),
                "created_at": r.created_at,
                "shipped_at": r.shipped_at,
            }
            for r in redemptions
        ],
        "payouts": [
            {
                "id": p.id,
                "amount_cents": p.amount_cents,
                "provider": p.provider,
                "status": p.status,
                "period": p.period,
                "requested_at": p.requested_at,
                "paid_at": p.paid_at,
            }
            for p in payouts.payouts_of(session, user)
        ],
        "payout_receiver": receiver,
        "tax_details": tax_details,
        "holds": [
            {
                "reason": h.reason,
                "detail": h.detail,
                "open": h.open_reason is not None,
                "created_at": h.created_at,
                "released_at": h.released_at,
                "release_note": h.release_note,
            }
            for h in holds.holds_of(session, user.id)
        ],
    }
