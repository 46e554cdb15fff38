"""The rewards ledger: double-entry, append-only, paid once, within cap and budget,
also when final votes race each other."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from vidonate.db.engine import transaction
from vidonate.db.models import Donation, LedgerEntry, LedgerTransaction
from vidonate.rewards import ledger
from vidonate.runtime import Runtime
from world import World, build_world


def _accept(world: World, clip: int):  # type: ignore[no-untyped-def]
    world.vote("rita", clip)
    return world.vote("ravi", clip)


def _balances(world: World) -> dict[str, int]:
    with transaction(world.rt.sessions) as s:
        return {a.key: cents for a, cents in ledger.all_balances(s)}


def test_every_transaction_balances_and_balances_are_sums(world: World) -> None:
    _accept(world, world.clip_in_review("alice"))
    with transaction(world.rt.sessions) as s:
        per_tx = s.execute(
            select(LedgerEntry.transaction_id, func.sum(LedgerEntry.amount_cents)).group_by(
                LedgerEntry.transaction_id
            )
        ).all()
        assert per_tx and all(total == 0 for _, total in per_tx)
    b = _balances(world)
    assert b["funding"] == -100_000
    assert b[f"campaign:{world.campaign.id}"] == 100_000 - 200
    assert b[f"donor:{world.alice.id}"] == 200


def test_the_ledger_refuses_updates_and_deletes(world: World) -> None:
    with pytest.raises(RuntimeError, match="append-only"), transaction(world.rt.sessions) as s:
        entry = s.scalars(select(LedgerEntry)).first()
        assert entry is not None
        entry.amount_cents = 1
        s.flush()
    with pytest.raises(RuntimeError, match="append-only"), transaction(world.rt.sessions) as s:
        s.delete(s.scalars(select(LedgerTransaction)).first())
        s.flush()


def test_the_eleventh_clip_of_a_camera_and_category_is_accepted_but_unpaid(world: World) -> None:
    outcomes = [_accept(world, world.clip_in_review("alice")) for _ in range(11)]
    assert [o.status for o in outcomes] == ["accepted"] * 11
    assert [o.paid_cents for o in outcomes] == [200] * 10 + [0]
    assert outcomes[-1].unpaid_reason == "camera_cap_reached"
    assert _balances(world)[f"donor:{world.alice.id}"] == 2000
    other_category = _accept(world, world.clip_in_review("alice", category="car_door_tampering"))
    assert other_category.paid_cents == 200, "the cap is per camera and category"


def test_an_exhausted_budget_accepts_without_paying_and_never_goes_negative(rt: Runtime) -> None:
    world = build_world(rt, budget_cents=500)
    outcomes = [_accept(world, world.clip_in_review("alice")) for _ in range(3)]
    assert [o.paid_cents for o in outcomes] == [200, 200, 0]
    assert outcomes[-1].unpaid_reason == "budget_exhausted"
    assert _balances(world)[f"campaign:{world.campaign.id}"] == 100
    with transaction(world.rt.sessions) as s:
        shown = s.get(
            Donation, outcomes and s.query(Donation).order_by(Donation.id.desc()).first().id
        )  # type: ignore[union-attr]
        assert shown.unpaid_reason == "budget_exhausted"  # type: ignore[union-attr]


def test_concurrent_final_votes_credit_exactly_once_and_keep_the_budget(rt: Runtime) -> None:
    """Many clips, each with one accept in; then many reviewers race to cast the second
    accept on every clip at once. The budget covers only some of them."""
    from vidonate.accounts.users import create_user

    world = build_world(rt, budget_cents=200 * 7, paid_cap_per_camera=1000)
    with transaction(rt.sessions) as s:
        racers = [create_user(s, f"racer{i}", "racer-password", ["reviewer"]).id for i in range(6)]
    clips = [world.clip_in_review("alice") for _ in range(10)]
    clips += [world.clip_in_review("bob") for _ in range(10)]
    for clip in clips:
        world.vote("rita", clip)
    barrier = threading.Barrier(len(racers))
    errors: list[BaseException] = []

    def race(index: int, reviewer_id: int) -> None:
        from vidonate.db.models import User
        from vidonate.errors import Conflict
        from vidonate.review.service import cast_vote

        barrier.wait()
        # Each racer walks the clips from another start, so different clips are being
        # decided (and credited from the one budget) at the same moment.
        step = len(clips) // len(racers) + 1
        for clip in clips[index * step :] + clips[: index * step]:
            try:
                with transaction(rt.sessions) as s:
                    cast_vote(s, s.get(User, reviewer_id), clip, decision="accept")  # type: ignore[arg-type]
            except Conflict:
                pass  # the clip was decided by another racer first
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=race, args=(i, r)) for i, r in enumerate(racers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with transaction(rt.sessions) as s:
        statuses = {s.get(Donation, c).status for c in clips}  # type: ignore[union-attr]
        rewards = s.scalars(
            select(LedgerTransaction).where(LedgerTransaction.kind == "reward")
        ).all()
        unpaid = s.scalar(
            select(func.count(Donation.id)).where(Donation.unpaid_reason == "budget_exhausted")
        )
    assert statuses == {"accepted"}
    assert len(rewards) == 7 and len({r.donation_id for r in rewards}) == 7
    assert unpaid == len(clips) - 7
    b = _balances(world)
    assert b[f"campaign:{world.campaign.id}"] == 0
    assert b[f"donor:{world.alice.id}"] + b[f"donor:{world.bob.id}"] == 1400
