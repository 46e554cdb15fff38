"""The leaderboard: opt-in, pseudonymous handles, ranked by accepted clips.

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
