"""Passwords: an unknown username costs the same argon2 work as a known one."""

from __future__ import annotations

import pytest
from argon2 import Parameters, PasswordHasher, extract_parameters
from argon2.low_level import Type
from sqlalchemy.orm import Session

from vidonate.accounts import users
from vidonate.accounts.users import authenticate, create_user
from vidonate.errors import NotAuthenticated


class CountingHasher(PasswordHasher):
    """The tests' cheap hasher, noting the parameters of every hash it verifies against."""

    def __init__(self, memory_cost: int = 1024) -> None:
        super().__init__(time_cost=1, memory_cost=memory_cost, parallelism=1)
        self.verified: list[Parameters] = []

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.verified.append(extract_parameters(hash if isinstance(hash, str) else hash.decode()))
        return super().verify(hash, password)


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> CountingHasher:
    counting = CountingHasher()
    monkeypatch.setattr(users, "_hasher", counting)
    return counting


def _refusal(session: Session, username: str, password: str) -> NotAuthenticated:
    with pytest.raises(NotAuthenticated) as refused:
        authenticate(session, username, password)
    return refused.value


def test_an_unknown_username_costs_the_same_hash_work_as_a_known_one(
    session: Session, hasher: CountingHasher
) -> None:
    create_user(session, "carol", "carol-password")
    known = _refusal(session, "carol", "wrong-password")
    unknown = _refusal(session, "nobody-here", "wrong-password")
    assert len(hasher.verified) == 2, "one argon2 verification each, no more, no less"
    assert hasher.verified[0] == hasher.verified[1], "against a hash of the same cost"
    assert (
        (known.code, known.message)
        == (unknown.code, unknown.message)
        == (
            "bad_credentials",
            "wrong username or password",
        )
    )


def test_the_stand_in_hash_follows_the_hasher_in_use(
    session: Session, hasher: CountingHasher, monkeypatch: pytest.MonkeyPatch
) -> None:
    _refusal(session, "nobody-here", "wrong-password")
    assert hasher.verified[-1].memory_cost == 1024
    costlier = CountingHasher(memory_cost=4096)
    monkeypatch.setattr(users, "_hasher", costlier)
    _refusal(session, "nobody-here", "wrong-password")
    assert costlier.verified[-1].memory_cost == 4096
    assert costlier.verified[-1].type == Type.ID


def test_the_right_password_signs_in_and_usernames_ignore_case_and_spaces(
    session: Session, hasher: CountingHasher
) -> None:
    carol = create_user(session, "carol", "carol-password")
    assert authenticate(session, " Carol ", "carol-password").id == carol.id
    assert len(hasher.verified) == 1
