"""Gold clips: marked by operators, served now and then like any clip, answered, and
turned into each reviewer's reliability."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from gold_helpers import add_reviewers, decided_clip, gold_clip, user_id, with_video
from sqlalchemy import func, select, text

from vidonate.db.engine import transaction
from vidonate.db.models import Donation, LedgerEntry, ReviewAssignment, ReviewVote, User
from vidonate.db.models_rewards import GoldAnswer, GoldClip
from vidonate.errors import Conflict, InvalidInput, NotFound
from vidonate.review.gold import (
    GoldServing,
    is_gold_turn,
    mark_gold,
    reliability_from,
    reliability_of,
    retire_gold,
)
from vidonate.review.service import next_for_review
from world import World


def _next(world: World, name: str, **kw: object) -> int | None:
    with transaction(world.rt.sessions) as s:
        donation = next_for_review(s, s.get(User, user_id(world, name)), **kw)  # type: ignore[arg-type]
        return donation.id if donation else None


def _auth(world: World, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.tokens[name]}"}


# --- How often gold comes ---------------------------------------------------------------


@pytest.mark.parametrize("reviewer_id", [1, 2, 3, 77, 1234])
def test_one_handout_in_twelve_is_gold_over_400_handouts(reviewer_id: int) -> None:
    serving = GoldServing(one_in=12, key=b"some deployment secret")
    turns = [h for h in range(400) if is_gold_turn(serving, reviewer_id, h)]
    assert 0.05 * 400 <= len(turns) <= 0.10 * 400
    assert len(turns) in (33, 34), "exactly one in each run of 12"
    other_key = GoldServing(one_in=12, key=b"another secret")
    assert turns != [h for h in range(400) if is_gold_turn(other_key, reviewer_id, h)], (
        "where gold comes depends on the key: not computable by a reviewer"
    )
    assert not any(is_gold_turn(GoldServing(one_in=0), reviewer_id, h) for h in range(400))


def test_the_queue_serves_gold_at_its_turns_and_records_the_assignment_as_gold(
    world: World,
) -> None:
    add_reviewers(world, "rex")
    golds = {gold_clip(world) for _ in range(3)}
    clips = [world.clip_in_review("bob") for _ in range(21)]
    serving = GoldServing(one_in=8, key=b"k")
    served = []
    for _ in range(24):
        given = _next(world, "rita", serving=serving)
        assert given is not None
        served.append(given)
        world.vote("rita", given)
    assert sum(1 for g in served if g in golds) == 3, "one in each run of 8"
    assert sorted(g for g in served if g not in golds) == clips
    expected = [g in golds for g in served]
    assert expected == [is_gold_turn(serving, user_id(world, "rita"), h) for h in range(24)]
    with transaction(world.rt.sessions) as s:
        flags = dict(
            s.execute(
                select(ReviewAssignment.donation_id, ReviewAssignment.gold).where(
                    ReviewAssignment.reviewer_id == user_id(world, "rita")
                )
            ).all()
        )
        assert {d for d, is_gold in flags.items() if is_gold} == golds
        assert s.scalar(select(func.count(GoldAnswer.id))) == 3


# --- A gold clip looks like any other ---------------------------------------------------


def test_a_gold_clip_is_served_and_answered_exactly_like_any_clip(
    world: World, client: TestClient
) -> None:
    add_reviewers(world, "rex")
    gold = gold_clip(world)
    normal = world.clip_in_review("bob")
    with_video(world, normal)
    with transaction(world.rt.sessions) as s:
        before = {
            "status": s.get(Donation, gold).status,  # type: ignore[union-attr]
            "votes": s.scalar(select(func.count(ReviewVote.id))),
            "ledger": s.scalar(select(func.count(LedgerEntry.id))),
        }
    settings = world.rt.settings
    settings.review_gold_one_in = 1  # every handout is a gold turn while gold is left
    first = client.get("/api/v1/review/next", headers=_auth(world, "rita"))
    assert first.json()["id"] == gold
    again = client.get("/api/v1/review/next", headers=_auth(world, "rita"))
    assert again.json() == first.json(), "served again until answered, as any clip"
    video = client.get(f"/api/v1/donations/{gold}/video", headers=_auth(world, "rita"))
    assert video.status_code != 404 or video.json()["error"]["code"] != "unknown_donation"
    settings.review_gold_one_in = 0
    other = client.get("/api/v1/review/next", headers=_auth(world, "ravi")).json()
    assert other["id"] == normal
    assert first.json().keys() == other.keys()
    assert {k: type(v) for k, v in first.json().items() if v is not None} == {
        k: type(other[k]) for k, v in first.json().items() if v is not None
    }

    voted_gold = client.post(
        f"/api/v1/review/{gold}/votes", json={"decision": "accept"}, headers=_auth(world, "rita")
    )
    voted_normal = client.post(
        f"/api/v1/review/{normal}/votes", json={"decision": "accept"}, headers=_auth(world, "ravi")
    )
    assert (voted_gold.status_code, voted_gold.json()) == (
        voted_normal.status_code,
        voted_normal.json(),
    ) == (201, {"status": "in_review", "accepts": 1, "rejects": 0, "paid_cents": 0,
                "unpaid_reason": None})  # fmt: skip
    twice = client.post(
        f"/api/v1/review/{gold}/votes", json={"decision": "accept"}, headers=_auth(world, "rita")
    )
    assert (twice.status_code, twice.json()["error"]["code"]) == (409, "already_voted")
    with transaction(world.rt.sessions) as s:
        answer = s.scalars(select(GoldAnswer)).one()
        assert (answer.reviewer_id, answer.decision, answer.correct) == (
            user_id(world, "rita"),
            "accept",
            True,
        )
        after = {
            "status": s.get(Donation, gold).status,  # type: ignore[union-attr]
            "votes": s.scalar(select(func.count(ReviewVote.id))) - 1,  # ravi's on `normal`
            "ledger": s.scalar(select(func.count(LedgerEntry.id))),
        }
        assert after == before, "a gold answer changes no status, vote or ledger row"
    gone = client.get(f"/api/v1/donations/{gold}/video", headers=_auth(world, "rita"))
    assert (gone.status_code, gone.json()["error"]["code"]) == (404, "unknown_donation"), (
        "once answered, the gold clip is no longer hers to watch"
    )


# --- Reliability ------------------------------------------------------------------------


def test_a_new_reviewer_starts_at_the_priors_moderate_reliability() -> None:
    fresh = reliability_from(1, [])
    assert (fresh.answers, fresh.accuracy, fresh.reliability) == (0, None, pytest.approx(0.8))


def test_recent_answers_weigh_more_halving_every_50_answers() -> None:
    # Newest first: 50 right after 50 wrong. The older 50 weigh half as much each, in
    # sum (1 - 1/2) against (1 - 1/4) for all 100: 2/3 right.
    improved = reliability_from(1, [True] * 50 + [False] * 50)
    assert improved.accuracy == pytest.approx(2 / 3)
    declined = reliability_from(1, [False] * 50 + [True] * 50)
    assert declined.accuracy == pytest.approx(1 / 3)
    assert (improved.answers, improved.correct) == (100, 50)
    d = 0.5 ** (1 / 50)
    right, total = (1 - 0.5) / (1 - d), (1 - 0.25) / (1 - d)
    assert improved.reliability == pytest.approx((8 + right) / (10 + total))
    assert declined.reliability < 0.6 < improved.reliability


def test_answers_are_tracked_and_right_means_the_decision_and_an_accepts_category(
    world: World,
) -> None:
    add_reviewers(world, "rex")
    golds = [gold_clip(world), gold_clip(world, "reject")]
    serving = GoldServing(one_in=1)
    answers = [("accept", "car_door_tampering"), ("reject", "car_door_tampering")]
    for _gold, (decision, category) in zip(golds, answers, strict=True):
        given = _next(world, "rita", serving=serving)
        reason = {"reason": "other"} if decision == "reject" else {}
        world.vote("rita", given, decision, category=category, **reason)  # type: ignore[arg-type]
    with transaction(world.rt.sessions) as s:
        rows = s.execute(
            select(GoldAnswer.donation_id, GoldAnswer.correct).order_by(GoldAnswer.id)
        ).all()
        assert sorted(rows) == sorted([(golds[0], False), (golds[1], True)])
        rel = reliability_of(s, [user_id(world, "rita")])[user_id(world, "rita")]
        assert (rel.answers, rel.correct) == (2, 1)


# --- Marking: every refusal is a 4xx with its reason and changes nothing -----------------


def _gold_rows(world: World) -> list[tuple[object, ...]]:
    with transaction(world.rt.sessions) as s:
        return [tuple(r) for r in s.execute(text("SELECT * FROM gold_clips")).all()]


def test_each_bad_gold_mark_is_a_4xx_with_its_reason_and_changes_nothing(
    world: World, client: TestClient
) -> None:
    from vidonate.accounts.users import create_user, issue_token

    add_reviewers(world, "rex")
    accepted = decided_clip(world)
    in_review = world.clip_in_review("alice")
    withdrawn = decided_clip(world)
    without_video = world.clip_in_review("alice")
    world.vote("ravi", without_video)
    world.vote("rex", without_video)
    with transaction(world.rt.sessions) as s:
        s.get(Donation, withdrawn).status = "withdrawn"  # type: ignore[union-attr]
        admin = issue_token(s, create_user(s, "ada", "ada-password", ["admin"], "ada-h"))
    cases = [
        ({"donation_id": 987654}, 404, "unknown_donation"),
        ({"decision": "maybe"}, 400, "bad_decision"),
        ({"donation_id": withdrawn}, 409, "gold_clip_withdrawn"),
        ({"donation_id": in_review}, 409, "gold_clip_undecided"),
        ({"donation_id": without_video}, 409, "gold_clip_without_content"),
        ({"decision": "reject"}, 409, "gold_label_differs"),
        ({"category": "car_door_tampering"}, 409, "gold_label_differs"),
        ({"category": "no_such_category"}, 400, "unknown_category"),
    ]
    headers = {"Authorization": f"Bearer {admin}"}
    for change, status, code in cases:
        body = {"donation_id": accepted, "decision": "accept", "category": "package_theft"}
        body.update(change)  # type: ignore[arg-type]
        r = client.post("/api/v1/gold", json=body, headers=headers)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), change
        assert _gold_rows(world) == []
    ok = client.post(
        "/api/v1/gold",
        json={"donation_id": accepted, "decision": "accept", "category": "package_theft"},
        headers=headers,
    )
    assert ok.status_code == 201 and ok.json()["donation_id"] == accepted
    again = client.post(
        "/api/v1/gold",
        json={"donation_id": accepted, "decision": "accept", "category": "package_theft"},
        headers=headers,
    )
    assert (again.status_code, again.json()["error"]["code"]) == (409, "already_gold")
    listed = client.get("/api/v1/gold", headers=headers).json()
    assert [g["donation_id"] for g in listed] == [accepted]
    retired = client.delete(f"/api/v1/gold/{accepted}", headers=headers)
    assert retired.status_code == 200 and retired.json()["retired_at"] is not None
    assert client.get("/api/v1/gold", headers=headers).json() == []
    never = client.delete(f"/api/v1/gold/{in_review}", headers=headers)
    assert (never.status_code, never.json()["error"]["code"]) == (404, "not_gold")


def test_a_retired_gold_clip_is_served_no_more(world: World) -> None:
    add_reviewers(world, "rex")
    gold = gold_clip(world)
    with transaction(world.rt.sessions) as s:
        retire_gold(s, gold)
        assert s.get(GoldClip, gold).retired_at is not None  # type: ignore[union-attr]
    assert _next(world, "rita", serving=GoldServing(one_in=1)) is None
    with transaction(world.rt.sessions) as s, pytest.raises(NotFound):
        retire_gold(s, 987654)


def test_mark_gold_refuses_in_the_domain_too(world: World) -> None:
    with transaction(world.rt.sessions) as s:
        with pytest.raises(InvalidInput):
            mark_gold(s, 1, decision="yes", category="package_theft", marked_by=None)
        with pytest.raises(NotFound):
            mark_gold(s, 987654, decision="accept", category="package_theft", marked_by=None)
    clip = world.clip_in_review()
    with transaction(world.rt.sessions) as s, pytest.raises(Conflict):
        mark_gold(s, clip, decision="accept", category="package_theft", marked_by=None)
