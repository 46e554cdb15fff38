"""Helpers for the tests of spending a balance: money in, a catalogue, one call each."""

from __future__ import annotations

from sqlalchemy import func, select

from money import balance, give
from vidonate.db.engine import transaction
from vidonate.db.models import User
from vidonate.rewards import catalogue
from vidonate.runtime import Runtime

THRESHOLD = 200_000


def product(rt: Runtime, *, price: int = 500, stock: int = 3) -> int:
    with transaction(rt.sessions) as s:
        return catalogue.add_item(
            s, kind="product", name="Vidonate mug", price_cents=price, stock=stock
        ).id


def gift_card(rt: Runtime, codes: list[str], *, price: int = 1000) -> int:
    with transaction(rt.sessions) as s:
        item = catalogue.add_item(
            s, kind="gift_card", name="Book token", price_cents=price, face_value_cents=price
        )
        catalogue.add_gift_card_codes(s, rt.vault, item.id, codes, added_by=None)
        return item.id


def stock(rt: Runtime, item_id: int) -> int:
    with transaction(rt.sessions) as s:
        return next(e.available for e in catalogue.catalogue(s) if e.item.id == item_id)


def count(rt: Runtime, model: type) -> int:
    with transaction(rt.sessions) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def redeem(rt: Runtime, user_id: int, item_id: int, key: str, **kw: object):  # type: ignore[no-untyped-def]
    with transaction(rt.sessions) as s:
        user = s.get(User, user_id)
        assert user is not None
        return catalogue.redeem(
            s,
            rt.vault,
            user,
            item_id,
            client_key=key,
            tax_threshold_cents=THRESHOLD,
            **kw,  # type: ignore[arg-type]
        )


__all__ = ["balance", "count", "gift_card", "give", "product", "redeem", "stock"]
