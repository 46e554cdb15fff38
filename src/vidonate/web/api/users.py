from __future__ import annotations

from fastapi import APIRouter

from vidonate.accounts.users import create_user, update_profile
from vidonate.db.engine import transaction
from vidonate.db.models import User
from vidonate.web.api.schemas import ProfileUpdate, UserCreate, UserPublic
from vidonate.web.deps import AdminUser, CurrentUser, RuntimeDep

router = APIRouter(tags=["users"])


def public(user: User) -> UserPublic:
    return UserPublic(
        id=user.id,
        username=user.username,
        handle=user.handle,
        roles=sorted(user.roles),
        leaderboard_opt_in=user.leaderboard_opt_in,
    )


@router.get("/me", response_model=UserPublic)
def me(user: CurrentUser) -> UserPublic:
    return public(user)


@router.patch("/me", response_model=UserPublic)
def update_me(body: ProfileUpdate, user: CurrentUser, rt: RuntimeDep) -> UserPublic:
    with transaction(rt.sessions) as session:
        own = session.get(User, user.id)
        assert own is not None
        return public(
            update_profile(
                session, own, handle=body.handle, leaderboard_opt_in=body.leaderboard_opt_in
            )
        )


@router.post("/users", response_model=UserPublic, status_code=201)
def add_user(body: UserCreate, _admin: AdminUser, rt: RuntimeDep) -> UserPublic:
    with transaction(rt.sessions) as session:
        return public(create_user(session, body.username, body.password, body.roles, body.handle))
