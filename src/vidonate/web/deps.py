"""Dependencies shared by routes: the runtime, the current user, role checks.

Every route is closed unless it asks for no user explicitly: ``CurrentUser`` is
the default way in, and raises 401 without a valid token or session.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from vidonate.accounts.users import user_for_token
from vidonate.db.engine import transaction
from vidonate.db.models import User
from vidonate.errors import Forbidden, NotAuthenticated
from vidonate.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def optional_user(request: Request, rt: RuntimeDep) -> User | None:
    header = request.headers.get("authorization", "")
    with transaction(rt.sessions) as session:
        if header.lower().startswith("bearer "):
            return user_for_token(session, header[7:].strip())
        uid = request.session.get("uid") if "session" in request.scope else None
        if uid is not None:
            return session.get(User, int(uid))
    return None


def current_user(user: Annotated[User | None, Depends(optional_user)]) -> User:
    if user is None:
        raise NotAuthenticated("not_signed_in", "sign in, or send 'Authorization: Bearer <token>'")
    return user


CurrentUser = Annotated[User, Depends(current_user)]
OptionalUser = Annotated[User | None, Depends(optional_user)]


def require_role(role: str):  # type: ignore[no-untyped-def]
    def check(user: CurrentUser) -> User:
        if not user.has_role(role):
            raise Forbidden(
                f"not_{'an' if role[0] in 'aeiou' else 'a'}_{role}", f"this needs the {role} role"
            )
        return user

    return Depends(check)


AdminUser = Annotated[User, require_role("admin")]
ReviewerUser = Annotated[User, require_role("reviewer")]
