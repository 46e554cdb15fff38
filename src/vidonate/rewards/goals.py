"""Goals: a donor's own weekly target of accepted clips, and a campaign's community
targets per category.

Weeks are ISO weeks in UTC, and a clip counts in the week it was accepted (its
transition to accepted), as for the streak badges (rewards/badges.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from vidonate.db.models import Campaign, Donation, DonationStatus, User, utcnow
from vidonate.db.models_rewards import WeeklyGoal
from vidonate.db.upsert import insert_unless_present
from vidonate.errors import InvalidInput
from vidonate.rewards.badges import accepted_clips, iso_week, week_start

MIN_WEEKLY_GOAL, MAX_WEEKLY_GOAL = 1, 1000


def set_weekly_goal(session: Session, user: User, clips: int) -> WeeklyGoal:
    """Set (or change) the user's weekly goal of accepted clips."""
    if isinstance(clips, bool) or not isinstance(clips, int):
        raise InvalidInput("bad_weekly_goal", "a weekly goal is a whole number of clips")
    if not MIN_WEEKLY_GOAL <= clips <= MAX_WEEKLY_GOAL:
        raise InvalidInput(
            "bad_weekly_goal",
            f"a weekly goal is {MIN_WEEKLY_GOAL} to {MAX_WEEKLY_GOAL} clips, not {clips}",
        )
    now = utcnow()
    values = {"user_id": user.id, "clips": clips, "set_at": now}
    # Two requests at once must not fail on the primary key: the second one updates.
    if not insert_unless_present(session, WeeklyGoal, values, ("user_id",)):
        session.execute(
            update(WeeklyGoal)
            .where(WeeklyGoal.user_id == user.id)
            .values(clips=clips, set_at=now)
            .execution_options(synchronize_session="fetch")
        )
    goal = session.get(WeeklyGoal, user.id, populate_existing=True)
    assert goal is not None
    return goal


@dataclass(frozen=True)
class WeeklyProgress:
    goal: int | None  # None: no goal set
    week_starts_at: datetime  # Monday 00:00 UTC
    accepted_this_week: int
    streak_weeks: int

    @property
    def reached(self) -> bool:
        return self.goal is not None and self.accepted_this_week >= self.goal


def current_streak(weeks: set[int], this_week: int) -> int:
    """Consecutive weeks with an accepted clip up to this week. A week that has not ended
    breaks nothing yet: without a clip so far, the streak is the one up to last week."""
    week = this_week if this_week in weeks else this_week - 1
    streak = 0
    while week in weeks:
        streak += 1
        week -= 1
    return streak


def weekly_progress(session: Session, user: User, now: datetime | None = None) -> WeeklyProgress:
    now = now or utcnow()
    this_week = iso_week(now)
    weeks = [
        iso_week(c.accepted_at) for c in accepted_clips(session, user.id) if c.accepted_at <= now
    ]
    goal = session.get(WeeklyGoal, user.id)
    return WeeklyProgress(
        goal=goal.clips if goal is not None else None,
        week_starts_at=week_start(now),
        accepted_this_week=sum(1 for w in weeks if w == this_week),
        streak_weeks=current_streak(set(weeks), this_week),
    )


@dataclass(frozen=True)
class CategoryGoal:
    category: str
    target: int
    accepted: int

    @property
    def share(self) -> float:
        """How much of the target is reached, 0 to 1 (1 for a target of 0)."""
        return 1.0 if self.target <= 0 else min(1.0, self.accepted / self.target)


def community_goals(session: Session, campaign: Campaign) -> list[CategoryGoal]:
    """Each category's accepted clips against its community target. Only clips accepted
    now count: a withdrawn clip is no longer part of what the community collected."""
    counts = dict(
        session.execute(
            select(Donation.category, func.count(Donation.id))
            .where(
                Donation.campaign_id == campaign.id,
                Donation.status == DonationStatus.accepted,
            )
            .group_by(Donation.category)
        ).all()
    )
    return [
        CategoryGoal(c.category, c.target, int(counts.get(c.category, 0)))
        for c in campaign.categories
    ]
