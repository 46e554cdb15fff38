"""Tiers: a donor shown as bronze, silver or gold, never with a count; only donors who
opted in to the leaderboard are listed."""

from __future__ import annotations

from sqlalchemy import update

from badge_helpers import accept, decided_rows
from vidonate.db.engine import transaction
from vidonate.db.models import User
from vidonate.rewards.leaderboard import (
    TIERS,
    leaderboard,
    own_standing,
    own_tier,
    tier_of,
    tiers_board,
)
from world import World


def test_tiers_by_accepted_clips() -> None:
    assert [tier_of(n) for n in (0, 1, 9, 10, 99, 100, 5000)] == [
        None, "bronze", "bronze", "silver", "silver", "gold", "gold",
    ]  # fmt: skip
    assert [t for t, _ in TIERS] == ["gold", "silver", "bronze"]


def _opt_in(world: World, *names: str) -> None:
    with transaction(world.rt.sessions) as s:
        ids = [getattr(world, name).id for name in names]
        s.execute(update(User).where(User.id.in_(ids)).values(leaderboard_opt_in=True))


def test_the_board_lists_opted_in_donors_by_tier_and_never_an_opted_out_one(
    world: World,
) -> None:
    decided_rows(world, 10, "accepted", donor="alice")
    accept(world, "ravi")
    decided_rows(world, 100, "accepted", donor="bob")  # gold, but not opted in
    _opt_in(world, "alice", "ravi")
    with transaction(world.rt.sessions) as s:
        board = {t.tier: t.handles for t in tiers_board(s)}
        bob = s.get(User, world.bob.id)
        assert bob is not None
        assert own_tier(s, bob) == "gold", "bob sees his own tier"
    assert board == {"gold": [], "silver": ["alice-h"], "bronze": ["ravi-h"]}
    assert "bob-h" not in repr(board)


def test_a_tier_board_with_nobody_opted_in_is_empty(world: World) -> None:
    accept(world)
    with transaction(world.rt.sessions) as s:
        assert all(t.handles == [] for t in tiers_board(s))
        alice = s.get(User, world.alice.id)
        assert alice is not None and own_tier(s, alice) == "bronze"
        assert own_tier(s, s.get(User, world.rita.id)) is None  # type: ignore[arg-type]


def test_the_ranked_leaderboard_still_works_beside_the_tiers(world: World) -> None:
    accept(world)
    accept(world, "bob")
    accept(world, "bob")
    _opt_in(world, "bob")
    with transaction(world.rt.sessions) as s:
        assert [(x.rank, x.handle, x.accepted) for x in leaderboard(s)] == [(1, "bob-h", 2)]
        mine = own_standing(s, s.get(User, world.alice.id))  # type: ignore[arg-type]
        assert mine is not None and mine.rank == 2
