"""The plain rewards pages: a donor redeems from the catalogue and reads the code, sets a
weekly goal and sees a hold with its reason in words; an operator stocks and ships."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from test_pages import _sign_in, form_token

from money import balance, give
from vidonate.accounts.users import create_user
from vidonate.db.engine import transaction
from vidonate.rewards import catalogue, holds
from world import World


def _client_key(page: str, item_id: int) -> str:
    match = re.search(rf'name="client_key" value="([^"]+-{item_id})"', page)
    assert match, "the redeem form carries a client key"
    return match.group(1)


def test_a_donor_redeems_a_gift_card_from_the_page_once_even_if_sent_twice(
    client: TestClient, world: World
) -> None:
    with transaction(world.rt.sessions) as s:
        card = catalogue.add_item(
            s, kind="gift_card", name="Cinema ticket", price_cents=800, face_value_cents=800
        )
        catalogue.add_gift_card_codes(s, world.rt.vault, card.id, ["CINE-42"], added_by=None)
    give(world.rt, world.bob.id, 1000)
    _sign_in(client, "bob")
    page = client.get("/rewards").text
    assert "$10.00" in page and "Cinema ticket" in page
    form = {
        "item_id": str(card.id),
        "client_key": _client_key(page, card.id),
        "csrf_token": form_token(client, "/rewards"),
    }
    for _ in range(2):  # a double click
        sent = client.post("/rewards/redeem", data=form, follow_redirects=False)
        assert sent.status_code == 303, sent.text
    assert balance(world.rt, world.bob.id) == 200
    link = re.search(r'href="(/rewards/redemptions/\d+/code)"', client.get("/rewards").text)
    assert link and "CINE-42" in client.get(link.group(1)).text


def test_a_refused_redemption_shows_its_reason_in_words(client: TestClient, world: World) -> None:
    with transaction(world.rt.sessions) as s:
        mug = catalogue.add_item(s, kind="product", name="Mug", price_cents=500, stock=1)
    _sign_in(client, "bob")
    refused = client.post(
        "/rewards/redeem",
        data={
            "item_id": str(mug.id),
            "client_key": "page-refusal-01",
            "shipping_address": "3 place du Marché, Lyon",
            "csrf_token": form_token(client, "/rewards"),
        },
    )
    assert refused.status_code == 409
    assert "Mug costs 500 cents; the balance is 0" in refused.text


def test_a_goal_and_a_hold_show_on_the_donors_page(client: TestClient, world: World) -> None:
    with transaction(world.rt.sessions) as s:
        holds.place_hold(s, world.bob.id, holds.SHARED_CAMERA_SCENE, "same porch as alice")
    _sign_in(client, "bob")
    set_goal = client.post(
        "/rewards/goal",
        data={"clips": "3", "csrf_token": form_token(client, "/rewards")},
        follow_redirects=False,
    )
    assert set_goal.status_code == 303
    assert "Received this year (redemptions and payouts): $0.00" in client.get("/rewards").text
    page = client.get("/rewards").text
    assert "of your goal of 3" in page
    assert "package theft: 0 of 20,000 accepted clips" in page
    assert "The same camera scene was donated from more than one account" in page


def test_an_operator_adds_an_item_and_ships_a_product(client: TestClient, world: World) -> None:
    with transaction(world.rt.sessions) as s:
        create_user(s, "ops", "ops-password", ["admin"])
    give(world.rt, world.bob.id, 500)
    _sign_in(client, "ops")
    token = form_token(client, "/admin/rewards")
    added = client.post(
        "/admin/rewards/items",
        data={
            "kind": "product",
            "name": "Sticker pack",
            "price_cents": "500",
            "stock": "2",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert added.status_code == 303, added.text
    assert "Sticker pack" in client.get("/admin/rewards").text
    with transaction(world.rt.sessions) as s:
        (entry,) = catalogue.catalogue(s)
        bob = s.get(type(world.bob), world.bob.id)
        assert bob is not None
        shipment = catalogue.redeem(
            s,
            world.rt.vault,
            bob,
            entry.item.id,
            client_key="ship-page-0001",
            shipping_address="Bob, 3 place du Marché, Lyon",
            tax_threshold_cents=10**6,
        )
    assert (
        "3 place du Marché" in client.get(f"/admin/rewards/redemptions/{shipment.id}/address").text
    )
    shipped = client.post(
        f"/admin/rewards/redemptions/{shipment.id}/shipped",
        data={"csrf_token": form_token(client, "/admin/rewards")},
        follow_redirects=False,
    )
    assert shipped.status_code == 303
    assert "Nothing waits to be shipped." in client.get("/admin/rewards").text
