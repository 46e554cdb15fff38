"""The reward catalogue: donors spend their balance on gift cards and products.

A redemption is a ledger transfer and an inventory claim in one transaction, idempotent on
the client's key; codes and addresses are sealed; bad input changes nothing.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from spending import balance, count, gift_card, give, product, redeem, stock
from sqlalchemy import select

from vidonate.accounts.users import create_user
from vidonate.db.engine import transaction
from vidonate.db.models import AuditEntry, LedgerEntry, LedgerTransaction, User
from vidonate.db.models_rewards import CatalogueItem, GiftCardCode, Redemption
from vidonate.errors import Conflict, InvalidInput, NotFound
from vidonate.rewards import catalogue, ledger
from vidonate.runtime import Runtime
from world import World

ADDRESS = "Alice Martin\n12 rue des Lilas\n75011 Paris\nFrance"


def test_a_product_redemption_is_one_transfer_and_one_unit_and_keeps_the_address_sealed(
    world: World,
) -> None:
    rt, alice = world.rt, world.alice.id
    give(rt, alice, 1200)
    mug = product(rt, price=500, stock=3)
    redemption = redeem(rt, alice, mug, "order-0001", shipping_address=ADDRESS)
    assert (redemption.status, redemption.price_cents) == ("awaiting_shipment", 500)
    assert balance(rt, alice) == 700
    assert stock(rt, mug) == 2
    with transaction(rt.sessions) as s:
        tx = s.get(LedgerTransaction, redemption.ledger_transaction_id)
        assert tx is not None and tx.kind == "redemption"
        assert sorted(e.amount_cents for e in tx.entries) == [-500, 500]
        row = s.get(Redemption, redemption.id)
        assert row is not None and row.sealed_address is not None
        assert b"Lilas" not in row.sealed_address
        admin = create_user(s, "ops", "ops-password-1", ["admin"])
        assert catalogue.shipping_address(s, rt.vault, redemption.id, actor_id=admin.id) == ADDRESS
        catalogue.mark_shipped(s, redemption.id, shipped_by=admin.id)
    with transaction(rt.sessions) as s:
        row = s.get(Redemption, redemption.id)
        assert row is not None
        assert (row.status, row.sealed_address) == ("shipped", None)
        assert (
            s.scalar(select(AuditEntry.purpose).where(AuditEntry.action == "read_shipping_address"))
            == "fulfilment"
        )
        with pytest.raises(Conflict, match="not_awaiting_shipment"):
            catalogue.shipping_address(s, rt.vault, redemption.id, actor_id=admin.id)


def test_a_gift_card_code_is_sealed_and_shown_only_to_its_donor_each_read_logged(
    world: World,
) -> None:
    rt = world.rt
    give(rt, world.alice.id, 1000)
    card = gift_card(rt, ["BOOK-AAAA-1111", "BOOK-BBBB-2222"])
    with transaction(rt.sessions) as s:
        sealed = [c.sealed_code for c in s.scalars(select(GiftCardCode))]
    assert sealed and not any(b"BOOK-" in blob for blob in sealed)
    redemption = redeem(rt, world.alice.id, card, "card-0001")
    assert redemption.status == "fulfilled"
    with transaction(rt.sessions) as s:
        alice, bob = s.get(User, world.alice.id), s.get(User, world.bob.id)
        assert alice is not None and bob is not None
        assert catalogue.reveal_code(s, rt.vault, alice, redemption.id) == "BOOK-AAAA-1111"
        with pytest.raises(NotFound, match="unknown_redemption"):
            catalogue.reveal_code(s, rt.vault, bob, redemption.id)
        code = s.scalar(select(GiftCardCode).where(GiftCardCode.redemption_id == redemption.id))
        assert code is not None and code.wrapped_key is None  # now under alice's key only
        reads = s.scalars(
            select(AuditEntry).where(AuditEntry.action == "read_gift_card_code")
        ).all()
        assert [(r.actor_id, r.purpose, r.object_id) for r in reads] == [
            (world.alice.id, "owner", str(redemption.id))
        ]
    assert stock(rt, card) == 1


def test_a_retried_redemption_returns_the_first_and_spends_once(world: World) -> None:
    rt = world.rt
    give(rt, world.alice.id, 1000)
    mug = product(rt, price=300)
    first = redeem(rt, world.alice.id, mug, "retry-0001", shipping_address=ADDRESS)
    again = redeem(rt, world.alice.id, mug, "retry-0001", shipping_address=ADDRESS)
    assert again.id == first.id
    assert balance(rt, world.alice.id) == 700
    assert count(rt, Redemption) == 1
    with pytest.raises(Conflict, match="client_key_reused"):
        redeem(rt, world.alice.id, gift_card(rt, ["X-1"]), "retry-0001")


@pytest.mark.parametrize(
    ("setup", "call", "code"),
    [
        (dict(give=100), dict(), "insufficient_balance"),
        (dict(give=5000, stock=0), dict(), "out_of_stock"),
        (dict(give=5000), dict(address=None), "shipping_address_required"),
        (dict(give=5000), dict(key="short"), "bad_client_key"),
        (dict(give=5000), dict(item=999_999), "unknown_item"),
    ],
)
def test_a_refused_redemption_changes_nothing(
    world: World, setup: dict, call: dict, code: str
) -> None:
    rt = world.rt
    give(rt, world.alice.id, setup["give"])
    mug = product(rt, price=500, stock=setup.get("stock", 2))
    before = (balance(rt, world.alice.id), stock(rt, mug), count(rt, LedgerEntry))
    with pytest.raises((Conflict, InvalidInput, NotFound), match=code):
        redeem(
            rt,
            world.alice.id,
            call.get("item", mug),
            call.get("key", "refused-0001"),
            shipping_address=call.get("address", ADDRESS),
        )
    assert (balance(rt, world.alice.id), stock(rt, mug), count(rt, LedgerEntry)) == before
    assert count(rt, Redemption) == 0


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        (dict(kind="gift_card", price_cents=0, face_value_cents=500), "bad_price"),
        (dict(kind="gift_card", price_cents=-5, face_value_cents=500), "bad_price"),
        (dict(kind="gift_card", price_cents=500, face_value_cents=0), "bad_face_value"),
        (dict(kind="gift_card", price_cents=500, face_value_cents=-1), "bad_face_value"),
        (dict(kind="gift_card", price_cents=500), "bad_face_value"),
        (dict(kind="product", price_cents=500, stock=-1), "bad_stock"),
        (dict(kind="voucher", price_cents=500), "unknown_item_kind"),
        (dict(kind="product", price_cents=500, name="  "), "bad_item_name"),
    ],
)
def test_an_item_with_a_zero_or_negative_value_is_refused(
    rt: Runtime, fields: dict, code: str
) -> None:
    with pytest.raises(InvalidInput, match=code), transaction(rt.sessions) as s:
        catalogue.add_item(s, **{"name": "Token", **fields})
    assert count(rt, CatalogueItem) == 0


def test_a_code_stocked_twice_is_refused_and_none_of_its_batch_is_added(world: World) -> None:
    rt = world.rt
    card = gift_card(rt, ["DUP-1"])
    with pytest.raises(Conflict, match="gift_card_code_exists"), transaction(rt.sessions) as s:
        catalogue.add_gift_card_codes(s, rt.vault, card, ["NEW-1", "DUP-1"], added_by=None)
    assert count(rt, GiftCardCode) == 1


def test_withdrawing_everything_shreds_the_donors_redeemed_codes(world: World) -> None:
    from vidonate.crypto.vault import ContentShredded

    rt = world.rt
    give(rt, world.alice.id, 1000)
    redemption = redeem(rt, world.alice.id, gift_card(rt, ["SHRED-1"]), "shred-0001")
    with transaction(rt.sessions) as s:
        rt.vault.shred_donor(s, world.alice.id)
    with transaction(rt.sessions) as s:
        alice = s.get(User, world.alice.id)
        assert alice is not None
        with pytest.raises(ContentShredded):
            catalogue.reveal_code(s, rt.vault, alice, redemption.id)


def _donors(rt: Runtime, n: int, cents: int) -> list[int]:
    with transaction(rt.sessions) as s:
        ids = [create_user(s, f"racer{i}", "racer-password", ["donor"]).id for i in range(n)]
    for user_id in ids:
        give(rt, user_id, cents)
    return ids


@pytest.mark.parametrize("kind", ["product", "gift_card"])
def test_fifty_donors_racing_for_the_last_five_get_exactly_five(
    rt: Runtime, database_url: str, kind: str
) -> None:
    """The issue's concurrency case: 50 redemptions of the last 5 units at one moment."""
    donors = _donors(rt, 50, 800)
    if kind == "product":
        item = product(rt, price=500, stock=5)
    else:
        item = gift_card(rt, [f"RACE-{i}" for i in range(5)], price=500)
    start = threading.Barrier(50)

    def attempt(user_id: int) -> str:
        start.wait(timeout=60)
        try:
            redeem(rt, user_id, item, f"race-{user_id:05d}", shipping_address=ADDRESS)
        except Conflict as refused:
            return refused.code
        return "redeemed"

    with ThreadPoolExecutor(50) as pool:
        outcomes = list(pool.map(attempt, donors))
    assert outcomes.count("redeemed") == 5
    assert set(outcomes) == {"redeemed", "out_of_stock"}
    assert stock(rt, item) == 0
    balances = [balance(rt, d) for d in donors]
    assert min(balances) >= 0
    assert sorted(balances).count(300) == 5 and balances.count(800) == 45
    with transaction(rt.sessions) as s:
        assert ledger.balance(s, ledger.redemptions_account(s)) == 5 * 500


def test_one_donor_racing_themselves_never_goes_below_zero(rt: Runtime) -> None:
    (donor,) = _donors(rt, 1, 1000)
    mug = product(rt, price=400, stock=20)
    start = threading.Barrier(8)

    def attempt(n: int) -> str:
        start.wait(timeout=60)
        try:
            redeem(rt, donor, mug, f"self-race-{n:03d}", shipping_address=ADDRESS)
        except Conflict as refused:
            return refused.code
        return "redeemed"

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(attempt, range(8)))
    assert outcomes.count("redeemed") == 2
    assert balance(rt, donor) == 200
    assert stock(rt, mug) == 18
