"""Goals: a donor's weekly target of accepted clips with this week's count and their
streak, and a campaign's community target per category."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from badge_helpers import accept, set_accepted_at
from vidonate.db.engine import transaction
from vidonate.db.models import Campaign, User
from vidonate.db.models_rewards import WeeklyGoal
from vidonate.errors import InvalidInput
from vidonate.rewards.goals import (
    community_goals,
    current_streak,
    set_weekly_goal,
    weekly_progress,
)
from world import World

WEDNESDAY = datetime(2026, 3, 11, 12, 0, tzinfo=UTC)  # ISO week 11 of 2026
WEEK = timedelta(weeks=1)


def _alice(s: Session) -> User:
    return s.scalars(select(User).where(User.username == "alice")).one()


@pytest.mark.parametrize("clips", [0, -1, 1001, True, 2.5])
def test_a_weekly_goal_outside_1_to_1000_clips_is_refused_and_stores_nothing(
    world: World, clips: object
) -> None:
    with transaction(world.rt.sessions) as s:
        with pytest.raises(InvalidInput) as refused:
            set_weekly_goal(s, _alice(s), clips)  # type: ignore[arg-type]
        assert refused.value.code == "bad_weekly_goal"
        assert s.scalar(select(func.count()).select_from(WeeklyGoal)) == 0


def test_a_weekly_goal_is_set_then_changed(world: World) -> None:
    with transaction(world.rt.sessions) as s:
        assert set_weekly_goal(s, _alice(s), 1).clips == 1
    with transaction(world.rt.sessions) as s:
        assert set_weekly_goal(s, _alice(s), 1000).clips == 1000
        assert weekly_progress(s, _alice(s)).goal == 1000
        assert s.scalar(select(func.count()).select_from(WeeklyGoal)) == 1


def test_progress_counts_clips_accepted_this_iso_week_and_the_streak(world: World) -> None:
    this_week = [accept(world), accept(world)]
    for clip in this_week:
        set_accepted_at(world, clip, WEDNESDAY - timedelta(days=1))  # Tuesday
    for weeks_ago in (1, 2):
        set_accepted_at(world, accept(world), WEDNESDAY - weeks_ago * WEEK)
    set_accepted_at(world, accept(world), WEDNESDAY - 4 * WEEK)  # before a gap
    set_accepted_at(world, accept(world), WEDNESDAY - timedelta(days=3))  # last Sunday
    with transaction(world.rt.sessions) as s:
        set_weekly_goal(s, _alice(s), 3)
        progress = weekly_progress(s, _alice(s), now=WEDNESDAY)
    assert progress.goal == 3
    assert progress.week_starts_at == datetime(2026, 3, 9, tzinfo=UTC)
    assert (progress.accepted_this_week, progress.reached) == (2, False)
    assert progress.streak_weeks == 3, "this week, last week (Sunday too), the week before"


def test_a_week_not_over_yet_does_not_break_the_streak() -> None:
    assert current_streak({10, 9, 8}, this_week=11) == 3, "no clip yet this week"
    assert current_streak({11, 10}, this_week=11) == 2
    assert current_streak({9, 8}, this_week=11) == 0, "last week had none"
    assert current_streak(set(), this_week=11) == 0


def test_progress_without_a_goal_or_clips(world: World) -> None:
    with transaction(world.rt.sessions) as s:
        progress = weekly_progress(s, _alice(s))
    assert (progress.goal, progress.accepted_this_week, progress.streak_weeks) == (None, 0, 0)
    assert not progress.reached


def test_community_goals_count_the_clips_accepted_per_category_against_the_target(
    world: World,
) -> None:
    accept(world)
    accept(world, "bob")
    accept(world, reviewers_category="car_door_tampering")
    world.clip_in_review()  # not accepted (yet)
    rejected = world.clip_in_review("bob")
    world.vote("rita", rejected, "reject", reason="poor_quality")
    world.vote("ravi", rejected, "reject", reason="poor_quality")
    with transaction(world.rt.sessions) as s:
        campaign = s.get(Campaign, world.campaign.id)
        assert campaign is not None
        goals = {g.category: (g.accepted, g.target) for g in community_goals(s, campaign)}
    assert goals == {
        "package_theft": (2, 20_000),
        "car_door_tampering": (1, 20_000),
        "normal_activity": (0, 20_000),
    }
