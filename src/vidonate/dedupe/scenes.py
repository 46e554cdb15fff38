"""One camera scene donated from several accounts: links between other donors' clips
that show the same background, however different the events in front of it.

A near-duplicate (``finder``) is the same footage; a scene link is looser: the same
static camera view. A fixed camera's background dominates its frames' perceptual hashes,
so two clips of one scene have most frames close in appearance even when their motion
has nothing in common (``phash`` measured 39-54 bits, median 46, on one camera 10-70 s
apart, against at least 89 between different clips). The score is the share of the
shorter clip's frames within `SCENE_THRESHOLD` bits of some frame of the other
(`phash.match_score`, views and mirrors included).

Measured on generated pairs (4 backgrounds: coarse colour noise and blocks, 320x240;
3 events each, in 3 variants: 2 small moving shapes, 3 large ones covering up to half of
the frame, 2 shapes at 60% brightness; sensor noise; 144 same-background pairs, 486
pairs of different backgrounds): nearest-frame distances of same-background pairs
10th-90th percentile 18-61 bits, median 41, max 90; of different backgrounds min 89,
1st percentile 98. With a threshold of 64 bits and a share of 0.3, 139 of the 144
same-background pairs linked (large shapes hide the background); with 72 bits and 0.3
all 144 did, and none of the 486 others (their best share was 0.0 up to 80 bits). The
candidates come from the finder's index (64 bits, 4 indexed frames a clip), which
found 142 of the 144. A median-frame "background" hash was measured too (same
background: median 34, max 80; different: min 100): no better separation than the
frame share, so the stored signature is unchanged.

Same-donor pairs are never links: one donor with several cameras, or one camera
donating many clips, is normal. Withdrawn clips' links are deleted with their content
(:func:`forget_scene_links`, called by withdrawal) and ignored by every read here
besides, should one be left. A clip whose content retention destroyed keeps its links:
they hold no content, only two clip ids and a score, and stay evidence about accounts.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import TypeVarTuple

from sqlalchemy import CursorResult, Select, and_, delete, or_, select
from sqlalchemy.orm import Session, aliased

from vidonate.db.models import Donation, DonationStatus
from vidonate.db.models_rewards import SceneLink
from vidonate.db.upsert import insert_unless_present
from vidonate.dedupe.finder import DuplicateFinder
from vidonate.dedupe.phash import VideoSignature, match_score

SCENE_THRESHOLD = 72  # appearance bits; different backgrounds' frames never came under 89
MIN_SCENE_SHARE = 0.3  # of the shorter clip's frames; large moving objects hide the rest
MIN_SCENE_FRAMES = 2  # frames that must match in all: one chance frame links nothing
# Verified candidates per clip: a scene donated by many accounts still links to plenty.
MAX_SCENE_CANDIDATES = 50
_OWNER_BATCH = 500  # candidate ids per owner look-up
_Columns = TypeVarTuple("_Columns")


def scene_score(a: VideoSignature, b: VideoSignature) -> float:
    """Share (0..1) of the shorter clip's frames that look like a frame of the other."""
    return match_score(a, b, threshold=SCENE_THRESHOLD)


def scene_match(a: VideoSignature, b: VideoSignature) -> float | None:
    """The scene score when the two clips show one camera scene (copies of one clip
    included), else None."""
    score = scene_score(a, b)
    cutoff = max(a.cutoff_s, b.cutoff_s)  # match_score compares them at one cutoff too
    shorter = min(len(a.coarser(cutoff)), len(b.coarser(cutoff)))
    if score >= MIN_SCENE_SHARE and round(score * shorter) >= MIN_SCENE_FRAMES:
        return score
    return None


def _other_donors_candidates(
    session: Session, donation: Donation, hits: dict[int, int]
) -> Iterator[int]:
    """Candidate clip ids of other donors, most index hits first; withdrawn ones left out."""
    ranked = sorted((c for c in hits if c != donation.id), key=lambda c: (-hits[c], c))
    for start in range(0, len(ranked), _OWNER_BATCH):
        batch = ranked[start : start + _OWNER_BATCH]
        rows = session.execute(
            select(Donation.id, Donation.donor_id).where(
                Donation.id.in_(batch), Donation.status != DonationStatus.withdrawn
            )
        )
        owners = {clip: donor for clip, donor in rows}
        for clip in batch:
            if clip in owners and owners[clip] != donation.donor_id:
                yield clip


def record_scene_links(
    session: Session, donation: Donation, signature: VideoSignature, finder: DuplicateFinder
) -> list[SceneLink]:
    """Link `donation` to every clip of another donor that shows the same scene; returns
    the links of the pairs found (rows written now or by an earlier run, so a re-run
    writes nothing new). Call it in the transaction that records the signature: the
    finder's dedupe lock then makes two workers' clips of one scene take turns, and the
    second sees the first."""
    partners: list[int] = []
    candidates = _other_donors_candidates(session, donation, finder.candidates(session, signature))
    for clip in itertools.islice(candidates, MAX_SCENE_CANDIDATES):
        stored = finder.stored_signature(session, clip)
        score = None if stored is None else scene_match(signature, stored)
        if score is None:
            continue
        low, high = sorted((donation.id, clip))
        insert_unless_present(
            session,
            SceneLink,
            {"donation_id": low, "other_donation_id": high, "score": score},
            ["donation_id", "other_donation_id"],
        )
        partners.append(clip)
    if not partners:
        return []
    mine = or_(
        and_(SceneLink.donation_id == donation.id, SceneLink.other_donation_id.in_(partners)),
        and_(SceneLink.other_donation_id == donation.id, SceneLink.donation_id.in_(partners)),
    )
    return list(session.scalars(select(SceneLink).where(mine).order_by(SceneLink.id)))


# The two clips of a link, for the reads below.
_LOW = aliased(Donation, name="low_clip")
_HIGH = aliased(Donation, name="high_clip")


def _live(statement: Select[*_Columns]) -> Select[*_Columns]:
    """`statement` over scene_links joined to both clips, links of withdrawn clips left out."""
    return (
        statement.join(_LOW, _LOW.id == SceneLink.donation_id)
        .join(_HIGH, _HIGH.id == SceneLink.other_donation_id)
        .where(_LOW.status != DonationStatus.withdrawn, _HIGH.status != DonationStatus.withdrawn)
    )


def scene_links_of(session: Session, donation_id: int) -> list[SceneLink]:
    """The links of one clip (either side), highest score first; none once withdrawn."""
    either = or_(SceneLink.donation_id == donation_id, SceneLink.other_donation_id == donation_id)
    statement = _live(select(SceneLink)).where(either)
    return list(session.scalars(statement.order_by(SceneLink.score.desc(), SceneLink.id)))


def linked_accounts(session: Session, user_id: int) -> set[int]:
    """Other accounts with a clip that shares a scene with one of this user's clips."""
    statement = _live(select(_LOW.donor_id, _HIGH.donor_id).select_from(SceneLink))
    rows = session.execute(
        statement.where(or_(_LOW.donor_id == user_id, _HIGH.donor_id == user_id))
    )
    return {donor for pair in rows for donor in pair} - {user_id}


def forget_scene_links(session: Session, donation_id: int) -> int:
    """Delete a withdrawn clip's links (the donation row stays, so no cascade does it);
    returns how many went."""
    result = session.execute(
        delete(SceneLink).where(
            or_(SceneLink.donation_id == donation_id, SceneLink.other_donation_id == donation_id)
        )
    )
    assert isinstance(result, CursorResult)
    return result.rowcount
