"""First-start data: an admin account and a demo campaign, created once."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from vidonate.accounts.users import create_user
from vidonate.campaigns.service import create_campaign
from vidonate.db.models import Campaign, User, UserRole

DEMO_SLUG = "porch-and-car-2026"


def ensure_admin(session: Session, username: str = "admin") -> tuple[User, str | None]:
    """The admin account; the password is returned only when the account is new."""
    existing = session.scalar(
        select(User).join(UserRole).where(UserRole.role == "admin").order_by(User.id).limit(1)
    )
    if existing is not None:
        return existing, None
    password = secrets.token_urlsafe(12)
    return create_user(
        session, username, password, roles=["admin", "reviewer", "auditor"], handle="admin"
    ), password


def ensure_demo_campaign(session: Session) -> Campaign:
    campaign = session.scalar(select(Campaign).where(Campaign.slug == DEMO_SLUG))
    if campaign is not None:
        return campaign
    return create_campaign(
        session,
        slug=DEMO_SLUG,
        name="Porch and car 2026",
        budget_cents=40_000 * 200,
        reward_cents=200,
    )
