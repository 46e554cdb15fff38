"""Browser sessions, kept on the server.

The signed session cookie holds a random secret; the row with its digest says whose
session it is and until when it lasts. Signing out deletes the row, so the cookie,
or any copy of it kept from before, signs nobody in afterwards.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, joinedload

from vidonate.accounts.credentials import new_secret, secret_digest
from vidonate.db.models import User, WebSession, utcnow

DEFAULT_LIFETIME = timedelta(days=14)


def start_session(session: Session, user: User, lifetime: timedelta = DEFAULT_LIFETIME) -> str:
    """A new session for ``user``; returns the secret the cookie carries."""
    now = utcnow()
    session.execute(
        delete(WebSession).where(WebSession.user_id == user.id, WebSession.expires_at <= now)
    )
    secret = new_secret()
    session.add(
        WebSession(
            user_id=user.id,
            secret_sha256=secret_digest(secret),
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    session.flush()
    return secret


def user_for_session(session: Session, secret: str) -> User | None:
    """The user of a live session; None when it ended, expired or never was."""
    # One query for the session, its user and their roles: every page asks this first.
    return (
        session.scalars(
            select(User)
            .join(WebSession, WebSession.user_id == User.id)
            .where(
                WebSession.secret_sha256 == secret_digest(secret), WebSession.expires_at > utcnow()
            )
            .options(joinedload(User.role_rows))
        )
        .unique()
        .one_or_none()
    )


def end_session(session: Session, secret: str) -> None:
    session.execute(delete(WebSession).where(WebSession.secret_sha256 == secret_digest(secret)))
