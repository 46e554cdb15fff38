"""Reviewers' event intervals: what a reviewer may mark, and when marks become verified.

The consensus rule (review/intervals.py, docs/intervals.md): intervals of one label from
different accepting reviewers that overlap at temporal IoU >= 0.5 form a cluster; a
cluster of at least two reviewers is a verified interval at the members' medians.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from interval_helpers import clip_given, mark, model_record
from vidonate.db.engine import transaction
from vidonate.db.models import Donation, User
from vidonate.db.models_detect import IntervalSuggestion, ReviewInterval, VerifiedInterval
from vidonate.detect.evaluation import CLASSES, NORMAL
from vidonate.donations.withdrawal import withdraw_clip
from vidonate.errors import InvalidInput, NotFound
from vidonate.review import intervals
from vidonate.review.intervals import Interval, Marked, agree, verified_for_training
from vidonate.review.suggestions import store_suggestions
from world import World

THEFT = "package_theft"
TAMPERING = "car_door_tampering"


def _verified(world: World, donation_id: int) -> list[tuple[float, float, str, int]]:
    with transaction(world.rt.sessions) as s:
        rows = s.scalars(
            select(VerifiedInterval).where(VerifiedInterval.donation_id == donation_id)
        )
        return sorted((r.start_s, r.end_s, r.label, r.reviewers) for r in rows)


def _for_training(world: World, *ids: int) -> dict[int, list[Interval]]:
    with transaction(world.rt.sessions) as s:
        return verified_for_training(s, ids)


def test_the_labels_are_the_detectors_classes() -> None:
    assert intervals.EVENT_LABELS == CLASSES and intervals.NORMAL == NORMAL


def test_two_agreeing_reviewers_make_one_verified_interval_at_the_median(world: World) -> None:
    clip = clip_given(world, "rita", "ravi", category=THEFT)
    mark(world, "rita", clip, (2.0, 6.0, THEFT))
    mark(world, "ravi", clip, (3.0, 7.0, THEFT))  # IoU 3/5 = 0.6
    assert _verified(world, clip) == [], "nothing is verified before the clip is accepted"
    world.vote("rita", clip, category=THEFT)
    assert world.vote("ravi", clip, category=THEFT).status == "accepted"
    assert _verified(world, clip) == [(2.5, 6.5, THEFT, 2)]
    assert _for_training(world, clip) == {clip: [Interval(2.5, 6.5, THEFT)]}


def test_marks_that_do_not_overlap_enough_verify_nothing(world: World) -> None:
    clip = clip_given(world, "rita", "ravi", category=THEFT)
    mark(world, "rita", clip, (1.0, 3.0, THEFT))
    mark(world, "ravi", clip, (2.5, 8.0, THEFT))  # IoU 0.5/7
    world.vote("rita", clip, category=THEFT)
    world.vote("ravi", clip, category=THEFT)
    assert _verified(world, clip) == []
    assert _for_training(world, clip) == {}, "an accepted theft without a verified event"


def test_a_single_reviewers_marks_are_not_verified(world: World) -> None:
    clip = clip_given(world, "rita", "ravi", category=THEFT)
    mark(world, "rita", clip, (2.0, 6.0, THEFT))
    world.vote("rita", clip, category=THEFT)
    world.vote("ravi", clip, category=THEFT)
    assert _verified(world, clip) == [] and _for_training(world, clip) == {}


def test_marks_saved_after_the_decision_recompute_the_verified_intervals(world: World) -> None:
    clip = clip_given(world, "rita", "ravi", category=THEFT)
    mark(world, "rita", clip, (2.0, 6.0, THEFT))
    world.vote("rita", clip, category=THEFT)
    world.vote("ravi", clip, category=THEFT)
    mark(world, "ravi", clip, (2.0, 5.0, THEFT), (8.0, 9.0, THEFT))
    assert _verified(world, clip) == [(2.0, 5.5, THEFT, 2)]
    mark(world, "ravi", clip)  # cleared
    assert _verified(world, clip) == []


def test_a_normal_clip_is_verified_with_no_interval(world: World) -> None:
    clip = clip_given(world, "rita", "ravi", category=NORMAL)
    world.vote("rita", clip, category=NORMAL)
    world.vote("ravi", clip, category=NORMAL)
    undecided = clip_given(world, "rita", category=NORMAL)
    assert _for_training(world, clip, undecided) == {clip: []}


def test_labels_and_reviewers_must_agree_for_a_cluster() -> None:
    assert agree([Marked(1, 2, 6, THEFT), Marked(2, 2, 6, TAMPERING)]) == []
    assert agree([Marked(1, 2, 6, THEFT), Marked(1, 2, 6, THEFT)]) == [], "one reviewer twice"
    three = agree([Marked(1, 1, 5, THEFT), Marked(2, 2, 6, THEFT), Marked(3, 1.5, 4, THEFT)])
    assert three == [(Interval(1.5, 5.0, THEFT), 3)]
    two_events = agree(
        [Marked(1, 1, 3, THEFT), Marked(2, 1, 3, THEFT), Marked(1, 7, 9, THEFT),
         Marked(2, 7.5, 9, THEFT)]
    )  # fmt: skip
    assert [i.start for i, _ in two_events] == [1, 7.25]


@pytest.mark.parametrize(
    ("spans", "voted", "code"),
    [
        ([(1.0, 2.0, "loitering")], None, "unknown_interval_label"),
        ([(3.0, 2.0, THEFT)], None, "bad_interval"),
        ([(-1.0, 2.0, THEFT)], None, "bad_interval"),
        ([(2.0, 2.0, THEFT)], None, "bad_interval"),
        ([(2.0, float("inf"), THEFT)], None, "bad_interval"),
        ([(float("nan"), 2.0, THEFT)], None, "bad_interval"),
        ([(2.0, 10.6, THEFT)], None, "interval_beyond_clip"),
        ([(i, i + 0.4, THEFT) for i in range(21)], None, "too_many_intervals"),
        ([(1.0, 2.0, THEFT)], NORMAL, "interval_on_normal_clip"),
        ([(1.0, 2.0, TAMPERING)], THEFT, "interval_label_not_voted"),
    ],
)
def test_intervals_that_cannot_describe_the_clip_are_refused(
    spans: list[tuple[float, float, str]], voted: str | None, code: str
) -> None:
    marked = [Interval(a, b, label) for a, b, label in spans]
    with pytest.raises(InvalidInput) as refused:
        intervals.validate_intervals(marked, duration_s=10.0, voted_category=voted)
    assert refused.value.code == code
    # A little past the end is a seek bar's rounding, not a mistake.
    intervals.validate_intervals([Interval(9.0, 10.4, THEFT)], duration_s=10.0, voted_category=None)


def test_a_reviewer_marks_only_a_clip_given_to_them_in_their_voted_category(world: World) -> None:
    clip = clip_given(world, "rita", category=THEFT)
    with pytest.raises(NotFound) as hidden:
        mark(world, "ravi", clip, (1.0, 2.0, THEFT))
    assert hidden.value.code == "unknown_donation"
    world.vote("rita", clip, category=THEFT)
    with pytest.raises(InvalidInput) as refused:
        mark(world, "rita", clip, (1.0, 2.0, TAMPERING))
    assert refused.value.code == "interval_label_not_voted"
    with pytest.raises(InvalidInput) as unknown, transaction(world.rt.sessions) as s:
        rita = s.get(User, world.rita.id)
        assert rita is not None
        intervals.set_intervals(s, rita, clip, [Interval(1, 2, THEFT, suggestion_id=999)])
    assert unknown.value.code == "unknown_suggestion"


def test_withdrawing_a_clip_takes_its_intervals_and_suggestions_with_it(world: World) -> None:
    clip = clip_given(world, "rita", "ravi", category=THEFT)
    model_id = model_record(world)
    with transaction(world.rt.sessions) as s:
        store_suggestions(s, clip, model_id, [{"start": 2, "end": 6, "label": THEFT, "score": 0.9}])
    mark(world, "rita", clip, (2.0, 6.0, THEFT))
    mark(world, "ravi", clip, (2.0, 6.0, THEFT))
    world.vote("rita", clip, category=THEFT)
    world.vote("ravi", clip, category=THEFT)
    assert _verified(world, clip) != []
    rt = world.rt
    with transaction(rt.sessions) as s:
        alice = s.get(User, world.alice.id)
        withdraw_clip(s, rt.vault, rt.duplicates, rt.jobs, alice, clip)  # type: ignore[arg-type]
    with transaction(rt.sessions) as s:
        for table in (ReviewInterval, VerifiedInterval, IntervalSuggestion):
            assert s.scalars(select(table).where(table.donation_id == clip)).all() == []
        assert s.get(Donation, clip).status == "withdrawn"  # type: ignore[union-attr]
