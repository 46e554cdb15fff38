"""The JSON API under /api/v1, one router per resource."""

from fastapi import APIRouter

from vidonate.web.api import (
    audit,
    auth,
    badges,
    cameras,
    campaigns,
    catalogue,
    detect,
    donations,
    gold,
    holds,
    intervals,
    me,
    payouts,
    review,
    rewards,
    stats,
    tokens,
    transparency,
    uploads,
    users,
)

api_router = APIRouter(prefix="/api/v1")
for module in (
    auth, users, me, tokens, campaigns, cameras, uploads, donations, review, gold, rewards,
    catalogue, payouts, holds, badges, stats, audit, transparency, detect, intervals,
):  # fmt: skip
    api_router.include_router(module.router)

__all__ = ["api_router"]
