"""The reward catalogue: gift cards and products that donors redeem from their balance.

A redemption is one ledger transfer (donor → ``redemptions``) and one inventory claim (a
product's stock, or one gift-card code) in the same transaction, after a lock on the
donor's ledger account: concurrent redemptions of one donor take turns on the balance, and
concurrent redemptions of one item take turns on its stock (a conditional UPDATE) or skip
each other's codes (``FOR UPDATE SKIP LOCKED``), so the last units go to exactly as many
donors as there are units and no balance goes below zero.

A retried request carries the same client key and finds the first redemption instead of
making a second. Gift-card codes are sealed (see ``models_rewards.GiftCardCode``) and read
only by the donor who redeemed them, each read logged in the access log; a product's
shipping address is sealed under the donor's key and destroyed once it is shipped.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from vidonate.crypto.keys import WrappedKey
from vidonate.crypto.vault import Vault
from vidonate.db import audit
from vidonate.db.models import User, utcnow
from vidonate.db.models_rewards import CatalogueItem, GiftCardCode, Redemption
from vidonate.errors import Conflict, InvalidInput, NotFound
from vidonate.rewards import holds, ledger

GIFT_CARD, PRODUCT = "gift_card", "product"
ITEM_KINDS = (GIFT_CARD, PRODUCT)
FULFILLED, AWAITING_SHIPMENT, SHIPPED = "fulfilled", "awaiting_shipment", "shipped"
_CODE_PURPOSE = "gift_card_codes.code"
_ADDRESS_PURPOSE = "redemptions.address"
_CLIENT_KEY = re.compile(r"^[A-Za-z0-9._:-]{8,80}$")
MAX_CODE_CHARS = 200
MAX_ADDRESS_CHARS = 1000
MAX_PRICE_CENTS = 10_000_000  # $100,000: beyond it a typo, not a reward


@dataclass(frozen=True)
class CatalogueEntry:
    item: CatalogueItem
    available: int  # units a donor can redeem now


def _check_cents(code: str, what: str, cents: int | None) -> None:
    if cents is None or not 0 < cents <= MAX_PRICE_CENTS:
        raise InvalidInput(code, f"{what} is a whole number of cents, 1 to {MAX_PRICE_CENTS}")


def add_item(
    session: Session,
    *,
    kind: str,
    name: str,
    price_cents: int,
    face_value_cents: int | None = None,
    stock: int = 0,
    description: str = "",
    created_by: int | None = None,
) -> CatalogueItem:
    if kind not in ITEM_KINDS:
        raise InvalidInput("unknown_item_kind", f"an item is one of {', '.join(ITEM_KINDS)}")
    name = name.strip()
    if not 1 <= len(name) <= 120:
        raise InvalidInput("bad_item_name", "an item's name is 1 to 120 characters")
    _check_cents("bad_price", "the price", price_cents)
    if kind == GIFT_CARD:
        _check_cents("bad_face_value", "a gift card's face value", face_value_cents)
        if stock:
            raise InvalidInput("bad_stock", "a gift card's stock is its codes: add codes")
    else:
        if face_value_cents is not None:
            _check_cents("bad_face_value", "the face value", face_value_cents)
        if not 0 <= stock <= 1_000_000:
            raise InvalidInput("bad_stock", "stock is 0 to 1,000,000 units")
    item = CatalogueItem(
        kind=kind,
        name=name,
        description=description.strip(),
        price_cents=price_cents,
        face_value_cents=face_value_cents,
        stock=stock,
        active=True,
        created_by=created_by,
        created_at=utcnow(),
    )
    session.add(item)
    session.flush()
    return item


def _item(session: Session, item_id: int, *, for_update: bool = False) -> CatalogueItem:
    query = select(CatalogueItem).where(CatalogueItem.id == item_id)
    item = session.scalar(query.with_for_update() if for_update else query)
    if item is None:
        raise NotFound("unknown_item", f"there is no catalogue item {item_id}")
    return item


def add_gift_card_codes(
    session: Session, vault: Vault, item_id: int, codes: list[str], *, added_by: int | None
) -> int:
    """Add codes to a gift card's inventory, each sealed under a key of its own."""
    item = _item(session, item_id)
    if item.kind != GIFT_CARD:
        raise InvalidInput("not_a_gift_card", f"item {item_id} is a product; restock it")
    cleaned = [code.strip() for code in codes]
    if not cleaned or any(not 1 <= len(code) <= MAX_CODE_CHARS for code in cleaned):
        raise InvalidInput(
            "bad_gift_card_code", f"give one or more codes of 1 to {MAX_CODE_CHARS} characters"
        )
    digests = [hashlib.sha256(code.encode()).hexdigest() for code in cleaned]
    known = session.scalar(
        select(func.count(GiftCardCode.id)).where(GiftCardCode.code_sha256.in_(digests))
    )
    if known or len(set(digests)) < len(digests):
        raise Conflict("gift_card_code_exists", "a code was given twice, or is stocked already")
    for code, digest in zip(cleaned, digests, strict=True):
        key, wrapped = vault.ring.new_key()
        session.add(
            GiftCardCode(
                item_id=item.id,
                key_id=wrapped.key_id,
                wrapped_key=wrapped.wrapped,
                sealed_code=vault.seal(key, _CODE_PURPOSE, code.encode()),
                code_sha256=digest,
                added_by=added_by,
                added_at=utcnow(),
            )
        )
    session.flush()
    return len(cleaned)


def restock(session: Session, item_id: int, units: int) -> CatalogueItem:
    item = _item(session, item_id, for_update=True)
    if item.kind != PRODUCT:
        raise InvalidInput("not_a_product", f"item {item_id} is a gift card; add codes")
    if not 0 < units <= 1_000_000 or item.stock + units > 1_000_000:
        raise InvalidInput("bad_stock", "add 1 to 1,000,000 units (at most 1,000,000 in stock)")
    item.stock += units
    session.flush()
    return item


def set_active(session: Session, item_id: int, active: bool) -> CatalogueItem:
    item = _item(session, item_id)
    item.active = active
    session.flush()
    return item


def _codes_left(session: Session) -> dict[int, int]:
    rows = session.execute(
        select(GiftCardCode.item_id, func.count(GiftCardCode.id))
        .where(GiftCardCode.redemption_id.is_(None))
        .group_by(GiftCardCode.item_id)
    ).all()
    return {item_id: int(n) for item_id, n in rows}


def entry(session: Session, item_id: int) -> CatalogueEntry:
    """One item with the units left of it."""
    item = _item(session, item_id)
    if item.kind != GIFT_CARD:
        return CatalogueEntry(item, item.stock)
    left = session.scalar(
        select(func.count(GiftCardCode.id)).where(
            GiftCardCode.item_id == item.id, GiftCardCode.redemption_id.is_(None)
        )
    )
    return CatalogueEntry(item, int(left or 0))


def catalogue(session: Session, *, include_inactive: bool = False) -> list[CatalogueEntry]:
    query = select(CatalogueItem).order_by(CatalogueItem.price_cents, CatalogueItem.id)
    if not include_inactive:
        query = query.where(CatalogueItem.active.is_(True))
    codes = _codes_left(session)
    return [
        CatalogueEntry(item, codes.get(item.id, 0) if item.kind == GIFT_CARD else item.stock)
        for item in session.scalars(query)
    ]


def _claim_product(session: Session, item: CatalogueItem) -> None:
    claimed = session.execute(
        update(CatalogueItem)
        .where(CatalogueItem.id == item.id, CatalogueItem.stock > 0)
        .values(stock=CatalogueItem.stock - 1)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]  # a CursorResult
        raise Conflict("out_of_stock", f"{item.name} is out of stock")
    session.refresh(item)


def _claim_code(session: Session, item: CatalogueItem) -> GiftCardCode:
    code = session.scalar(
        select(GiftCardCode)
        .where(GiftCardCode.item_id == item.id, GiftCardCode.redemption_id.is_(None))
        .order_by(GiftCardCode.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if code is None:
        raise Conflict("out_of_stock", f"{item.name} is out of stock")
    return code


def check_client_key(client_key: str) -> str:
    if not _CLIENT_KEY.match(client_key):
        raise InvalidInput(
            "bad_client_key",
            "a client key is 8 to 80 of A-Z, a-z, 0-9, '.', '_', ':' and '-' (a UUID fits)",
        )
    return client_key


def redeem(
    session: Session,
    vault: Vault,
    donor: User,
    item_id: int,
    *,
    client_key: str,
    shipping_address: str | None = None,
    tax_threshold_cents: int,
    now: datetime | None = None,
) -> Redemption:
    """Spend the donor's balance on one unit of ``item_id``; the same ``client_key`` again
    returns the first redemption (a retried request never redeems twice)."""
    check_client_key(client_key)
    now = now or utcnow()
    account = ledger.donor_account(session, donor.id)
    ledger.lock(session, account)  # before anything it decides on is read
    earlier = session.scalar(
        select(Redemption).where(
            Redemption.user_id == donor.id, Redemption.client_key == client_key
        )
    )
    if earlier is not None:
        if earlier.item_id != item_id:
            raise Conflict("client_key_reused", "this client key redeemed another item")
        return earlier
    item = _item(session, item_id)
    if not item.active:
        raise Conflict("item_unavailable", f"{item.name} is no longer offered")
    address = None
    if item.kind == PRODUCT:
        address = (shipping_address or "").strip()
        if not 5 <= len(address) <= MAX_ADDRESS_CHARS:
            raise InvalidInput(
                "shipping_address_required",
                f"a product needs a shipping address of 5 to {MAX_ADDRESS_CHARS} characters",
            )
    holds.require_no_hold(session, donor.id)
    holds.check_tax_threshold(session, donor.id, item.price_cents, tax_threshold_cents, now)
    available = ledger.balance(session, account)
    if available < item.price_cents:
        raise Conflict(
            "insufficient_balance",
            f"{item.name} costs {item.price_cents} cents; the balance is {available}",
        )
    code = _claim_code(session, item) if item.kind == GIFT_CARD else None
    if item.kind == PRODUCT:
        _claim_product(session, item)
    transfer = ledger.spend(
        session,
        "redemption",
        account,
        ledger.redemptions_account(session),
        item.price_cents,
        memo=f"redeemed {item.kind} {item.id}",
    )
    donor_key = vault.donor_key(session, donor.id, create=True)
    redemption = Redemption(
        user_id=donor.id,
        item_id=item.id,
        client_key=client_key,
        price_cents=item.price_cents,
        status=FULFILLED if code is not None else AWAITING_SHIPMENT,
        ledger_transaction_id=transfer.id,
        sealed_address=(
            vault.seal(donor_key, _ADDRESS_PURPOSE, address.encode()) if address else None
        ),
        created_at=now,
    )
    session.add(redemption)
    session.flush()
    if code is not None:
        # From now on the code is the donor's: sealed under their key, its own key dropped.
        plain = _open_stocked_code(vault, code)
        code.sealed_code = vault.seal(donor_key, _CODE_PURPOSE, plain)
        code.key_id = code.wrapped_key = None
        code.redemption_id = redemption.id
        session.flush()
    return redemption


def _open_stocked_code(vault: Vault, code: GiftCardCode) -> bytes:
    assert code.key_id is not None and code.wrapped_key is not None
    # Not cached: the key is dropped right after (the code moves under the donor's key).
    key = vault.ring.unwrap(WrappedKey(code.key_id, code.wrapped_key))
    return vault.open(key, _CODE_PURPOSE, code.sealed_code)


def _own_redemption(session: Session, user: User, redemption_id: int) -> Redemption:
    redemption = session.get(Redemption, redemption_id)
    if redemption is None or redemption.user_id != user.id:
        raise NotFound("unknown_redemption", f"you have no redemption {redemption_id}")
    return redemption


def reveal_code(session: Session, vault: Vault, user: User, redemption_id: int) -> str:
    """The gift-card code of the donor's own redemption; the read is logged."""
    redemption = _own_redemption(session, user, redemption_id)
    code = session.scalar(select(GiftCardCode).where(GiftCardCode.redemption_id == redemption.id))
    if code is None:
        raise NotFound("no_gift_card_code", f"redemption {redemption_id} is not a gift card")
    plain = vault.open(vault.donor_key(session, user.id), _CODE_PURPOSE, code.sealed_code)
    audit.record(
        session,
        actor_id=user.id,
        action="read_gift_card_code",
        purpose="owner",
        object_type="redemption",
        object_id=redemption.id,
    )
    return plain.decode()


def redemptions_of(session: Session, user: User) -> list[Redemption]:
    return list(
        session.scalars(
            select(Redemption).where(Redemption.user_id == user.id).order_by(Redemption.id.desc())
        )
    )


def awaiting_shipment(session: Session) -> list[Redemption]:
    return list(
        session.scalars(
            select(Redemption).where(Redemption.status == AWAITING_SHIPMENT).order_by(Redemption.id)
        )
    )


def shipping_address(
    session: Session, vault: Vault, redemption_id: int, *, actor_id: int | None
) -> str:
    """The address an operator ships to; the read is logged (purpose ``fulfilment``)."""
    redemption = session.get(Redemption, redemption_id)
    if redemption is None:
        raise NotFound("unknown_redemption", f"there is no redemption {redemption_id}")
    if redemption.sealed_address is None:
        raise Conflict("not_awaiting_shipment", f"redemption {redemption_id} has no address")
    plain = vault.open(
        vault.donor_key(session, redemption.user_id), _ADDRESS_PURPOSE, redemption.sealed_address
    )
    audit.record(
        session,
        actor_id=actor_id,
        action="read_shipping_address",
        purpose="fulfilment",
        object_type="redemption",
        object_id=redemption.id,
    )
    return plain.decode()


def own_address(session: Session, vault: Vault, redemption: Redemption) -> str | None:
    """The address a redemption is to be shipped to, for its donor's own export."""
    if redemption.sealed_address is None:
        return None
    key = vault.donor_key(session, redemption.user_id)
    return vault.open(key, _ADDRESS_PURPOSE, redemption.sealed_address).decode()


def mark_shipped(session: Session, redemption_id: int, *, shipped_by: int | None) -> Redemption:
    """The product is on its way: the address is destroyed."""
    redemption = session.scalar(
        select(Redemption).where(Redemption.id == redemption_id).with_for_update()
    )
    if redemption is None:
        raise NotFound("unknown_redemption", f"there is no redemption {redemption_id}")
    if redemption.status != AWAITING_SHIPMENT:
        raise Conflict(
            "not_awaiting_shipment", f"redemption {redemption_id} is {redemption.status}"
        )
    redemption.status = SHIPPED
    redemption.sealed_address = None
    redemption.shipped_at = utcnow()
    redemption.shipped_by = shipped_by
    session.flush()
    return redemption
