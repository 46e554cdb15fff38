"""Badges: each rule read from the database, each badge awarded once, naming the clip
that earned it; recomputing finds awards missing and awards nothing earned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, select
from typer.testing import CliRunner

from badge_helpers import accept, award_codes, decided_rows, set_accepted_at, votes_by
from vidonate.accounts.cameras import add_camera
from vidonate.cli import app
from vidonate.db.engine import transaction
from vidonate.db.models import Donation, User, utcnow
from vidonate.db.models_rewards import BadgeAward, BadgeDefinition
from vidonate.donations.incidents import assign_incident
from vidonate.review.service import Thresholds
from vidonate.rewards import badges
from vidonate.rewards.badges import AwardRef, BadgeRuleError, parse_rule
from world import World

STARTER = {
    "first_clip", "clips_10", "clips_100", "clips_1000", "package_theft",
    "car_door_tampering", "normal_activity", "staged_attested", "multi_angle",
    "streak_2", "streak_4", "streak_12", "agreeing_votes_100",
}  # fmt: skip


def test_the_starter_badges_are_seeded_and_every_rule_reads(world: World) -> None:
    with transaction(world.rt.sessions) as s:
        assert {d.code for d, _rule in badges.rules(s)} == STARTER


def test_the_first_accepted_clip_awards_first_clip_once_naming_that_clip(world: World) -> None:
    first = accept(world)
    assert award_codes(world, "alice")["first_clip"] == first
    second = accept(world)
    assert award_codes(world, "alice")["first_clip"] == first, "not re-awarded by the second"
    with transaction(world.rt.sessions) as s:
        alice = s.get(User, world.alice.id)
        assert alice is not None
        held = [b for b in badges.badges_of(s, alice) if b.code == "first_clip"]
        assert [b.donation_id for b in held] == [first]
        donation = s.get(Donation, second)
        assert donation is not None
        assert badges.award_for_acceptance(s, donation) == [], "calling again awards nothing"


def test_a_clip_in_review_or_rejected_earns_no_badge(world: World) -> None:
    world.clip_in_review()
    rejected = world.clip_in_review()
    world.vote("rita", rejected, "reject", reason="poor_quality")
    world.vote("ravi", rejected, "reject", reason="poor_quality")
    assert award_codes(world, "alice") == {}


def test_a_category_badge_follows_the_reviewers_label_not_the_donors_claim(
    world: World,
) -> None:
    clip = accept(world, reviewers_category="car_door_tampering")  # donated as package_theft
    held = award_codes(world, "alice")
    assert held["car_door_tampering"] == clip
    assert "package_theft" not in held and "normal_activity" not in held
    later = accept(world)
    assert award_codes(world, "alice")["package_theft"] == later


def test_ten_accepted_clips_award_clips_10_with_the_tenth(world: World) -> None:
    clips = [accept(world) for _ in range(10)]
    held = award_codes(world, "alice")
    assert held["clips_10"] == clips[9]
    assert "clips_100" not in held


def test_an_accepted_staged_reenactment_with_its_attestation_awards_staged_attested(
    world: World,
) -> None:
    clip = accept(world, staged="true", attestation="true")
    assert award_codes(world, "alice")["staged_attested"] == clip


def test_a_clip_the_reviewers_found_real_is_no_reenactment(world: World) -> None:
    accept(world, reviewers_staged=False, staged="true", attestation="true")
    assert "staged_attested" not in award_codes(world, "alice")


def test_a_reenactment_an_accepting_reviewer_called_real_is_not_fully_attested(
    world: World,
) -> None:
    clip = world.clip_in_review(staged="true", attestation="true")
    two = Thresholds(accepts_needed=2)
    world.vote("rita", clip, staged=True, thresholds=two)
    assert world.vote("ravi", clip, staged=False, thresholds=two).status == "accepted"
    with transaction(world.rt.sessions) as s:
        assert s.get(Donation, clip).staged is True  # type: ignore[union-attr]
    assert "staged_attested" not in award_codes(world, "alice")


def _second_camera(world: World) -> int:
    with transaction(world.rt.sessions) as s:
        alice = s.get(User, world.alice.id)
        assert alice is not None
        return add_camera(s, alice, "back door", "porch").id


def _angle(world: World, camera: int, incident: str) -> int:
    clip = world.clip_in_review(camera=str(camera), incident=incident)
    with transaction(world.rt.sessions) as s:
        donation = s.get(Donation, clip)
        assert donation is not None
        assign_incident(s, donation)  # as processing does
    return clip


def test_an_incident_with_two_accepted_angles_awards_multi_angle(world: World) -> None:
    back = _second_camera(world)
    front_clip = _angle(world, world.cameras["alice"], "porch-1")
    back_clip = _angle(world, back, "porch-1")
    one = Thresholds(accepts_needed=1, confidence=0.8)
    world.vote("rita", front_clip, thresholds=one)
    assert "multi_angle" not in award_codes(world, "alice"), "one angle accepted so far"
    world.vote("rita", back_clip, thresholds=one)
    assert award_codes(world, "alice")["multi_angle"] == back_clip


def test_two_clips_of_one_camera_in_an_incident_are_one_angle(world: World) -> None:
    one = Thresholds(accepts_needed=1, confidence=0.8)
    for _ in range(2):
        world.vote("rita", _angle(world, world.cameras["alice"], "porch-2"), thresholds=one)
    assert "multi_angle" not in award_codes(world, "alice")


# Streaks: consecutive ISO weeks (UTC), each with an accepted clip, by acceptance time

MONDAY = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # ISO week 2 of 2026


def _accepted_in_weeks(world: World, weeks: list[int]) -> list[int]:
    """One clip accepted in each given week after MONDAY's, then evaluated again."""
    clips = [accept(world) for _ in weeks]
    for clip, week in zip(clips, weeks, strict=True):
        set_accepted_at(world, clip, MONDAY + timedelta(weeks=week, days=week % 7))
    with transaction(world.rt.sessions) as s:
        badges.award_for_acceptance(s, s.get(Donation, clips[-1]))  # type: ignore[arg-type]
    return clips


def test_clips_accepted_in_one_week_are_no_streak(world: World) -> None:
    for _ in range(3):
        accept(world)  # all now
    assert {"streak_2", "streak_4", "streak_12"}.isdisjoint(award_codes(world, "alice"))


def test_streaks_of_2_4_and_12_weeks_name_the_clip_that_completed_each(world: World) -> None:
    clips = _accepted_in_weeks(world, list(range(12)))
    held = award_codes(world, "alice")
    assert (held["streak_2"], held["streak_4"], held["streak_12"]) == (
        clips[1],
        clips[3],
        clips[11],
    )


def test_a_week_without_an_accepted_clip_breaks_the_streak(world: World) -> None:
    _accepted_in_weeks(world, [0, 1, 2, 4, 5])  # week 3 has none
    held = award_codes(world, "alice")
    assert "streak_2" in held and "streak_4" not in held


def test_sunday_night_and_monday_morning_utc_are_two_weeks(world: World) -> None:
    clips = [accept(world), accept(world)]
    sunday_night = datetime(2026, 1, 11, 23, 59, tzinfo=UTC)
    set_accepted_at(world, clips[0], sunday_night)
    set_accepted_at(world, clips[1], sunday_night + timedelta(minutes=2))
    with transaction(world.rt.sessions) as s:
        badges.award_for_acceptance(s, s.get(Donation, clips[1]))  # type: ignore[arg-type]
    assert award_codes(world, "alice")["streak_2"] == clips[1]


# Reviewers: votes that agreed with the final decision


def test_a_reviewers_hundredth_agreeing_vote_awards_agreeing_votes_100(world: World) -> None:
    votes_by(world, "rita", decided_rows(world, 60, "accepted"), "accept")
    votes_by(world, "rita", decided_rows(world, 39, "rejected"), "reject")
    # Votes the decision went against count for nothing.
    votes_by(world, "rita", decided_rows(world, 5, "accepted"), "reject")
    votes_by(world, "rita", decided_rows(world, 5, "rejected"), "accept")
    with transaction(world.rt.sessions) as s:
        assert "agreeing_votes_100" not in badges.earned(s, world.rita.id, badges.rules(s))
    hundredth = world.clip_in_review("bob")
    world.vote("rita", hundredth, "reject", reason="poor_quality")
    assert world.vote("ravi", hundredth, "reject", reason="poor_quality").status == "rejected"
    assert award_codes(world, "rita") == {"agreeing_votes_100": hundredth}
    assert "agreeing_votes_100" not in award_codes(world, "ravi"), "ravi agreed only once"


# Rules are data, read strictly


def test_an_unknown_rule_kind_fails_loudly_and_the_vote_with_it(world: World) -> None:
    with transaction(world.rt.sessions) as s:
        s.add(
            BadgeDefinition(
                code="full_moon", name="Full moon", description="?", icon="moon",
                rule={"kind": "moon_phase", "phase": "full"},
            )
        )  # fmt: skip
    clip = world.clip_in_review()
    with pytest.raises(BadgeRuleError, match=r"'full_moon'.*unknown rule kind 'moon_phase'"):
        world.vote("rita", clip, thresholds=Thresholds(accepts_needed=1, confidence=0.8))
    with transaction(world.rt.sessions) as s:
        assert s.get(Donation, clip).status == "in_review", "the vote was rolled back"  # type: ignore[union-attr]
        with pytest.raises(BadgeRuleError):
            badges.recompute_awards(s, repair=False)


@pytest.mark.parametrize(
    "rule",
    [
        {"at_least": 3},
        {"kind": "accepted"},
        {"kind": "accepted", "at_least": "ten"},
        {"kind": "accepted", "at_least": 0},
        {"kind": "accepted", "at_least": True},
        {"kind": "weekly_streak", "weeks": 2, "days": 3},
    ],
)
def test_a_rule_without_its_parameters_is_refused(rule: dict) -> None:
    with pytest.raises(BadgeRuleError, match="badge 'b'"):
        parse_rule("b", rule)


# Recomputing every award from the database


def _break_awards(world: World) -> None:
    """Delete alice's first_clip award and give bob a twelve-week streak he never had."""
    with transaction(world.rt.sessions) as s:
        s.execute(
            delete(BadgeAward).where(
                BadgeAward.user_id == world.alice.id, BadgeAward.badge_code == "first_clip"
            )
        )
        s.add(BadgeAward(user_id=world.bob.id, badge_code="streak_12", awarded_at=utcnow()))


def test_recompute_finds_a_deleted_award_and_one_with_no_basis_and_repairs_both(
    world: World,
) -> None:
    first = accept(world)
    before = award_codes(world, "alice")
    _break_awards(world)
    with transaction(world.rt.sessions) as s:
        diff = badges.recompute_awards(s, repair=False)
    assert diff.missing == [AwardRef(world.alice.id, "first_clip", first)]
    assert diff.unearned == [AwardRef(world.bob.id, "streak_12")]
    assert "first_clip" not in award_codes(world, "alice"), "a report changes nothing"
    with transaction(world.rt.sessions) as s:
        assert not badges.recompute_awards(s, repair=True).clean
    assert award_codes(world, "alice") == before
    assert award_codes(world, "bob") == {}
    with transaction(world.rt.sessions) as s:
        assert badges.recompute_awards(s, repair=False).clean


def test_a_withdrawn_clip_keeps_the_badges_it_earned(world: World) -> None:
    clip = accept(world)
    with transaction(world.rt.sessions) as s:
        donation = s.get(Donation, clip)
        assert donation is not None
        donation.status = "withdrawn"  # what withdrawal leaves (the event stays)
        assert badges.recompute_awards(s, repair=False).clean


runner = CliRunner()


def test_the_operator_recomputes_from_the_command_line(world: World, cli_env: Path) -> None:
    accept(world)
    _break_awards(world)
    r = runner.invoke(app, ["badges", "recompute"])
    assert r.exit_code == 1, r.output
    assert f"missing  user {world.alice.id} first_clip" in r.output
    assert f"unearned user {world.bob.id} streak_12" in r.output
    r = runner.invoke(app, ["badges", "recompute", "--repair"])
    assert (r.exit_code, "repaired: 1 missing, 1 unearned" in r.output) == (0, True), r.output
    r = runner.invoke(app, ["badges", "recompute"])
    assert (r.exit_code, "every award matches" in r.output) == (0, True), r.output
    r = runner.invoke(app, ["badges", "list"])
    assert r.exit_code == 0 and "first_clip" in r.output and "weekly_streak" in r.output
    with transaction(world.rt.sessions) as s:
        assert s.scalar(select(BadgeAward.donation_id).where(BadgeAward.user_id == world.alice.id))
