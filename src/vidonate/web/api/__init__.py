"""The JSON API under /api/v1, one router per resource."""

from fastapi import APIRouter

from vidonate.web.api import (
    auth,
    cameras,
    campaigns,
    donations,
    review,
    rewards,
    stats,
    uploads,
    users,
)

api_router = APIRouter(prefix="/api/v1")
for module in (auth, users, campaigns, cameras, uploads, donations, review, rewards, stats):
    api_router.include_router(module.router)

__all__ = ["api_router"]
