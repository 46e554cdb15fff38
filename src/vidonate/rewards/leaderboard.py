"""The leaderboard: opt-in, pseudonymous handles, ranked by accepted clips, and tiers
(bronze, silver, gold) that show a donor's standing without their count.

A donor who has not opted in never appears to others, yet always sees the rank
they would hold.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vidonate.db.models import Donation, DonationStatus, User


@dataclass(frozen=True)
class Standing:
    rank: int
    handle: str
    accepted: int
    user_id: int


def _counts(session: Session) -> list[tuple[User, int]]:
    accepted = func.count(Donation.id)
    rows = session.execute(
        select(User, accepted)
        .join(Donation, Donation.donor_id == User.id)
        .where(Donation.status == DonationStatus.accepted)
        .group_by(User.id)
        .order_by(accepted.desc(), User.id)
    ).all()
    return [(user, int(n)) for user, n in rows]


def _rank(rows: list[tuple[User, int]]) -> list[Standing]:
    """Standard competition ranking: equal counts share a rank (1, 2, 2, 4)."""
    standings: list[Standing] = []
    for position, (user, count) in enumerate(rows, start=1):
        rank = standings[-1].rank if standings and standings[-1].accepted == count else position
        standings.append(Standing(rank, user.handle, count, user.id))
    return standings


def leaderboard(session: Session, limit: int = 100) -> list[Standing]:
    return _rank([(u, n) for u, n in _counts(session) if u.leaderboard_opt_in])[:limit]


def own_standing(session: Session, user: User) -> Standing | None:
    """The user's rank among the public board plus themselves; None with no accepted clip."""
    rows = [(u, n) for u, n in _counts(session) if u.leaderboard_opt_in or u.id == user.id]
    return next((s for s in _rank(rows) if s.user_id == user.id), None)


# --- Tiers: a donor shown as "gold tier" without an exact count --------------------------

# (tier, accepted clips it needs), highest first.
TIERS: tuple[tuple[str, int], ...] = (("gold", 100), ("silver", 10), ("bronze", 1))


def tier_of(count: int) -> str | None:
    """The tier of a donor with ``count`` accepted clips; None below the lowest."""
    return next((tier for tier, needs in TIERS if count >= needs), None)


@dataclass(frozen=True)
class TierMembers:
    tier: str
    needs: int  # accepted clips
    handles: list[str]


def tiers_board(session: Session) -> list[TierMembers]:
    """Per tier, highest first, the handles of the opted-in donors in it, in alphabetical
    order (an order by count would tell the counts). A donor who has not opted in is in
    no list and in no number here."""
    members: dict[str, list[str]] = {tier: [] for tier, _ in TIERS}
    for user, count in _counts(session):
        tier = tier_of(count)
        if user.leaderboard_opt_in and tier is not None:
            members[tier].append(user.handle)
    return [TierMembers(tier, needs, sorted(members[tier])) for tier, needs in TIERS]


def own_tier(session: Session, user: User) -> str | None:
    """The user's own tier, whether or not they opted in to be listed."""
    count = session.scalar(
        select(func.count(Donation.id)).where(
            Donation.donor_id == user.id, Donation.status == DonationStatus.accepted
        )
    )
    return tier_of(count or 0)
