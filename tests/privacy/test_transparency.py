"""The public transparency report: every number reconciles with the database, whether
counted by the report's SQL aggregates or by walking the rows here; the JSON route, the
page with its charts and the CLI are public views of the same report."""

from __future__ import annotations

import json
import re
import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from vidonate import cli
from vidonate.accounts.cameras import add_camera
from vidonate.accounts.users import create_user
from vidonate.campaigns.service import create_campaign
from vidonate.db import audit
from vidonate.db.engine import transaction
from vidonate.db.models import (
    Campaign,
    Donation,
    DonationEvent,
    User,
    Withdrawal,
)
from vidonate.donations.service import create_donation, validate_request
from vidonate.donations.states import transition
from vidonate.privacy.disclosures import record_disclosure
from vidonate.privacy.transparency import (
    AMOUNT_BANDS_CENTS,
    MIN_DONORS_FOR_DISTRIBUTION,
    TransparencyReport,
    build_report,
)
from vidonate.review.service import REJECT_REASONS
from vidonate.rewards import ledger
from vidonate.runtime import Runtime
from world import World, build_world

IN_REVIEW = ("received", "processing", "in_review")
T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


@dataclass
class Mix:
    """The world of `_build_mix`, with the numbers its construction implies."""

    world: World
    porch: Campaign
    cars: Campaign


def _donation(
    world: World,
    donor_id: int,
    camera_id: int,
    *,
    statuses: tuple[str, ...] = IN_REVIEW,
    campaign: str = "porch-test",
    **metadata: str,
) -> int:
    """A donation taken through ``statuses`` by the real status machine."""
    with transaction(world.rt.sessions) as s:
        donor = s.get(User, donor_id)
        assert donor is not None
        fields = {
            "campaign": campaign,
            "category": "package_theft",
            "camera": str(camera_id),
            "consent": "1",
            **metadata,
        }
        donation = create_donation(s, donor, validate_request(s, donor, fields), size=1000)
        for status in statuses:
            transition(s, donation, status)  # type: ignore[arg-type]
        return donation.id


def _accept(world: World, donation_id: int) -> None:
    world.vote("rita", donation_id)
    world.vote("ravi", donation_id)


def _reject(world: World, donation_id: int, reason: str) -> None:
    world.vote("rita", donation_id, "reject", reason=reason)
    world.vote("ravi", donation_id, "reject", reason=reason)


def _then(world: World, donation_id: int, *statuses: str, **columns: object) -> None:
    with transaction(world.rt.sessions) as s:
        donation = s.get(Donation, donation_id)
        assert donation is not None
        for name, value in columns.items():
            setattr(donation, name, value)
        for status in statuses:
            transition(s, donation, status)  # type: ignore[arg-type]


def _build_mix(world: World) -> Mix:
    """Campaign porch-test (200 cents a clip) and car-test (300 cents a clip):

    ======  ===========================================================  ========
    donor   porch-test clips                                              earned
    ======  ===========================================================  ========
    alice   5 accepted; 1 staged in review; 1 received only               1000
    bob     3 accepted; 1 rejected poor_quality (+ 1 accepted car-test)   600+300
    carol   2 accepted, one of them staged                                400
    dave    1 accepted, then withdrawn (the money stays earned)           200
    erin    1 accepted; 1 rejected poor_quality; 1 rejected               200
            not_an_incident, then withdrawn
    frank   1 accepted near-duplicate of alice's first (unpaid);          0
            1 failed in processing; 1 withdrawn while in review
    gina    1 upload never finished; 1 upload expired; 1 upload           0
            withdrawn before it finished: none of them received
    ======  ===========================================================  ========
    """
    with transaction(world.rt.sessions) as s:
        cars = create_campaign(
            s, slug="car-test", name="Car test", budget_cents=10_000, reward_cents=300
        )
        porch = s.get(Campaign, world.campaign.id)
        assert porch is not None
        donors = {"alice": world.alice.id, "bob": world.bob.id}
        cameras = dict(world.cameras)
        for name in ("carol", "dave", "erin", "frank", "gina"):
            user = create_user(s, name, f"{name}-password", ["donor"], f"{name}-h")
            donors[name] = user.id
            cameras[name] = add_camera(s, user, f"{name} porch", "porch").id

    def clip(name: str, **kw: object) -> int:
        return _donation(world, donors[name], cameras[name], **kw)  # type: ignore[arg-type]

    alice_clips = [clip("alice") for _ in range(5)]
    for donation_id in alice_clips:
        _accept(world, donation_id)
    clip("alice", staged="true", attestation="true")
    clip("alice", statuses=("received",))

    for _ in range(3):
        _accept(world, clip("bob"))
    _reject(world, clip("bob"), "poor_quality")
    _accept(world, clip("bob", campaign="car-test"))

    _accept(world, clip("carol"))
    _accept(world, clip("carol", staged="true", attestation="true"))

    dave_clip = clip("dave")
    _accept(world, dave_clip)
    _then(world, dave_clip, "withdrawn", withdrawn_at=T0)

    _accept(world, clip("erin"))
    _reject(world, clip("erin"), "poor_quality")
    erin_rejected = clip("erin")
    _reject(world, erin_rejected, "not_an_incident")
    _then(world, erin_rejected, "withdrawn")

    duplicate = clip("frank")
    _then(world, duplicate, duplicate_of=alice_clips[0])
    _accept(world, duplicate)
    failed = clip("frank", statuses=("received", "processing"))
    _then(world, failed, "failed")
    _then(world, clip("frank"), "withdrawn")

    clip("gina", statuses=())
    _then(world, clip("gina", statuses=()), "failed")
    _then(world, clip("gina", statuses=()), "withdrawn")

    with transaction(world.rt.sessions) as s:
        # Requested at T0, T0+1h, T0+2h; unreadable after 0.5 s, 2 s, 1 s; files deleted
        # after 120 s and 3600 s, and not yet for the one withdrawal of everything.
        s.add_all(
            [
                Withdrawal(
                    donor_id=donors["dave"],
                    scope="clip",
                    donation_id=dave_clip,
                    clips=1,
                    requested_at=T0,
                    unreadable_at=T0 + timedelta(seconds=0.5),
                    blobs_deleted_at=T0 + timedelta(seconds=120),
                    blobs_deleted=2,
                ),
                Withdrawal(
                    donor_id=donors["gina"],
                    scope="all",
                    clips=3,
                    requested_at=T0 + timedelta(hours=1),
                    unreadable_at=T0 + timedelta(hours=1, seconds=2),
                ),
                Withdrawal(
                    donor_id=donors["erin"],
                    scope="clip",
                    donation_id=erin_rejected,
                    clips=1,
                    requested_at=T0 + timedelta(hours=2),
                    unreadable_at=T0 + timedelta(hours=2, seconds=1),
                    blobs_deleted_at=T0 + timedelta(hours=3),
                    blobs_deleted=2,
                ),
            ]
        )
        for purpose, times in (("review", 3), ("owner", 1), ("admin", 2)):
            for _ in range(times):
                audit.record(
                    s,
                    actor_id=world.rita.id,
                    action="read_video",
                    purpose=purpose,
                    object_type="donation",
                    object_id=alice_clips[0],
                )
        record_disclosure(
            s,
            recipient="Springfield Police Department",
            legal_basis="court order 2026-17",
            donations=2,
            description="two accepted clips of one theft",
            disclosed_at=T0 + timedelta(days=30),
        )
    return Mix(world, porch, cars)


@pytest.fixture
def mix(world: World) -> Mix:
    return _build_mix(world)


def _report(rt: Runtime, campaign: str | None = None) -> TransparencyReport:
    with transaction(rt.sessions) as s:
        return build_report(s, campaign)


# ---- independent counts: rows walked in Python, not the report's aggregates ----


def _received(s: Session, campaign_id: int | None) -> list[Donation]:
    received_ids = set(
        s.scalars(select(DonationEvent.donation_id).where(DonationEvent.to_status == "received"))
    )
    return [
        d
        for d in s.scalars(select(Donation))
        if d.id in received_ids and campaign_id in (None, d.campaign_id)
    ]


def _decisions(s: Session) -> dict[int, DonationEvent]:
    return {
        e.donation_id: e
        for e in s.scalars(
            select(DonationEvent).where(DonationEvent.to_status.in_(["accepted", "rejected"]))
        )
    }


def _earned_per_donor(s: Session, campaign_id: int | None) -> dict[int, int]:
    """What each donor was credited, from the ledger functions the donor's page uses."""
    earned: Counter[int] = Counter()
    for d in s.scalars(select(Donation)):
        if campaign_id in (None, d.campaign_id):
            earned[d.donor_id] += ledger.paid_for_donation(s, d.id)
    return {donor: cents for donor, cents in earned.items() if cents > 0}


def _assert_clips_reconcile(s: Session, report: TransparencyReport, campaign_id: int | None):  # type: ignore[no-untyped-def]
    clips = report.clips
    received = _received(s, campaign_id)
    decisions = _decisions(s)
    accepted = [d for d in received if getattr(decisions.get(d.id), "to_status", "") == "accepted"]
    rejected = [d for d in received if getattr(decisions.get(d.id), "to_status", "") == "rejected"]
    undecided = [d for d in received if d.id not in decisions]
    assert clips.received == len(received)
    assert clips.accepted == len(accepted)
    assert clips.accepted_withdrawn_since == sum(d.status == "withdrawn" for d in accepted)
    assert clips.rejected == len(rejected) == sum(clips.rejected_by_reason.values())
    assert clips.rejected_by_reason == {
        **dict.fromkeys(REJECT_REASONS, 0),
        **Counter(d.rejection_reason for d in rejected),
    }
    assert clips.rejected_withdrawn_since == sum(d.status == "withdrawn" for d in rejected)
    assert clips.failed == sum(d.status == "failed" for d in undecided)
    assert clips.withdrawn_before_decision == sum(d.status == "withdrawn" for d in undecided)
    assert clips.pending == sum(d.status in IN_REVIEW for d in undecided)
    # Every received clip is in exactly one outcome.
    outcomes = (clips.accepted, clips.rejected, clips.failed, clips.withdrawn_before_decision)
    assert clips.received == sum(outcomes) + clips.pending
    assert clips.duplicates_caught == sum(d.duplicate_of is not None for d in received)
    assert clips.staged_received == sum(d.staged for d in received)
    assert clips.staged_accepted == sum(d.staged for d in accepted)
    assert clips.staged_share_of_received == pytest.approx(clips.staged_received / len(received))
    assert clips.staged_share_of_accepted == pytest.approx(clips.staged_accepted / len(accepted))
    assert clips.accepted_unpaid_by_reason == dict(
        Counter(d.unpaid_reason for d in accepted if d.unpaid_reason)
    )
    assert clips.donors == len({d.donor_id for d in received})


def _assert_payments_reconcile(s: Session, report: TransparencyReport, campaign_id: int | None):  # type: ignore[no-untyped-def]
    payments = report.payments
    earned = sorted(_earned_per_donor(s, campaign_id).values())
    assert payments.paid_cents == sum(earned)
    assert payments.paid_donors == len(earned)
    paid_clips = [
        d
        for d in s.scalars(select(Donation))
        if campaign_id in (None, d.campaign_id) and ledger.paid_for_donation(s, d.id) > 0
    ]
    assert payments.paid_clips == len(paid_clips)
    if len(earned) < MIN_DONORS_FOR_DISTRIBUTION:
        assert payments.distribution_withheld
        return
    assert payments.median_per_paid_donor_cents == int(statistics.median(earned))
    assert payments.top_share_donors == 1  # 1% of fewer than 100 donors, rounded up
    assert payments.top_share_of_paid == pytest.approx(earned[-1] / sum(earned))
    assert payments.donors_by_amount is not None
    assert [b.donors for b in payments.donors_by_amount] == [
        sum(low <= cents and (high is None or cents < high) for cents in earned)
        for low, high in AMOUNT_BANDS_CENTS
    ]


def test_clips_and_money_reconcile_with_the_database_for_all_campaigns(mix: Mix) -> None:
    report = _report(mix.world.rt)
    with transaction(mix.world.rt.sessions) as s:
        _assert_clips_reconcile(s, report, None)
        _assert_payments_reconcile(s, report, None)
        # Money is what donor accounts were credited: with no payouts yet, their balances.
        donor_balances = [c for a, c in ledger.all_balances(s) if a.kind == ledger.DONOR]
        assert report.payments.paid_cents == sum(donor_balances)
    # And the numbers the construction implies (see _build_mix).
    clips, payments = report.clips, report.payments
    assert report.campaign is None
    assert (clips.received, clips.accepted, clips.rejected) == (21, 14, 3)
    assert clips.rejected_by_reason["poor_quality"] == 2
    assert clips.rejected_by_reason["not_an_incident"] == 1
    assert (clips.failed, clips.withdrawn_before_decision, clips.pending) == (1, 1, 2)
    assert (clips.accepted_withdrawn_since, clips.rejected_withdrawn_since) == (1, 1)
    assert (clips.duplicates_caught, clips.staged_received, clips.staged_accepted) == (1, 2, 1)
    assert clips.accepted_unpaid_by_reason == {"duplicate": 1}
    assert clips.donors == 6, "gina's uploads never completed"
    # alice 1000, bob 600 + 300, carol 400, dave 200 (withdrawn, still earned), erin 200
    assert (payments.paid_cents, payments.paid_clips, payments.paid_donors) == (2700, 13, 5)
    assert payments.distribution_withheld is False
    assert payments.median_per_paid_donor_cents == 400
    assert payments.top_share_of_paid == pytest.approx(1000 / 2700)
    assert [b.donors for b in payments.donors_by_amount or []] == [3, 2, 0, 0, 0, 0]


def test_a_campaign_report_counts_that_campaign_and_withholds_a_small_distribution(
    mix: Mix,
) -> None:
    porch = _report(mix.world.rt, "porch-test")
    cars = _report(mix.world.rt, "car-test")
    with transaction(mix.world.rt.sessions) as s:
        _assert_clips_reconcile(s, porch, mix.porch.id)
        _assert_payments_reconcile(s, porch, mix.porch.id)
        _assert_clips_reconcile(s, cars, mix.cars.id)
        _assert_payments_reconcile(s, cars, mix.cars.id)
    assert porch.campaign is not None and porch.campaign.slug == "porch-test"
    assert (porch.clips.received, porch.payments.paid_cents, porch.payments.paid_donors) == (
        20,
        2400,
        5,
    )
    assert porch.payments.top_share_of_paid == pytest.approx(1000 / 2400)
    assert (cars.clips.received, cars.clips.accepted, cars.clips.donors) == (1, 1, 1)
    assert (cars.payments.paid_cents, cars.payments.paid_donors) == (300, 1)
    # One paid donor: the median would be bob's own earnings.
    assert cars.payments.distribution_withheld is True
    assert cars.payments.median_per_paid_donor_cents is None
    assert cars.payments.top_share_of_paid is None and cars.payments.donors_by_amount is None
    # The campaigns add up to the whole.
    overall = _report(mix.world.rt)
    assert overall.clips.received == porch.clips.received + cars.clips.received
    assert overall.payments.paid_cents == porch.payments.paid_cents + cars.payments.paid_cents
    # Withdrawals, reads and disclosures are program-wide in every report.
    assert porch.withdrawals == cars.withdrawals == overall.withdrawals
    assert porch.reads == overall.reads and porch.disclosures == overall.disclosures


def test_withdrawals_reads_and_disclosures_reconcile_with_their_tables(mix: Mix) -> None:
    report = _report(mix.world.rt)
    with transaction(mix.world.rt.sessions) as s:
        rows = list(s.scalars(select(Withdrawal)))
        reads = audit.reads_by_purpose(s)
    unreadable = [(w.unreadable_at - w.requested_at).total_seconds() for w in rows]
    deleted = [
        (w.blobs_deleted_at - w.requested_at).total_seconds() for w in rows if w.blobs_deleted_at
    ]
    w = report.withdrawals
    assert w.requests == len(rows) == 3
    assert w.by_scope == {"clip": 2, "all": 1}
    assert w.clips == sum(r.clips for r in rows) == 5
    assert w.unreadable_median_seconds == pytest.approx(statistics.median(unreadable)) == 1.0
    assert w.unreadable_max_seconds == pytest.approx(max(unreadable)) == 2.0
    assert (w.blob_deletion_done, w.blob_deletion_pending, w.blobs_deleted) == (2, 1, 4)
    assert w.blob_deletion_median_seconds == pytest.approx(statistics.median(deleted)) == 1860
    assert w.blob_deletion_max_seconds == pytest.approx(max(deleted)) == 3600

    assert report.reads.by_purpose == {
        "review": 3,
        "owner": 1,
        "admin": 2,
        "export": 0,
        "training": 0,
        "processing": 0,
        "fulfilment": 0,
    }
    assert {p: n for p, n in report.reads.by_purpose.items() if n} == reads
    assert report.reads.total == sum(reads.values()) == 6

    d = report.disclosures
    assert (d.count, d.donations) == (1, 2)
    assert d.entries[0].recipient == "Springfield Police Department"
    assert d.entries[0].disclosed_at == T0 + timedelta(days=30)


def test_an_empty_program_reports_zeros_not_gaps(rt: Runtime) -> None:
    report = _report(rt)
    assert report.clips.received == report.clips.donors == 0
    assert set(report.clips.rejected_by_reason.values()) == {0}
    assert report.clips.staged_share_of_received is None, "no share of nothing"
    assert (report.payments.paid_cents, report.payments.paid_donors) == (0, 0)
    assert report.withdrawals.requests == 0 and report.withdrawals.unreadable_max_seconds is None
    assert report.reads.total == 0 and set(report.reads.by_purpose.values()) == {0}
    assert (report.disclosures.count, report.disclosures.entries) == (0, [])


def test_an_even_number_of_paid_donors_has_the_mean_of_the_middle_two_as_median(
    rt: Runtime,
) -> None:
    world = build_world(rt, paid_cap_per_camera=100)
    with transaction(rt.sessions) as s:
        donors = []
        for i in range(6):
            user = create_user(s, f"donor{i}", "donor-password", ["donor"], f"donor-{i}")
            donors.append((user.id, add_camera(s, user, "porch", "porch").id))
    # 1, 2, 3, 4, 5 and 7 clips of 200 cents: the middle two earned 600 and 800.
    for (donor_id, camera_id), clips in zip(donors, (1, 2, 3, 4, 5, 7), strict=True):
        for _ in range(clips):
            _accept(world, _donation(world, donor_id, camera_id))
    payments = _report(rt).payments
    assert payments.paid_donors == 6 and payments.paid_cents == 22 * 200
    assert payments.median_per_paid_donor_cents == 700
    assert payments.top_share_of_paid == pytest.approx(1400 / 4400)
    assert [b.donors for b in payments.donors_by_amount or []] == [2, 4, 0, 0, 0, 0]


def test_an_unknown_campaign_is_a_404_with_its_reason(client: TestClient) -> None:
    r = client.get("/api/v1/transparency", params={"campaign": "no-such-campaign"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_campaign"


def test_the_json_report_is_public_and_states_when_it_was_computed(
    mix: Mix, client: TestClient
) -> None:
    before = datetime.now(UTC)
    r = client.get("/api/v1/transparency")  # no token, no session
    assert r.status_code == 200, r.text
    body = r.json()
    computed_at = datetime.fromisoformat(body["computed_at"])
    assert before - timedelta(seconds=1) <= computed_at <= datetime.now(UTC)
    expected = _report(mix.world.rt).model_dump(mode="json", exclude={"computed_at"})
    assert {k: v for k, v in body.items() if k != "computed_at"} == expected
    r = client.get("/api/v1/transparency", params={"campaign": "car-test"})
    assert r.json()["campaign"] == {"slug": "car-test", "name": "Car test"}
    assert r.json()["payments"]["paid_cents"] == 300


def _no_donor_is_named(text: str) -> None:
    for name in ("alice", "bob", "carol", "dave", "erin", "frank", "gina"):
        # Usernames and handles ("erin-h"); as words, for "tampering" holds "erin".
        assert not re.search(rf"\b{name}\b", text, flags=re.I), f"{name} is in the report"


def test_the_page_is_public_draws_its_charts_and_names_no_donor(
    mix: Mix, client: TestClient
) -> None:
    r = client.get("/transparency", follow_redirects=False)
    assert r.status_code == 200, r.text
    page = r.text
    charts = re.findall(r"<svg[^>]*>.*?</svg>", page, flags=re.S)
    titles = [re.search(r"<title>(.*?)</title>", svg).group(1) for svg in charts]  # type: ignore[union-attr]
    assert titles == [
        "Received clips by outcome",
        "Rejected clips by reason",
        "Paid donors by total earnings",
        "Access-log entries by purpose",
    ]
    outcomes = charts[0]
    assert "<title>accepted: 14</title>" in outcomes and "<title>rejected: 3</title>" in outcomes
    assert "<title>training: 0</title>" in charts[3], "zero reads are shown, not hidden"
    for text in ("$27.00", "Median earnings of a paid donor: <strong>$4.00", "37.0%"):
        assert text in page
    assert "Springfield Police Department" in page and "court order 2026-17" in page
    assert "computed" in page.lower() and "UTC" in page
    _no_donor_is_named(page)

    r = client.get("/transparency", params={"campaign": "car-test"})
    assert r.status_code == 200
    assert "$3.00" in r.text and "Paid donors by total earnings" not in r.text
    assert "shown once at least 5 donors have been paid" in " ".join(r.text.split())
    r = client.get("/transparency", params={"campaign": "no-such-campaign"})
    assert r.status_code == 404 and "unknown_campaign" in r.text


def test_the_page_says_zero_disclosures_proudly(client: TestClient) -> None:
    page = client.get("/transparency").text
    assert "<strong>0.</strong> vidonate has handed no clip" in page


runner = CliRunner()


def test_the_cli_prints_the_report_as_text_and_as_json(mix: Mix, cli_env: Path) -> None:
    r = runner.invoke(cli.app, ["transparency"])
    assert r.exit_code == 0, r.output
    assert re.search(r"received \(upload completed\)\s+21\s+from 6 donors", r.output)
    assert re.search(r"poor quality\s+2", r.output)
    assert re.search(r"paid to donors\s+\$27\.00", r.output)
    assert "Springfield Police Department" in r.output
    _no_donor_is_named(r.output)

    r = runner.invoke(cli.app, ["transparency", "--json", "--campaign", "porch-test"])
    assert r.exit_code == 0, r.output
    body = json.loads(r.output)
    expected = _report(mix.world.rt, "porch-test").model_dump(mode="json")
    assert {k: v for k, v in body.items() if k != "computed_at"} == {
        k: v for k, v in expected.items() if k != "computed_at"
    }

    r = runner.invoke(cli.app, ["transparency", "--campaign", "no-such-campaign"])
    assert r.exit_code == 2 and "unknown_campaign" in r.output
