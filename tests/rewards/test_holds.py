"""Holds: past the yearly threshold without tax details, and for fraud review. Each has a
reason code, is shown to the donor, counted publicly, and released as its reason says."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from spending import balance, give, product, redeem
from sqlalchemy import select

from vidonate.db.engine import transaction
from vidonate.db.models import User
from vidonate.db.models_rewards import PayoutHold, TaxDetails
from vidonate.errors import Conflict, InvalidInput
from vidonate.rewards import catalogue, holds
from vidonate.runtime import Runtime
from world import World

ADDRESS = "Bob Durand, 3 place du Marché, 69002 Lyon"


def _spend(rt: Runtime, user_id: int, item: int, key: str, threshold: int):  # type: ignore[no-untyped-def]
    def spend(s):  # type: ignore[no-untyped-def]
        user = s.get(User, user_id)
        return catalogue.redeem(
            s, rt.vault, user, item, client_key=key, shipping_address=ADDRESS,
            tax_threshold_cents=threshold, now=datetime(2026, 6, 1, tzinfo=UTC),
        )  # fmt: skip

    return holds.spending(rt.sessions, spend)


def test_passing_the_yearly_threshold_holds_until_tax_details_are_supplied(world: World) -> None:
    rt, bob = world.rt, world.bob.id
    give(rt, bob, 10_000)
    mug = product(rt, price=1500, stock=5)
    _spend(rt, bob, mug, "tax-000001", threshold=2000)  # 1500 in the year: under it
    with pytest.raises(Conflict, match="payouts_held"):
        _spend(rt, bob, mug, "tax-000002", threshold=2000)  # 3000 would pass 2000
    assert balance(rt, bob) == 8500
    with transaction(rt.sessions) as s:
        (hold,) = holds.open_holds(s, bob)
        assert hold.reason == "tax_details_required" and "3000 cents in 2026" in hold.detail
        user = s.get(User, bob)
        assert user is not None
        holds.supply_tax_details(s, rt.vault, user, "FR 1 23 45 67 890 123, Bob Durand")
    with transaction(rt.sessions) as s:
        assert holds.open_holds(s, bob) == []
        (released,) = holds.holds_of(s, bob)
        assert released.release_note == "tax details supplied"
        row = s.get(TaxDetails, bob)
        assert row is not None and b"Durand" not in row.sealed
        assert "Bob Durand" in (holds.read_tax_details(s, rt.vault, bob) or "")
    _spend(rt, bob, mug, "tax-000002", threshold=2000)
    assert balance(rt, bob) == 7000


def test_one_open_hold_per_reason_and_an_operator_release_is_recorded(world: World) -> None:
    rt = world.rt
    with transaction(rt.sessions) as s:
        assert holds.place_hold(s, world.alice.id, holds.MUTUAL_VOTING, "votes with bob")
        assert not holds.place_hold(s, world.alice.id, holds.MUTUAL_VOTING, "again")
        (hold,) = holds.open_holds(s, world.alice.id)
        holds.release_hold(s, hold.id, released_by=None, note="reviewed: family members")
        with pytest.raises(Conflict, match="hold_not_open"):
            holds.release_hold(s, hold.id, released_by=None, note="twice")
        assert holds.place_hold(s, world.alice.id, holds.MUTUAL_VOTING, "again, later")
    with transaction(rt.sessions) as s:
        counts = {c.reason: (c.open, c.released) for c in holds.hold_counts(s)}
    assert counts == {
        "tax_details_required": (0, 0),
        "shared_camera_scene": (0, 0),
        "mutual_voting": (1, 1),
    }


def test_empty_or_huge_tax_details_are_refused_and_nothing_is_kept(world: World) -> None:
    rt = world.rt
    for details in ("   ", "x" * 2001):
        with pytest.raises(InvalidInput, match="bad_tax_details"), transaction(rt.sessions) as s:
            user = s.get(User, world.alice.id)
            assert user is not None
            holds.supply_tax_details(s, rt.vault, user, details)
    with transaction(rt.sessions) as s:
        assert s.scalars(select(TaxDetails)).all() == []
        assert s.scalars(select(PayoutHold)).all() == []


def test_a_hold_blocks_redemptions_too(world: World) -> None:
    rt = world.rt
    give(rt, world.alice.id, 1000)
    with transaction(rt.sessions) as s:
        holds.place_hold(s, world.alice.id, holds.SHARED_CAMERA_SCENE, "same porch as bob")
    with pytest.raises(Conflict, match="payouts_held"):
        redeem(rt, world.alice.id, product(rt), "held-redeem-1", shipping_address=ADDRESS)
    assert balance(rt, world.alice.id) == 1000
