"""Conflicts of interest: whose clips a reviewer must never get, watch or vote on.

Their own, and those of accounts related to theirs. Two accounts are related when a clip
of each lies in one incident (two cameras of one street, the neighbours who filmed the
same theft), or when a scene link (``SceneLink``: the same camera background, found by
dedupe) joins a clip of each: the same household under two accounts, most likely. A
reviewer judging a neighbour's or their own second account's clip could pay themselves.

Relations are not followed further (a neighbour's neighbour is no relation): each step
would exclude more honest reviewers for a weaker reason.
"""

from __future__ import annotations

from sqlalchemy import select, union
from sqlalchemy.orm import Session, aliased

from vidonate.db.models import Donation, User
from vidonate.db.models_rewards import SceneLink
from vidonate.errors import Forbidden


def conflicting_donor_ids(session: Session, reviewer_id: int) -> set[int]:
    """The reviewer and every account related to theirs (see the module's docstring)."""
    own, other = aliased(Donation), aliased(Donation)
    shared_incident = (
        select(other.donor_id)
        .join(own, own.incident_id == other.incident_id)
        .where(own.donor_id == reviewer_id, own.incident_id.is_not(None))
    )
    # A link is stored once per pair, lower id first: the reviewer's clip is on either side.
    linked_forward = (
        select(other.donor_id)
        .join(SceneLink, SceneLink.other_donation_id == other.id)
        .join(own, own.id == SceneLink.donation_id)
        .where(own.donor_id == reviewer_id)
    )
    linked_backward = (
        select(other.donor_id)
        .join(SceneLink, SceneLink.donation_id == other.id)
        .join(own, own.id == SceneLink.other_donation_id)
        .where(own.donor_id == reviewer_id)
    )
    related = session.scalars(union(shared_incident, linked_forward, linked_backward))
    return {reviewer_id, *related}


def refuse_conflict(session: Session, reviewer: User, donation: Donation) -> None:
    """403 when ``donation`` is the reviewer's own clip or a related account's."""
    if donation.donor_id == reviewer.id:
        raise Forbidden("own_clip", "you cannot review your own clip")
    if donation.donor_id in conflicting_donor_ids(session, reviewer.id):
        raise Forbidden(
            "related_account",
            "you cannot review this clip: its donor's account is related to yours (a "
            "shared incident or camera scene)",
        )
