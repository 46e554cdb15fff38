"""Users and their credentials. Passwords are argon2 hashes; API tokens are stored as sha256."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from vidonate.db.models import ApiToken, Role, User, UserRole
from vidonate.errors import Conflict, InvalidInput, NotAuthenticated
from vidonate.rewards import ledger

_hasher = PasswordHasher()
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
_HANDLE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,31}$")


def _parse_roles(roles: Iterable[str]) -> set[str]:
    parsed = set()
    for role in roles:
        if role not in Role.__members__:
            raise InvalidInput("unknown_role", f"unknown role {role!r}; choose from {list(Role)}")
        parsed.add(role)
    return parsed


def create_user(
    session: Session,
    username: str,
    password: str,
    roles: Iterable[str] = ("donor",),
    handle: str | None = None,
) -> User:
    username = username.strip().lower()
    if not _USERNAME.match(username):
        raise InvalidInput("bad_username", "a username is 2-64 of a-z, 0-9, '.', '_' and '-'")
    if len(password) < 8:
        raise InvalidInput("weak_password", "a password needs at least 8 characters")
    handle = handle or f"donor-{secrets.token_hex(3)}"
    if not _HANDLE.match(handle):
        raise InvalidInput("bad_handle", "a handle is 3-32 letters, digits, '_' or '-'")
    if session.scalar(select(User.id).where(User.username == username)):
        raise Conflict("username_taken", f"the username {username!r} is taken")
    if session.scalar(select(User.id).where(User.handle == handle)):
        raise Conflict("handle_taken", f"the handle {handle!r} is taken")
    user = User(username=username, password_hash=_hasher.hash(password), handle=handle)
    user.role_rows = [UserRole(role=r) for r in sorted(_parse_roles(roles))]
    session.add(user)
    session.flush()
    if user.has_role("donor"):
        # Opened now, not at first credit, so concurrent credits never race to create it.
        ledger.donor_account(session, user.id)
    return user


def authenticate(session: Session, username: str, password: str) -> User:
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    try:
        if user is None:
            raise VerifyMismatchError
        _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        raise NotAuthenticated("bad_credentials", "wrong username or password") from None
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: User, name: str = "cli") -> str:
    """A new bearer token. Only its hash is kept, so it is shown exactly once."""
    token = "vdn_" + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_sha256=_digest(token), name=name))
    session.flush()
    return token


def user_for_token(session: Session, token: str) -> User:
    user = session.scalar(
        select(User)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_sha256 == _digest(token))
    )
    if user is None:
        raise NotAuthenticated("bad_token", "the API token is unknown or revoked")
    return user


def update_profile(
    session: Session,
    user: User,
    *,
    handle: str | None = None,
    leaderboard_opt_in: bool | None = None,
) -> User:
    if handle is not None and handle != user.handle:
        if not _HANDLE.match(handle):
            raise InvalidInput("bad_handle", "a handle is 3-32 letters, digits, '_' or '-'")
        if session.scalar(select(User.id).where(User.handle == handle)):
            raise Conflict("handle_taken", f"the handle {handle!r} is taken")
        user.handle = handle
    if leaderboard_opt_in is not None:
        user.leaderboard_opt_in = leaderboard_opt_in
    session.flush()
    return user
