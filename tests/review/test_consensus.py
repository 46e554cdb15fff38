"""Weighted consensus: votes weigh by reliability; uncertain clips get another vote;
reviewers below the floor decide nothing and are served gold only; Dawid–Skene."""

from __future__ import annotations

import math

import pytest
from gold_helpers import add_reviewers, gold_clip, user_id
from sqlalchemy import select

from vidonate.db.engine import transaction
from vidonate.db.models import ReviewAssignment, User
from vidonate.review.consensus import (
    ACCEPT,
    REJECT,
    Thresholds,
    WeightedVote,
    consensus,
    dawid_skene,
)
from vidonate.review.gold import GoldServing, reliability_of
from vidonate.review.service import next_for_review
from world import World

PRIOR = 0.8


def _votes(*pairs: tuple[str, float]) -> list[WeightedVote]:
    return [WeightedVote(d, r) for d, r in pairs]


def test_two_new_reviewers_who_agree_decide_as_two_votes_did_before() -> None:
    both = consensus(_votes((ACCEPT, PRIOR), (ACCEPT, PRIOR)), Thresholds())
    assert both.decision == ACCEPT
    assert both.accept_probability == pytest.approx(0.64 / (0.64 + 0.04))  # 0.94
    assert consensus(_votes((ACCEPT, PRIOR)), Thresholds()).decision is None, "minimum 2"


def test_an_uncertain_clip_waits_for_another_vote_until_max_votes() -> None:
    t = Thresholds()
    three = _votes((ACCEPT, PRIOR), (ACCEPT, PRIOR), (REJECT, PRIOR))
    assert consensus(three, t).decision is None, "2 to 1 at 0.8 each is only 0.8 sure"
    assert consensus([*three, WeightedVote(ACCEPT, PRIOR)], t).decision == ACCEPT
    five = [*three, WeightedVote(REJECT, PRIOR), WeightedVote(ACCEPT, PRIOR)]
    assert consensus(five, t).decision == ACCEPT, "at max_votes the weighted majority decides"
    assert consensus(five, Thresholds(max_votes=6)).decision is None


def test_a_reliable_reviewers_vote_outweighs_an_unreliable_ones() -> None:
    one = Thresholds(accepts_needed=1, rejects_needed=1)
    assert consensus(_votes((ACCEPT, 0.95), (REJECT, 0.65)), one).decision == ACCEPT
    assert consensus(_votes((REJECT, 0.95), (ACCEPT, 0.65)), one).decision == REJECT
    weighed = consensus(_votes((ACCEPT, 0.95), (REJECT, 0.65)), one).accept_probability
    expected = 1 / (1 + math.exp(-(math.log(0.95 / 0.05) - math.log(0.65 / 0.35))))
    assert weighed == pytest.approx(expected)
    # Two agreeing newcomers and a reliable dissenter: the clip is not decided.
    assert consensus(_votes((ACCEPT, PRIOR), (ACCEPT, PRIOR), (REJECT, 0.95)), one).decision is None


def test_a_vote_below_the_floor_weighs_nothing_and_counts_for_no_minimum() -> None:
    result = consensus(_votes((ACCEPT, 0.55), (ACCEPT, PRIOR)), Thresholds())
    assert (result.decision, result.counted_accepts) == (None, 1)
    assert result.accept_probability == pytest.approx(PRIOR)


def _next(world: World, name: str, serving: GoldServing = GoldServing(one_in=0)) -> int | None:
    with transaction(world.rt.sessions) as s:
        user = s.get(User, user_id(world, name))
        donation = next_for_review(s, user, serving=serving)  # type: ignore[arg-type]
        return donation.id if donation else None


def test_a_reviewer_who_fails_gold_stops_deciding_and_is_served_gold_only(world: World) -> None:
    add_reviewers(world, "rex", "rosa")
    golds = [gold_clip(world) for _ in range(5)]
    every_time = GoldServing(one_in=1)
    for _ in range(4):  # four wrong answers: 8 / (10 + 3.9) = 0.58, under the floor 0.6
        given = _next(world, "rita", every_time)
        assert given in golds
        world.vote("rita", given, REJECT, reason="other")
    with transaction(world.rt.sessions) as s:
        rel = reliability_of(s, [user_id(world, "rita")])[user_id(world, "rita")]
    assert rel.correct == 0 and rel.reliability < 0.6
    clip = world.clip_in_review("bob")
    assert _next(world, "rita") == golds[4], "below the floor: gold only, on any turn"
    world.vote("rita", golds[4], REJECT, reason="other")  # wrong again: 0.54
    assert _next(world, "rita") is None, "no gold left: nothing, not the clip in review"
    with transaction(world.rt.sessions) as s:
        given = s.scalars(
            select(ReviewAssignment.donation_id).where(
                ReviewAssignment.reviewer_id == user_id(world, "rita")
            )
        ).all()
        assert clip not in given
    # Her vote is recorded but weighs nothing: two more reviewers are needed.
    assert world.vote("rita", clip).status == "in_review"
    assert world.vote("rex", clip).status == "in_review"
    outcome = world.vote("rosa", clip)
    assert (outcome.status, outcome.accepts) == ("accepted", 3)


def test_an_uncertain_clip_is_served_to_one_more_reviewer(world: World) -> None:
    add_reviewers(world, "rex", "rosa")
    clip = world.clip_in_review("alice")
    world.vote("rita", clip)
    world.vote("ravi", clip, REJECT, reason="poor_quality")
    assert world.vote("rex", clip).status == "in_review", "2 to 1 is not sure enough"
    assert _next(world, "rosa") == clip, "the queue asks another reviewer"
    assert world.vote("rosa", clip).status == "accepted"


# --- Batch Dawid–Skene ----------------------------------------------------------------------


def test_dawid_skene_finds_the_reviewer_who_answers_the_opposite() -> None:
    truth = {1: ACCEPT, 2: REJECT, 3: ACCEPT, 4: REJECT, 5: ACCEPT}
    flip = {ACCEPT: REJECT, REJECT: ACCEPT}
    votes = [(c, r, d) for c, d in truth.items() for r in (10, 11)]
    votes += [(c, 12, flip[d]) for c, d in truth.items()]
    found = dawid_skene(votes)
    assert found.reviewer_accuracy[10] > 0.95 and found.reviewer_accuracy[11] > 0.95
    assert found.reviewer_accuracy[12] < 0.05
    assert {c: p > 0.5 for c, p in found.accept_probability.items()} == {
        c: d == ACCEPT for c, d in truth.items()
    }


def test_dawid_skene_matches_a_hand_computed_confusion_matrix() -> None:
    # Reviewers 1 and 2 agree on four clips (two accepted, two rejected); reviewer 3
    # accepts one of the rejected ones. With the clips' classes then all but certain,
    # reviewer 3's confusion is counted by hand: right on both accepted clips
    # ((2 + s) / (2 + 2s)), right on one of two rejected ((1 + s) / (2 + 2s)), smoothing
    # s = 0.01; accuracy = half of each, the classes being half and half.
    labels = {1: ACCEPT, 2: ACCEPT, 3: REJECT, 4: REJECT}
    votes = [(c, r, d) for c, d in labels.items() for r in (1, 2)]
    votes += [(1, 3, ACCEPT), (2, 3, ACCEPT), (3, 3, REJECT), (4, 3, ACCEPT)]
    found = dawid_skene(votes, smoothing=0.01)
    s = 0.01
    on_accepted, on_rejected = (2 + s) / (2 + 2 * s), (1 + s) / (2 + 2 * s)
    assert found.confusion[3][1, 1] == pytest.approx(on_accepted, abs=1e-3)
    assert found.confusion[3][0, 0] == pytest.approx(on_rejected, abs=1e-3)
    assert found.reviewer_accuracy[3] == pytest.approx((on_accepted + on_rejected) / 2, abs=1e-3)
    assert found.accept_share == pytest.approx(0.5, abs=1e-3)
    assert dawid_skene([]).reviewer_accuracy == {}
