"""API tokens: stored as digests only, expiring, listed and revoked by their owner."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from vidonate.accounts.tokens import (
    new_token,
    revoke_token,
    token_for_secret,
    tokens_of,
    user_for_token,
)
from vidonate.accounts.users import create_user
from vidonate.db.models import ApiToken, User, utcnow
from vidonate.errors import NotAuthenticated, NotFound


@pytest.fixture
def carol(session: Session) -> User:
    return create_user(session, "carol", "carol-password")


def _refusal(session: Session, secret: str) -> str:
    with pytest.raises(NotAuthenticated) as refused:
        token_for_secret(session, secret)
    return refused.value.code


def test_a_token_is_stored_only_as_the_sha256_of_its_secret(session: Session, carol: User) -> None:
    issued = new_token(session, carol, "laptop")
    row = session.scalars(select(ApiToken)).one()
    stored = [str(getattr(row, column.key)) for column in ApiToken.__table__.columns]
    assert not any(issued.secret in value for value in stored)
    assert row.token_sha256 == hashlib.sha256(issued.secret.encode()).hexdigest()
    assert user_for_token(session, issued.secret).id == carol.id


def test_a_token_expires_after_its_lifetime(session: Session, carol: User) -> None:
    issued = new_token(session, carol, lifetime=timedelta(days=7))
    lifetime = issued.token.expires_at - issued.token.created_at
    assert lifetime == timedelta(days=7)
    session.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert _refusal(session, issued.secret) == "token_expired"


def test_signing_in_again_clears_the_users_expired_tokens(session: Session, carol: User) -> None:
    old = new_token(session, carol, "old")
    session.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    new_token(session, carol, "new")
    assert [t.name for t in tokens_of(session, carol)] == ["new"]
    assert _refusal(session, old.secret) == "bad_token"


def test_a_revoked_token_signs_nobody_in(session: Session, carol: User) -> None:
    kept, revoked = new_token(session, carol, "kept"), new_token(session, carol, "revoked")
    revoke_token(session, carol, revoked.token.id)
    assert _refusal(session, revoked.secret) == "bad_token"
    assert token_for_secret(session, kept.secret).id == kept.token.id
    assert [t.name for t in tokens_of(session, carol)] == ["kept"]


def test_nobody_revokes_or_lists_someone_elses_token(session: Session, carol: User) -> None:
    dave = create_user(session, "dave", "dave-password")
    carols = new_token(session, carol)
    with pytest.raises(NotFound) as refused:
        revoke_token(session, dave, carols.token.id)
    assert refused.value.code == "unknown_token"
    assert tokens_of(session, dave) == []
    assert token_for_secret(session, carols.secret).id == carols.token.id


def test_an_unknown_secret_is_refused(session: Session) -> None:
    assert _refusal(session, "vdn_not-a-token") == "bad_token"
