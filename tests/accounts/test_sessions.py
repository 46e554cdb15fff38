"""Browser sessions kept on the server: ended by signing out, or by their lifetime."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from vidonate.accounts.credentials import secret_digest
from vidonate.accounts.sessions import end_session, start_session, user_for_session
from vidonate.accounts.users import create_user
from vidonate.db.models import WebSession, utcnow


def test_a_session_lasts_until_it_is_ended(session: Session) -> None:
    carol = create_user(session, "carol", "carol-password")
    first, second = start_session(session, carol), start_session(session, carol)
    assert user_for_session(session, first) is carol
    end_session(session, first)
    assert user_for_session(session, first) is None
    assert user_for_session(session, second) is carol, "other browsers stay signed in"


def test_a_session_past_its_lifetime_signs_nobody_in(session: Session) -> None:
    carol = create_user(session, "carol", "carol-password")
    secret = start_session(session, carol, timedelta(hours=1))
    row = session.scalars(select(WebSession)).one()
    assert row.expires_at - row.created_at == timedelta(hours=1)
    assert row.secret_sha256 == secret_digest(secret) != secret
    session.execute(update(WebSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert user_for_session(session, secret) is None
    start_session(session, carol)
    assert len(session.scalars(select(WebSession)).all()) == 1, "the expired one is cleared"
