"""The test world: a campaign, two donors with cameras, two reviewers, and helpers.

Kept out of conftest.py so that tests can import it by a name no other conftest shadows.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text

from vidonate.accounts.cameras import add_camera
from vidonate.accounts.users import create_user, issue_token
from vidonate.campaigns.service import consent_in_force, create_campaign
from vidonate.db.engine import transaction
from vidonate.db.models import Campaign, Donation, User
from vidonate.runtime import Runtime


@dataclass
class World:
    """A small, ready population: one campaign, two donors with cameras, two reviewers."""

    rt: Runtime
    campaign: Campaign
    consent_sha256: str
    alice: User
    bob: User
    rita: User
    ravi: User
    tokens: dict[str, str]
    cameras: dict[str, int]
    baseline: dict[str, int] | None = None

    def metadata(self, donor: str = "alice", **overrides: str) -> dict[str, str]:
        meta = {
            "campaign": self.campaign.slug,
            "category": "package_theft",
            "camera": str(self.cameras[donor]),
            "consent": self.consent_sha256,
            "filename": "clip.mp4",
        }
        meta.update(overrides)
        return {k: v for k, v in meta.items() if v is not None}

    def clip_in_review(self, donor: str = "alice", **metadata: str) -> int:
        """A donation that went through upload and processing (without video work)."""
        from vidonate.donations.service import create_donation, validate_request
        from vidonate.donations.states import transition

        with transaction(self.rt.sessions) as s:
            user = s.get(User, getattr(self, donor).id)
            assert user is not None
            request = validate_request(s, user, self.metadata(donor, **metadata))
            donation = create_donation(s, user, request, size=1000)
            self.rt.vault.new_clip_key(s, donation)
            for status in ("received", "processing", "in_review"):
                transition(s, donation, status)  # type: ignore[arg-type]
            return donation.id

    def plaintext(self, donation_id: int, key: str) -> bytes:
        """The decrypted content of one of the donation's blobs (the store holds ciphertext)."""
        with transaction(self.rt.sessions) as s:
            donation = s.get(Donation, donation_id)
            assert donation is not None
            clip_key = self.rt.vault.clip_key(s, donation)
        return b"".join(self.rt.vault.read(clip_key, key))

    def vote(self, reviewer: str, donation_id: int, decision: str = "accept", **kw: object):  # type: ignore[no-untyped-def]
        from vidonate.review.service import cast_vote

        with transaction(self.rt.sessions) as s:
            user = s.get(User, getattr(self, reviewer).id)
            return cast_vote(s, user, donation_id, decision=decision, **kw)  # type: ignore[arg-type]


def build_world(rt: Runtime, **campaign_options: object) -> World:
    options: dict[str, object] = {"budget_cents": 100_000, "reward_cents": 200}
    options.update(campaign_options)
    with transaction(rt.sessions) as s:
        campaign = create_campaign(s, slug="porch-test", name="Porch test", **options)  # type: ignore[arg-type]
        consent = consent_in_force(s, campaign).content_sha256
        users = {
            "alice": create_user(s, "alice", "alice-password", ["donor"], "alice-h"),
            "bob": create_user(s, "bob", "bob-password", ["donor"], "bob-h"),
            "rita": create_user(s, "rita", "rita-password", ["reviewer"], "rita-h"),
            "ravi": create_user(s, "ravi", "ravi-password", ["reviewer", "donor"], "ravi-h"),
        }
        tokens = {name: issue_token(s, user) for name, user in users.items()}
        cameras = {
            "alice": add_camera(s, users["alice"], "front porch", "porch").id,
            "bob": add_camera(s, users["bob"], "driveway", "driveway").id,
            "ravi": add_camera(s, users["ravi"], "street", "street").id,
        }
    world = World(
        rt,
        campaign,
        consent,
        users["alice"],
        users["bob"],
        users["rita"],
        users["ravi"],
        tokens,
        cameras,
    )
    world.baseline = row_counts(rt)
    return world


def row_counts(rt: Runtime) -> dict[str, int]:
    tables = (
        "donations",
        "donation_events",
        "uploads",
        "upload_parts",
        "ledger_transactions",
    )
    with transaction(rt.sessions) as s:
        counts = {t: s.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables}
        counts["jobs"] = len(rt.jobs.list_jobs(s))  # whichever queue holds them
        return counts


def assert_no_trace(world: World, before: dict[str, int] | None = None) -> None:
    """A refused request leaves no rows and no bytes behind."""
    rt = world.rt
    assert row_counts(rt) == (before or world.baseline)
    # The store's contract (tests/storage/test_contract.py) makes no key mean no trace,
    # emptied folders included.
    assert rt.store.keys("uploads/") == []
