"""Badges, weekly goals, community goals and tiers."""

from __future__ import annotations

import re
from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from vidonate.campaigns.service import get_campaign
from vidonate.db.engine import read_transaction, transaction
from vidonate.db.models import User
from vidonate.errors import NotFound
from vidonate.rewards import badges, goals
from vidonate.rewards.leaderboard import own_tier, tiers_board
from vidonate.runtime import Runtime
from vidonate.web.api.schemas import INT32_MAX
from vidonate.web.deps import CurrentUser, RuntimeDep

router = APIRouter(tags=["badges and goals"])
_CAMPAIGN_REF = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")  # an id or a slug, as in campaigns.py


class BadgeDefinitionPublic(BaseModel):
    code: str
    name: str
    description: str
    icon: str


class BadgePublic(BaseModel):
    code: str
    name: str
    description: str
    icon: str
    awarded_at: datetime
    donation_id: int | None  # the clip that earned it (None once that clip is gone)


class GoalBody(BaseModel):
    clips: int


class WeeklyProgressPublic(BaseModel):
    goal: int | None
    week_starts_at: datetime
    accepted_this_week: int
    reached: bool
    streak_weeks: int


class CategoryGoalPublic(BaseModel):
    category: str
    target: int
    accepted: int
    share: float


class CommunityGoalsPublic(BaseModel):
    campaign: str
    categories: list[CategoryGoalPublic]


class TierPublic(BaseModel):
    tier: str
    needs: int
    handles: list[str]


class TiersPublic(BaseModel):
    tiers: list[TierPublic]
    me: str | None  # the caller's own tier, listed or not


@router.get("/badges", response_model=list[BadgeDefinitionPublic])
def badge_catalogue(rt: RuntimeDep) -> list[BadgeDefinitionPublic]:
    """Public, no sign-in: every badge there is to earn, in display order."""
    with read_transaction(rt.sessions) as session:
        return [
            BadgeDefinitionPublic(code=d.code, name=d.name, description=d.description, icon=d.icon)
            for d in badges.definitions(session)
        ]


@router.get("/me/badges", response_model=list[BadgePublic])
def my_badges(user: CurrentUser, rt: RuntimeDep) -> list[BadgePublic]:
    with read_transaction(rt.sessions) as session:
        return [
            BadgePublic(
                code=b.code,
                name=b.name,
                description=b.description,
                icon=b.icon,
                awarded_at=b.awarded_at,
                donation_id=b.donation_id,
            )
            for b in badges.badges_of(session, user)
        ]


def _progress(progress: goals.WeeklyProgress) -> WeeklyProgressPublic:
    return WeeklyProgressPublic(
        goal=progress.goal,
        week_starts_at=progress.week_starts_at,
        accepted_this_week=progress.accepted_this_week,
        reached=progress.reached,
        streak_weeks=progress.streak_weeks,
    )


@router.get("/me/goal", response_model=WeeklyProgressPublic)
def my_goal(user: CurrentUser, rt: RuntimeDep) -> WeeklyProgressPublic:
    """Your weekly goal, the clips accepted this ISO week (UTC), and your streak in weeks."""
    with read_transaction(rt.sessions) as session:
        return _progress(goals.weekly_progress(session, user))


def _set_goal(rt: Runtime, user: User, clips: int) -> WeeklyProgressPublic:
    with transaction(rt.sessions) as session:
        goals.set_weekly_goal(session, user, clips)
        return _progress(goals.weekly_progress(session, user))


@router.put("/me/goal", response_model=WeeklyProgressPublic)
def put_my_goal(body: GoalBody, user: CurrentUser, rt: RuntimeDep) -> WeeklyProgressPublic:
    """Set your weekly goal: 1 to 1000 accepted clips (else 400 ``bad_weekly_goal``)."""
    return _set_goal(rt, user, body.clips)


@router.get("/campaigns/{ref}/goals", response_model=CommunityGoalsPublic)
def campaign_goals(ref: str, _user: CurrentUser, rt: RuntimeDep) -> CommunityGoalsPublic:
    """Each category's accepted clips against the campaign's community target (by id or
    slug)."""
    # The same guard as GET /campaigns/{ref}: the database is never asked for a ref that
    # cannot be one (PostgreSQL refuses an id past 32 bits, and a NUL, with an error).
    if not _CAMPAIGN_REF.match(ref) or (ref.isdigit() and int(ref) > INT32_MAX):
        raise NotFound("unknown_campaign", f"there is no campaign {ref!r}")
    with read_transaction(rt.sessions) as session:
        campaign = get_campaign(session, ref)
        return CommunityGoalsPublic(
            campaign=campaign.slug,
            categories=[
                CategoryGoalPublic(
                    category=g.category, target=g.target, accepted=g.accepted, share=g.share
                )
                for g in goals.community_goals(session, campaign)
            ],
        )


@router.get("/leaderboard/tiers", response_model=TiersPublic)
def tiers(user: CurrentUser, rt: RuntimeDep) -> TiersPublic:
    """Opted-in donors by tier (bronze, silver, gold), without their counts."""
    with read_transaction(rt.sessions) as session:
        return TiersPublic(
            tiers=[
                TierPublic(tier=t.tier, needs=t.needs, handles=t.handles)
                for t in tiers_board(session)
            ],
            me=own_tier(session, user),
        )
