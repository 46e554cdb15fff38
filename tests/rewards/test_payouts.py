"""Cash payouts: requested from the balance, exported once per closed month in PayPal's
Payouts batch format (or as an operator's work list), never paid twice."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from spending import THRESHOLD, balance, count, give
from sqlalchemy import select

from vidonate.db.engine import transaction
from vidonate.db.models import LedgerEntry, User
from vidonate.db.models_rewards import Payout, PayoutBatch
from vidonate.errors import Conflict, InvalidInput
from vidonate.rewards import holds, payouts
from vidonate.runtime import Runtime
from world import World

NOVEMBER = datetime(2026, 11, 14, 12, tzinfo=UTC)
DECEMBER = datetime(2026, 12, 2, 9, tzinfo=UTC)


def _user(s, user_id: int) -> User:  # type: ignore[no-untyped-def]
    user = s.get(User, user_id)
    assert user is not None
    return user


def _destination(rt: Runtime, user_id: int, receiver: str) -> None:
    with transaction(rt.sessions) as s:
        payouts.set_destination(s, rt.vault, _user(s, user_id), receiver)


def _request(
    rt: Runtime, user_id: int, cents: int, key: str, *, provider: str = "paypal_batch",
    when: datetime = NOVEMBER,
) -> Payout:  # fmt: skip
    with transaction(rt.sessions) as s:
        return payouts.request_payout(
            s, _user(s, user_id), cents, client_key=key, provider=provider,
            tax_threshold_cents=THRESHOLD, now=when,
        )  # fmt: skip


def _export(rt: Runtime, period: str = "2026-11", provider: str = "paypal_batch") -> PayoutBatch:
    with transaction(rt.sessions) as s:
        return payouts.export_batch(
            s, rt.vault, provider, period, currency="USD", exported_by=None, now=DECEMBER
        )


def test_a_closed_month_exports_as_one_paypal_batch_and_again_as_the_same_batch(
    world: World,
) -> None:
    rt = world.rt
    for donor, receiver in ((world.alice.id, "alice@example.org"), (world.bob.id, "b@example.org")):
        give(rt, donor, 5000)
        _destination(rt, donor, receiver)
    first = _request(rt, world.alice.id, 1250, "pay-alice-1")
    _request(rt, world.bob.id, 400, "pay-bob-1")
    assert balance(rt, world.alice.id) == 3750  # taken when requested: never spent twice
    batch = _export(rt)
    body = json.loads(batch.body)
    assert body["sender_batch_header"]["sender_batch_id"] == "vidonate-paypal_batch-2026-11"
    assert body["items"][0] == {
        "recipient_type": "EMAIL",
        "amount": {"value": "12.50", "currency": "USD"},
        "receiver": "alice@example.org",
        "sender_item_id": f"vidonate-payout-{first.id}",
        "note": "vidonate reward for accepted clips",
    }
    assert (batch.items, batch.total_cents) == (2, 1650)
    # A payout asked for after the export, in the same month's file? No: the file is made.
    _request(rt, world.alice.id, 100, "pay-alice-late")
    again = _export(rt)
    assert (again.id, again.body, again.body_sha256) == (batch.id, batch.body, batch.body_sha256)
    assert count(rt, PayoutBatch) == 1
    with transaction(rt.sessions) as s:
        statuses = dict(s.execute(select(Payout.client_key, Payout.status)).all())
    assert statuses == {
        "pay-alice-1": "exported",
        "pay-bob-1": "exported",
        "pay-alice-late": "requested",
    }
    assert "tax" not in batch.body.lower()


def test_a_month_still_running_cannot_be_exported(world: World) -> None:
    with pytest.raises(Conflict, match="period_open"):
        _export(world.rt, "2026-12")
    with pytest.raises(InvalidInput, match="bad_period"):
        _export(world.rt, "2026-13")
    assert count(world.rt, PayoutBatch) == 0


def test_the_manual_provider_gives_an_operator_a_work_list_to_mark_paid(world: World) -> None:
    rt = world.rt
    give(rt, world.alice.id, 900)
    payout = _request(rt, world.alice.id, 900, "manual-0001", provider="manual")
    batch = _export(rt, provider="manual")
    assert batch.body.splitlines() == [
        "batch,payout,handle,amount,currency",
        f"vidonate-manual-2026-11,{payout.id},alice-h,9.00,USD",
    ]
    with transaction(rt.sessions) as s:
        payouts.mark_batch_paid(s, batch.id, paid_by=None)
    with transaction(rt.sessions) as s:
        history = payouts.payouts_of(s, _user(s, world.alice.id))
    assert [(p.id, p.status) for p in history] == [(payout.id, "paid")]


def test_a_cancelled_request_gives_the_money_back_and_is_not_exported(world: World) -> None:
    rt = world.rt
    give(rt, world.alice.id, 1000)
    _destination(rt, world.alice.id, "alice@example.org")
    payout = _request(rt, world.alice.id, 600, "cancel-0001")
    with transaction(rt.sessions) as s:
        payouts.cancel_payout(s, _user(s, world.alice.id), payout.id)
    assert balance(rt, world.alice.id) == 1000
    assert _export(rt).items == 0
    with pytest.raises(Conflict, match="payout_not_cancellable"), transaction(rt.sessions) as s:
        payouts.cancel_payout(s, _user(s, world.alice.id), payout.id)


@pytest.mark.parametrize(
    ("cents", "receiver", "code"),
    [
        (5000, "alice@example.org", "insufficient_balance"),
        (0, "alice@example.org", "bad_payout_amount"),
        (-100, "alice@example.org", "bad_payout_amount"),
        (500, None, "payout_destination_required"),
    ],
)
def test_a_refused_payout_request_changes_nothing(
    world: World, cents: int, receiver: str | None, code: str
) -> None:
    rt = world.rt
    give(rt, world.alice.id, 1000)
    if receiver:
        _destination(rt, world.alice.id, receiver)
    entries = count(rt, LedgerEntry)
    with pytest.raises((Conflict, InvalidInput), match=code):
        _request(rt, world.alice.id, cents, "refused-0001")
    assert (balance(rt, world.alice.id), count(rt, LedgerEntry), count(rt, Payout)) == (
        1000,
        entries,
        0,
    )


def test_a_held_donors_requested_payout_waits_outside_the_batch(world: World) -> None:
    rt = world.rt
    give(rt, world.alice.id, 1000)
    _destination(rt, world.alice.id, "alice@example.org")
    _request(rt, world.alice.id, 500, "held-0001")
    with transaction(rt.sessions) as s:
        holds.place_hold(s, world.alice.id, holds.SHARED_CAMERA_SCENE, "scene shared with bob")
    assert _export(rt).items == 0
    with pytest.raises(Conflict, match="payouts_held"):
        _request(rt, world.alice.id, 100, "held-0002")
