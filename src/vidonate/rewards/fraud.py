"""The fraud scan: holds for operator review where the data shows gaming.

Run once per deployment with housekeeping's cadence (``Runtime`` schedules it), and by
``vidonate rewards scan``. It places, never releases: an operator releases after review.

* ``shared_camera_scene``: an account whose clips show a camera scene that clips of other
  accounts show too (dedupe/scenes.py links them from the perceptual hashes): one porch
  donated from several accounts would be paid several times. Both accounts are held.
* ``mutual_voting``: two accounts that voted on each other's clips far more often than the
  queue would hand them out by chance (review/collusion.py gives the evidence). Both held.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from vidonate.db.models import Donation
from vidonate.db.models_rewards import SceneLink
from vidonate.review.collusion import mutual_voting_pairs
from vidonate.rewards.holds import MUTUAL_VOTING, SHARED_CAMERA_SCENE, place_hold


@dataclass(frozen=True)
class PlacedHold:
    user_id: int
    reason: str
    detail: str


def _scene_pairs(session: Session) -> dict[tuple[int, int], int]:
    """Pairs of accounts (lower id first) with the number of scene links between them."""
    other = aliased(Donation)
    rows = session.execute(
        select(Donation.donor_id, other.donor_id)
        .join(SceneLink, SceneLink.donation_id == Donation.id)
        .join(other, other.id == SceneLink.other_donation_id)
    ).all()
    pairs: dict[tuple[int, int], int] = {}
    for a, b in rows:
        if a != b:
            key = (min(a, b), max(a, b))
            pairs[key] = pairs.get(key, 0) + 1
    return pairs


def scan_for_fraud(session: Session) -> list[PlacedHold]:
    """Place the holds the data calls for; returns those newly placed."""
    placed: list[PlacedHold] = []

    def hold(user_id: int, reason: str, detail: str) -> None:
        if place_hold(session, user_id, reason, detail):
            placed.append(PlacedHold(user_id, reason, detail))

    for (a, b), links in sorted(_scene_pairs(session).items()):
        detail = f"{links} clip pair(s) show one camera scene with account {{other}}"
        hold(a, SHARED_CAMERA_SCENE, detail.format(other=b))
        hold(b, SHARED_CAMERA_SCENE, detail.format(other=a))
    for pair in mutual_voting_pairs(session):
        there, back = pair.forward, pair.backward
        detail = (
            f"accounts {pair.account_id} and {pair.other_account_id}: {there.votes} and "
            f"{back.votes} votes on each other's clips ({there.share:.0%} and {back.share:.0%} "
            f"of their votes, {there.expected_share:.1%} and {back.expected_share:.1%} by "
            f"chance; p = {pair.p_value:.1e})"
        )
        hold(pair.account_id, MUTUAL_VOTING, detail)
        hold(pair.other_account_id, MUTUAL_VOTING, detail)
    return placed
