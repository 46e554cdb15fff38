"""API tokens: issued at sign-in, expiring, listed and revoked by their owner.

A token is shown once, when it is issued; only its digest is stored
(``accounts/credentials.py``). Every token has an expiry (``api_token_lifetime_days``,
90 days by default); an expired token signs nobody in, and is deleted the next time
its owner signs in. Revoking a token deletes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, joinedload

from vidonate.accounts.credentials import new_secret, secret_digest
from vidonate.db.models import ApiToken, User, utcnow
from vidonate.errors import NotAuthenticated, NotFound

DEFAULT_LIFETIME = timedelta(days=90)
PREFIX = "vdn_"


@dataclass(frozen=True)
class NewToken:
    secret: str  # shown to the user once, never stored
    token: ApiToken


def new_token(
    session: Session, user: User, name: str = "cli", lifetime: timedelta = DEFAULT_LIFETIME
) -> NewToken:
    """Issue a token for ``user`` that works for ``lifetime``."""
    now = utcnow()
    session.execute(delete(ApiToken).where(ApiToken.user_id == user.id, ApiToken.expires_at <= now))
    secret = new_secret(PREFIX)
    token = ApiToken(
        user_id=user.id,
        token_sha256=secret_digest(secret),
        name=name,
        created_at=now,
        expires_at=now + lifetime,
    )
    session.add(token)
    session.flush()
    return NewToken(secret, token)


def issue_token(session: Session, user: User, name: str = "cli") -> str:
    """A token of the default lifetime; only its secret (for seeds, scripts and tests)."""
    return new_token(session, user, name).secret


def token_and_user(session: Session, secret: str) -> tuple[ApiToken, User]:
    """The live token whose secret this is, and its user with their roles, in one query
    (every API request asks this first); 401 when unknown, revoked or expired."""
    row = (
        session.execute(
            select(ApiToken, User)
            .join(User, User.id == ApiToken.user_id)
            .where(ApiToken.token_sha256 == secret_digest(secret))
            .options(joinedload(User.role_rows))
        )
        .unique()
        .one_or_none()
    )
    if row is None:
        raise NotAuthenticated("bad_token", "the API token is unknown or revoked")
    token, user = row
    if token.expires_at <= utcnow():
        raise NotAuthenticated(
            "token_expired",
            f"the API token expired at {token.expires_at:%Y-%m-%d %H:%M} UTC; sign in again",
        )
    return token, user


def token_for_secret(session: Session, secret: str) -> ApiToken:
    return token_and_user(session, secret)[0]


def user_for_token(session: Session, secret: str) -> User:
    return token_and_user(session, secret)[1]


def tokens_of(session: Session, user: User) -> list[ApiToken]:
    """The user's tokens, expired ones included until they are cleared, oldest first."""
    return list(
        session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id))
    )


def revoke_token(session: Session, user: User, token_id: int) -> None:
    """Delete one of the user's own tokens; someone else's answers as a missing one."""
    token = session.scalar(
        select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id)
    )
    if token is None:
        raise NotFound("unknown_token", f"you have no API token {token_id}")
    session.delete(token)
    session.flush()
