"""Consent texts are versioned per campaign, state their purposes, and gate processing."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from vidonate.campaigns.service import consent_in_force, create_campaign, publish_consent
from vidonate.db.engine import transaction
from vidonate.db.models import ConsentAcceptance, Donation
from vidonate.errors import InvalidInput
from vidonate.ingest.process import process_donation
from world import World


def test_every_version_states_purposes_no_sale_no_third_parties_and_retention(
    session: Session,
) -> None:
    campaign = create_campaign(
        session, slug="doors", name="Doors", budget_cents=1000, retention_days=365,
        consent_text="Our own words about car doors.",
    )  # fmt: skip
    first = consent_in_force(session, campaign)
    second = publish_consent(session, campaign, "Reworded: car doors, and handles.")
    assert (first.version, second.version) == (1, 2)
    assert consent_in_force(session, campaign).id == second.id
    for text in (first, second):
        assert text.body.startswith(("Our own words", "Reworded"))
        assert "training and evaluating vidonate's detector" in text.body
        assert "never sold" in text.body
        assert "never given to third parties" in text.body
        assert "at most 365 days" in text.body
    assert first.content_sha256 != second.content_sha256


def test_a_retention_period_out_of_range_is_refused(session: Session) -> None:
    with pytest.raises(InvalidInput) as refused:
        create_campaign(session, slug="forever", name="F", budget_cents=0, retention_days=0)
    assert refused.value.code == "bad_retention"


def test_a_clip_without_a_recorded_consent_is_never_processed(world: World) -> None:
    donation_id = world.clip_in_review()
    with transaction(world.rt.sessions) as s:
        donation = s.get(Donation, donation_id)
        assert donation is not None
        donation.status = "received"  # as if it had just been uploaded
        s.query(ConsentAcceptance).delete()
    process_donation(world.rt.processing, donation_id)
    with transaction(world.rt.sessions) as s:
        donation = s.get(Donation, donation_id)
        assert donation is not None
        assert (donation.status, donation.failure_reason) == ("failed", "consent_missing")
