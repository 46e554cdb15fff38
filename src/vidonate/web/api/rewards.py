from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import func, select

from vidonate.db.engine import read_transaction
from vidonate.db.models import Donation, DonationStatus, LedgerTransaction, utcnow
from vidonate.rewards import ledger
from vidonate.rewards.holds import yearly_total
from vidonate.rewards.leaderboard import leaderboard, own_standing
from vidonate.web.api.schemas import BalancePublic, LeaderboardPublic, StandingPublic
from vidonate.web.deps import CurrentUser, RuntimeDep

router = APIRouter(tags=["rewards"])


@router.get("/balance", response_model=BalancePublic)
def balance(user: CurrentUser, rt: RuntimeDep) -> BalancePublic:
    """The donor's balance: the sum of their ledger entries."""
    with read_transaction(rt.sessions) as session:
        accepted = session.scalar(
            select(func.count(Donation.id)).where(
                Donation.donor_id == user.id, Donation.status == DonationStatus.accepted
            )
        )
        paid = session.scalar(
            select(func.count(LedgerTransaction.id))
            .join(Donation, Donation.id == LedgerTransaction.donation_id)
            .where(Donation.donor_id == user.id)
        )
        return BalancePublic(
            balance_cents=ledger.donor_balance(session, user),
            accepted=accepted or 0,
            paid_clips=paid or 0,
            received_this_year_cents=yearly_total(session, user.id, utcnow().year),
            tax_details_threshold_cents=rt.settings.tax_details_threshold_cents,
        )


@router.get("/leaderboard", response_model=LeaderboardPublic)
def board(user: CurrentUser, rt: RuntimeDep) -> LeaderboardPublic:
    with read_transaction(rt.sessions) as session:
        mine = own_standing(session, user)
        return LeaderboardPublic(
            entries=[StandingPublic.model_validate(s) for s in leaderboard(session)],
            me=StandingPublic.model_validate(mine) if mine else None,
        )
