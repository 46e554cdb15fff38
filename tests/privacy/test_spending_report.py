"""The transparency report counts what balances were spent on and every hold by reason."""

from __future__ import annotations

from fastapi.testclient import TestClient

from money import give
from vidonate.db.engine import transaction
from vidonate.db.models import User
from vidonate.privacy.transparency import build_report, render_text
from vidonate.rewards import catalogue, holds, payouts
from world import World


def test_redemptions_payouts_and_holds_are_counted_publicly(world: World) -> None:
    rt = world.rt
    give(rt, world.alice.id, 5000)
    with transaction(rt.sessions) as s:
        alice = s.get(User, world.alice.id)
        assert alice is not None
        mug = catalogue.add_item(s, kind="product", name="Mug", price_cents=700, stock=3)
        catalogue.redeem(
            s, rt.vault, alice, mug.id, client_key="report-00001",
            shipping_address="1 rue de la Paix, Paris", tax_threshold_cents=10**6,
        )  # fmt: skip
        payouts.request_payout(
            s, alice, 1000, client_key="report-00002", provider="manual",
            tax_threshold_cents=10**6,
        )  # fmt: skip
        holds.place_hold(s, world.bob.id, holds.MUTUAL_VOTING, "votes with alice")
    with transaction(rt.sessions) as s:
        report = build_report(s)
    spent = report.spending
    assert (spent.redemptions, spent.redeemed_cents, spent.redemptions_by_kind) == (
        1,
        700,
        {"gift_card": 0, "product": 1},
    )
    assert (spent.payouts, spent.payouts_paid, spent.payout_cents) == (1, 0, 1000)
    assert spent.holds["mutual_voting"].open == 1
    assert spent.holds["tax_details_required"].open == 0
    text = render_text(report)
    assert "holds: mutual_voting" in text and "redemptions" in text


def test_the_public_page_shows_agreement_spending_and_holds_in_words(
    client: TestClient, world: World
) -> None:
    with transaction(world.rt.sessions) as s:
        holds.place_hold(s, world.bob.id, holds.SHARED_CAMERA_SCENE, "same porch")
    page = client.get("/transparency").text
    assert "Reviewers&#39; agreement" in page or "Reviewers' agreement" in page
    assert "0</strong> redemptions from the catalogue" in page
    assert "The same camera scene was donated from more than one account" in page
