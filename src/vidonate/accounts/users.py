"""Users and their passwords (argon2 hashes). API tokens: ``accounts/tokens.py``."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from vidonate.accounts.tokens import issue_token, user_for_token
from vidonate.db.models import Role, User, UserRole
from vidonate.errors import Conflict, InvalidInput, NotAuthenticated
from vidonate.rewards import ledger

# Kept importable from here: seeds, scripts and tests sign users in with these.
__all__ = ["authenticate", "create_user", "issue_token", "update_profile", "user_for_token"]

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
    """The user with this username and password; 401 ``bad_credentials`` otherwise.

    An unknown username is checked against a stand-in hash made by the same hasher, so
    it costs the same argon2 work as a known one: the time of the answer does not tell
    whether an account exists.
    """
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    hasher = _hasher
    stored = user.password_hash if user is not None else _stand_in_hash(hasher)
    try:
        hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        user = None
    if user is None:
        raise NotAuthenticated("bad_credentials", "wrong username or password")
    return user


_stand_in_hashes: dict[tuple[object, ...], str] = {}


def _stand_in_hash(hasher: PasswordHasher) -> str:
    """A hash of a random password nobody knows, with ``hasher``'s cost parameters; made
    once per set of parameters (the tests use cheaper ones than production)."""
    params = (
        hasher.time_cost,
        hasher.memory_cost,
        hasher.parallelism,
        hasher.hash_len,
        hasher.salt_len,
        hasher.type,
    )
    if params not in _stand_in_hashes:
        _stand_in_hashes[params] = hasher.hash(secrets.token_urlsafe(32))
    return _stand_in_hashes[params]


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
