"""Collusion: two accounts voting on each other's clips far above chance are reported,
with the numbers a hold can quote; honest reviewing, and one-way voting, are not."""

from __future__ import annotations

import random
from collections.abc import Collection
from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from vidonate.accounts.cameras import add_camera
from vidonate.accounts.users import create_user
from vidonate.db.engine import transaction
from vidonate.db.models import ReviewVote, User
from vidonate.donations.service import create_donation, validate_request
from vidonate.donations.states import transition
from vidonate.review.collusion import mutual_voting_pairs
from world import World

CLIPS_EACH = 12
HONEST_VOTES_EACH = 30


@dataclass
class Pool:
    """Accounts that donate and review; `clips[account]` are their clips in review."""

    accounts: list[int]
    clips: dict[int, list[int]]

    def others_clips(self, account: int) -> list[int]:
        return [c for a, ids in self.clips.items() if a != account for c in ids]


def _clip_in_review(session: Session, world: World, donor: User, camera_id: int) -> int:
    """As `World.clip_in_review`, for any donor."""
    metadata = world.metadata("alice", camera=str(camera_id))
    donation = create_donation(session, donor, validate_request(session, donor, metadata), 1000)
    world.rt.vault.new_clip_key(session, donation)
    for status in ("received", "processing", "in_review"):
        transition(session, donation, status)  # type: ignore[arg-type]
    return donation.id


@pytest.fixture
def pool(world: World) -> Pool:
    """Ten accounts that donate and review, with CLIPS_EACH clips in review each."""
    clips: dict[int, list[int]] = {}
    with transaction(world.rt.sessions) as s:
        for i in range(10):
            user = create_user(
                s, f"member{i}", "member-password", ["donor", "reviewer"], f"member-{i}"
            )
            camera = add_camera(s, user, "porch", "porch")
            clips[user.id] = [_clip_in_review(s, world, user, camera.id) for _ in range(CLIPS_EACH)]
    return Pool(sorted(clips), clips)


def _vote(world: World, reviewer: int, clips: list[int]) -> None:
    with transaction(world.rt.sessions) as s:
        for clip in clips:
            s.add(
                ReviewVote(
                    donation_id=clip,
                    reviewer_id=reviewer,
                    decision="accept",
                    category="package_theft",
                    staged=False,
                )
            )


def _review_honestly(world: World, pool: Pool, seed: int, skip: Collection[int] = ()) -> None:
    """Every account but those in `skip` votes on HONEST_VOTES_EACH clips drawn at random
    from everyone else's."""
    rng = random.Random(seed)
    for account in pool.accounts:
        if account not in skip:
            _vote(world, account, rng.sample(pool.others_clips(account), HONEST_VOTES_EACH))


def test_honest_reviewers_of_a_large_pool_are_not_flagged(world: World, pool: Pool) -> None:
    _review_honestly(world, pool, seed=1)
    with transaction(world.rt.sessions) as s:
        assert mutual_voting_pairs(s) == []


def test_two_accounts_voting_on_each_others_clips_are_flagged(world: World, pool: Pool) -> None:
    a, b = pool.accounts[0], pool.accounts[1]
    _review_honestly(world, pool, seed=2, skip={a, b})
    rng = random.Random(3)
    for voter, partner in ((a, b), (b, a)):
        # All 12 of the partner's clips, and 18 others' to look busy: 12 of 30 votes.
        rest = [c for c in pool.others_clips(voter) if c not in pool.clips[partner]]
        _vote(world, voter, pool.clips[partner] + rng.sample(rest, 18))
    with transaction(world.rt.sessions) as s:
        (pair,) = mutual_voting_pairs(s)
    assert (pair.account_id, pair.other_account_id) == (a, b)
    forward = pair.forward
    assert (forward.voter_id, forward.donor_id) == (a, b)
    assert (forward.votes, forward.voter_votes) == (12, 30)
    assert forward.share == pytest.approx(0.4)
    # b's 12 clips among the others' clips that anyone voted on (at most 9 x 12).
    assert 12 / 108 <= forward.expected_share <= 12 / 96
    assert forward.lift == pytest.approx(forward.share / forward.expected_share)
    assert (pair.backward.voter_id, pair.backward.donor_id, pair.backward.votes) == (b, a, 12)
    assert 0 < pair.p_value < 1e-3  # 12 or more of 30 at 1 in 9 to 1 in 8: 4e-5 to 1.5e-4
    assert pair.p_value == max(forward.p_value, pair.backward.p_value)


def test_one_way_voting_is_not_flagged(world: World, pool: Pool) -> None:
    """A reviewer who votes on one donor's clips a lot, the donor voting as anyone else."""
    a, b = pool.accounts[0], pool.accounts[1]
    _review_honestly(world, pool, seed=4, skip={a})
    rest = [c for c in pool.others_clips(a) if c not in pool.clips[b]]
    _vote(world, a, pool.clips[b] + random.Random(5).sample(rest, 18))
    with transaction(world.rt.sessions) as s:
        assert mutual_voting_pairs(s) == []


def test_a_few_mutual_votes_are_not_enough(world: World, pool: Pool) -> None:
    a, b = pool.accounts[0], pool.accounts[1]
    _review_honestly(world, pool, seed=6, skip={a, b})
    _vote(world, a, pool.clips[b][:4])
    _vote(world, b, pool.clips[a][:4])
    with transaction(world.rt.sessions) as s:
        assert mutual_voting_pairs(s) == []  # 4 votes each way, all of theirs: too few
        assert len(mutual_voting_pairs(s, min_votes=4)) == 1


def test_the_chance_share_is_of_the_clips_in_review(world: World, pool: Pool) -> None:
    """When the two are the only ones whose clips anybody reviewed, voting on each
    other's is what chance gives: nothing to report."""
    a, b = pool.accounts[0], pool.accounts[1]
    _vote(world, a, pool.clips[b])
    _vote(world, b, pool.clips[a])
    with transaction(world.rt.sessions) as s:
        assert mutual_voting_pairs(s) == []


def test_the_fraud_scan_holds_both_colluding_accounts_once_and_no_honest_one(
    world: World, pool: Pool
) -> None:
    from vidonate.rewards.fraud import scan_for_fraud
    from vidonate.rewards.holds import open_holds

    a, b = pool.accounts[0], pool.accounts[1]
    _review_honestly(world, pool, seed=2, skip={a, b})
    rng = random.Random(3)
    for voter, partner in ((a, b), (b, a)):
        rest = [c for c in pool.others_clips(voter) if c not in pool.clips[partner]]
        _vote(world, voter, pool.clips[partner] + rng.sample(rest, 18))
    with transaction(world.rt.sessions) as s:
        placed = scan_for_fraud(s)
    assert sorted((p.user_id, p.reason) for p in placed) == [
        (a, "mutual_voting"),
        (b, "mutual_voting"),
    ]
    assert "12 and 12 votes on each other's clips" in placed[0].detail
    with transaction(world.rt.sessions) as s:
        assert scan_for_fraud(s) == []  # held already: no second hold
        assert all(open_holds(s, honest) == [] for honest in pool.accounts[2:])
