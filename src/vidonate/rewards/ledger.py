"""An append-only, double-entry ledger in integer cents.

Money flows ``funding → campaign budget → donor``. Every transaction's entries
sum to zero, and a balance is only ever the sum of an account's entries; no
running total is stored that could drift from them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vidonate.db.models import (
    Campaign,
    Donation,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    User,
)
from vidonate.db.upsert import insert_unless_present
from vidonate.errors import Conflict

FUNDING = "funding"
CAMPAIGN = "campaign"
DONOR = "donor"
# Where a donor's spent balance goes: catalogue redemptions, and cash payouts.
REDEMPTIONS = "redemptions"
PAYOUTS = "payouts"

# Reasons an accepted clip earned nothing; shown to the donor as they are.
UNPAID_CAMERA_CAP = "camera_cap_reached"
UNPAID_BUDGET = "budget_exhausted"
UNPAID_NO_REWARD = "campaign_pays_nothing"
UNPAID_DUPLICATE = "duplicate"
UNPAID_INCIDENT_PAID = "incident_already_paid"


def _key(kind: str, *, campaign_id: int | None = None, user_id: int | None = None) -> str:
    return kind if campaign_id is None and user_id is None else f"{kind}:{campaign_id or user_id}"


def _account(
    session: Session, kind: str, *, campaign_id: int | None = None, user_id: int | None = None
) -> LedgerAccount:
    key = _key(kind, campaign_id=campaign_id, user_id=user_id)
    account = session.scalar(select(LedgerAccount).where(LedgerAccount.key == key))
    if account is None:
        # Two first uses at once (two donors' first redemptions) both try to create it:
        # the insert yields to the one that won, and both use that.
        values = {"key": key, "kind": kind, "campaign_id": campaign_id, "user_id": user_id}
        insert_unless_present(session, LedgerAccount, values, ("key",))
        account = session.scalar(select(LedgerAccount).where(LedgerAccount.key == key))
        assert account is not None
    return account


def campaign_account(session: Session, campaign_id: int) -> LedgerAccount:
    return _account(session, CAMPAIGN, campaign_id=campaign_id)


def donor_account(session: Session, user_id: int) -> LedgerAccount:
    return _account(session, DONOR, user_id=user_id)


def redemptions_account(session: Session) -> LedgerAccount:
    return _account(session, REDEMPTIONS)


def payouts_account(session: Session) -> LedgerAccount:
    return _account(session, PAYOUTS)


def balance(session: Session, account: LedgerAccount) -> int:
    total = session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_cents), 0)).where(
            LedgerEntry.account_id == account.id
        )
    )
    return int(total or 0)


def post(
    session: Session,
    kind: str,
    legs: list[tuple[LedgerAccount, int]],
    *,
    donation_id: int | None = None,
    memo: str = "",
) -> LedgerTransaction:
    if sum(amount for _, amount in legs) != 0:
        raise ValueError("a transaction's entries must sum to zero")
    tx = LedgerTransaction(kind=kind, donation_id=donation_id, memo=memo)
    session.add(tx)
    session.flush()
    for account, amount in legs:
        session.add(LedgerEntry(transaction_id=tx.id, account_id=account.id, amount_cents=amount))
    session.flush()
    return tx


def spend(
    session: Session,
    kind: str,
    donor: LedgerAccount,
    to: LedgerAccount,
    amount_cents: int,
    memo: str,
) -> LedgerTransaction:
    """Move ``amount_cents`` out of a donor's balance, never below zero: the caller holds
    :func:`lock` on ``donor`` from before it read anything it decided on."""
    if amount_cents <= 0:
        raise ValueError("an amount spent is positive")
    available = balance(session, donor)
    if available < amount_cents:
        raise Conflict(
            "insufficient_balance", f"the balance is {available} cents; this needs {amount_cents}"
        )
    return post(session, kind, [(donor, -amount_cents), (to, amount_cents)], memo=memo)


def fund_campaign(session: Session, campaign: Campaign, amount_cents: int) -> None:
    budget = campaign_account(session, campaign.id)
    if amount_cents <= 0:
        return
    funding = _account(session, FUNDING)
    post(
        session,
        "fund",
        [(funding, -amount_cents), (budget, amount_cents)],
        memo=f"budget for campaign {campaign.slug}",
    )


def lock(session: Session, account: LedgerAccount) -> None:
    """Serialize every movement out of one account (a budget's credits, a donor's
    redemptions and payouts).

    On PostgreSQL the row lock makes concurrent movements take turns on the balance
    check; SQLite's write transactions already take the write lock at BEGIN.
    """
    session.execute(
        select(LedgerAccount.id).where(LedgerAccount.id == account.id).with_for_update()
    )


@dataclass(frozen=True)
class CreditResult:
    paid_cents: int
    unpaid_reason: str | None


def credit_accepted(session: Session, donation: Donation) -> CreditResult:
    """Pay the donor for an accepted clip, at most once, within cap and budget."""
    campaign = session.get(Campaign, donation.campaign_id)
    assert campaign is not None
    budget = campaign_account(session, campaign.id)
    lock(session, budget)
    already = session.scalar(
        select(LedgerTransaction.id).where(LedgerTransaction.donation_id == donation.id)
    )
    if already:
        return CreditResult(0, None)
    paid_for_camera = session.scalar(
        select(func.count(LedgerTransaction.id))
        .join(Donation, Donation.id == LedgerTransaction.donation_id)
        .where(
            LedgerTransaction.kind == "reward",
            Donation.camera_id == donation.camera_id,
            Donation.campaign_id == donation.campaign_id,
            Donation.category == donation.category,
        )
    )
    reason = None
    if donation.duplicate_of is not None:
        reason = UNPAID_DUPLICATE
    elif campaign.reward_cents <= 0:
        reason = UNPAID_NO_REWARD
    elif campaign.incident_payment == "once_per_incident" and _incident_paid(session, donation):
        reason = UNPAID_INCIDENT_PAID
    elif (paid_for_camera or 0) >= campaign.paid_cap_per_camera:
        reason = UNPAID_CAMERA_CAP
    elif balance(session, budget) < campaign.reward_cents:
        reason = UNPAID_BUDGET
    if reason:
        donation.unpaid_reason = reason
        return CreditResult(0, reason)
    donor = donor_account(session, donation.donor_id)
    post(
        session,
        "reward",
        [(budget, -campaign.reward_cents), (donor, campaign.reward_cents)],
        donation_id=donation.id,
        memo=f"accepted clip {donation.id}",
    )
    return CreditResult(campaign.reward_cents, None)


def _incident_paid(session: Session, donation: Donation) -> bool:
    if donation.incident_id is None:
        return False
    paid = session.scalar(
        select(LedgerTransaction.id)
        .join(Donation, Donation.id == LedgerTransaction.donation_id)
        .where(Donation.incident_id == donation.incident_id, LedgerTransaction.kind == "reward")
        .limit(1)
    )
    return paid is not None


def _balance_of_key(session: Session, key: str) -> int:
    """The balance of the account ``key``; 0 when it has none yet. Reads only (pages and
    API GETs run it in read transactions), so it never creates the account."""
    total = session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_cents), 0))
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .where(LedgerAccount.key == key)
    )
    return int(total or 0)


def donor_balance(session: Session, user: User) -> int:
    return _balance_of_key(session, _key(DONOR, user_id=user.id))


def campaign_balance(session: Session, campaign_id: int) -> int:
    """The campaign's budget left."""
    return _balance_of_key(session, _key(CAMPAIGN, campaign_id=campaign_id))


def paid_for_donation(session: Session, donation_id: int) -> int:
    amount = session.scalar(
        select(LedgerEntry.amount_cents)
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .where(LedgerTransaction.donation_id == donation_id, LedgerAccount.kind == DONOR)
    )
    return int(amount or 0)


def all_balances(session: Session) -> list[tuple[LedgerAccount, int]]:
    rows = session.execute(
        select(LedgerAccount, func.coalesce(func.sum(LedgerEntry.amount_cents), 0))
        .outerjoin(LedgerEntry, LedgerEntry.account_id == LedgerAccount.id)
        .group_by(LedgerAccount.id)
        .order_by(LedgerAccount.id)
    ).all()
    return [(account, int(total)) for account, total in rows]
