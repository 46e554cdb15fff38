"""Dataset releases: accepted clips frozen into an immutable, versioned manifest.

A release takes every clip that is accepted, not withdrawn, still held (its key not
destroyed) and donated under a consent that allows "training". It records, per clip,
the content hash, label, staged or real, synthetic or filmed, incident, camera and split,
its event intervals and whether they are verified, and, against the release before it,
the clips withdrawn since and a diff. Its datasheet is generated from the database
(``datasets.datasheet``).

A release lists clips; it holds no content. Training reads each clip through the vault
(``datasets.reader``), so a clip withdrawn after the release stops being readable in it.

Event intervals (``intervals``: [{start, end, label}] in seconds) are a synthetic clip's
generated events, or a donated clip's verified intervals (``review/intervals.py``) as they
stood when the release was cut; ``verified`` says whether they are the clip's truth: always
for a synthetic clip, for a donated clip only when it was verified for training (a normal
clip is verified with no interval). An unverified donated clip is listed (it was accepted)
but never trained on. ``events`` is the stored column the two derive from: None for an
unverified donated clip.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vidonate.datasets.splits import DEFAULT_RATIOS, SPLITS, SplitItem, assign_splits
from vidonate.db.models import (
    ConsentText,
    Donation,
    DonationStatus,
    Release,
    ReleaseClip,
)
from vidonate.errors import Conflict, InvalidInput, NotFound
from vidonate.review.intervals import Interval, verified_for_training
from vidonate.version import code_version

MANIFEST_FIELDS = (
    "id", "sha256", "label", "staged", "synthetic", "incident", "camera", "split",
    "duration_s", "events", "intervals", "verified", "source",
)  # fmt: skip


def eligible_clips(session: Session) -> list[Donation]:
    """Accepted, held clips whose consent allows training, in id order."""
    rows = session.execute(
        select(Donation, ConsentText.purposes)
        .join(ConsentText, ConsentText.id == Donation.consent_text_id)
        .where(
            Donation.status == DonationStatus.accepted,
            Donation.wrapped_key.is_not(None),
            Donation.video_key.is_not(None),
            Donation.video_sha256.is_not(None),
        )
        .order_by(Donation.id)
    ).all()
    return [donation for donation, purposes in rows if "training" in (purposes or [])]


def _manifest_row(clip: ReleaseClip) -> dict[str, Any]:
    return {
        "id": clip.donation_id,
        "sha256": clip.sha256,
        "label": clip.label,
        "staged": clip.staged,
        "synthetic": clip.synthetic,
        "incident": clip.incident_id,
        "camera": clip.camera_id,
        "split": clip.split,
        "duration_s": clip.duration_s,
        "events": clip.events,
        "intervals": [
            {"start": e["start"], "end": e["end"], "label": e["label"]} for e in clip.events or []
        ],
        "verified": bool(clip.synthetic or clip.events is not None),
        "source": "synthetic" if clip.synthetic else "donated",
    }


def _verified_events(intervals: list[Interval] | None) -> list[dict[str, Any]] | None:
    """A donated clip's frozen events: its verified intervals, or None if unverified."""
    if intervals is None:
        return None
    return [{"start": i.start, "end": i.end, "label": i.label} for i in intervals]


def manifest_sha256(rows: list[dict[str, Any]]) -> str:
    canonical = json.dumps(rows, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def release_clips(session: Session, release: Release) -> list[ReleaseClip]:
    return list(
        session.scalars(
            select(ReleaseClip)
            .where(ReleaseClip.release_id == release.id)
            .order_by(ReleaseClip.donation_id)
        )
    )


def manifest(session: Session, release: Release) -> list[dict[str, Any]]:
    return [_manifest_row(clip) for clip in release_clips(session, release)]


def latest_release(session: Session) -> Release | None:
    return session.scalar(select(Release).order_by(Release.version.desc()).limit(1))


def get_release(session: Session, ref: str | int) -> Release:
    """A release by id, by version ("v3" or "3"), or "latest"."""
    ref = str(ref).strip().lower()
    if ref == "latest":
        release = latest_release(session)
    elif ref.removeprefix("v").isascii() and ref.removeprefix("v").isdigit():
        release = session.scalar(select(Release).where(Release.version == int(ref.lstrip("v"))))
    else:
        release = None
    if release is None:
        raise NotFound("unknown_release", f"there is no release {ref!r}")
    return release


def list_releases(session: Session) -> list[Release]:
    return list(session.scalars(select(Release).order_by(Release.version)))


@dataclass(frozen=True)
class _Diff:
    added: list[int]
    removed: dict[int, str]  # id -> why: withdrawn, retention_expired, no_longer_eligible
    changed: dict[int, dict[str, list[Any]]]  # id -> field -> [before, after]
    withdrawn: list[int]


def _diff(session: Session, previous: list[dict[str, Any]], current: list[dict[str, Any]]) -> _Diff:
    before = {row["id"]: row for row in previous}
    after = {row["id"]: row for row in current}
    removed: dict[int, str] = {}
    for clip_id in sorted(set(before) - set(after)):
        donation = session.get(Donation, clip_id)
        if donation is None or donation.status == DonationStatus.withdrawn:
            removed[clip_id] = "withdrawn"
        elif donation.wrapped_key is None:
            removed[clip_id] = "retention_expired"
        else:
            removed[clip_id] = "no_longer_eligible"
    changed = {
        clip_id: {
            field: [before[clip_id][field], after[clip_id][field]]
            for field in ("label", "staged", "split")
            if before[clip_id][field] != after[clip_id][field]
        }
        for clip_id in sorted(set(before) & set(after))
    }
    return _Diff(
        added=sorted(set(after) - set(before)),
        removed=removed,
        changed={k: v for k, v in changed.items() if v},
        withdrawn=[k for k, why in removed.items() if why == "withdrawn"],
    )


def create_release(
    session: Session,
    *,
    seed: int = 0,
    ratios: dict[str, float] | None = None,
    actor_id: int | None = None,
) -> Release:
    """Freeze the eligible clips into the next release (version = previous + 1)."""
    from vidonate.datasets.datasheet import render_datasheet

    ratios = dict(ratios or DEFAULT_RATIOS)
    if set(ratios) - set(SPLITS) or any(r < 0 for r in ratios.values()) or not any(ratios.values()):
        raise InvalidInput(
            "bad_split_ratios", f"split ratios are non-negative numbers for {list(SPLITS)}"
        )
    clips = eligible_clips(session)
    if not clips:
        raise Conflict("nothing_to_release", "no accepted clip that allows training is held")
    items = [
        SplitItem(
            id=d.id,
            links=(("camera", d.camera_id),)
            + ((("incident", d.incident_id),) if d.incident_id is not None else ()),
            stratum=(d.category, d.staged),
        )
        for d in clips
    ]
    splits = assign_splits(items, seed=seed, ratios=ratios)
    verified = verified_for_training(session, [d.id for d in clips if not d.synthetic])
    previous = latest_release(session)
    version = int(session.scalar(select(func.max(Release.version))) or 0) + 1
    rows = [
        ReleaseClip(
            donation_id=d.id,
            split=splits[d.id],
            label=d.category,
            staged=d.staged,
            synthetic=d.synthetic,
            incident_id=d.incident_id,
            camera_id=d.camera_id,
            sha256=d.video_sha256 or "",
            duration_s=d.duration_s,
            events=d.events if d.synthetic else _verified_events(verified.get(d.id)),
        )
        for d in clips
    ]
    current = [_manifest_row(row) for row in rows]
    diff = _diff(session, manifest(session, previous) if previous else [], current)
    datasheet = render_datasheet(
        session,
        version=version,
        seed=seed,
        ratios=ratios,
        clips=clips,
        rows=rows,
        previous_version=previous.version if previous else None,
        withdrawn_since=diff.withdrawn,
    )
    release = Release(
        version=version,
        seed=seed,
        split_ratios=ratios,
        previous_id=previous.id if previous else None,
        code_version=code_version(),
        clips=len(rows),
        manifest_sha256=manifest_sha256(current),
        withdrawn_since_previous=diff.withdrawn,
        diff={
            "previous_version": previous.version if previous else None,
            "added": diff.added,
            "removed": {str(k): v for k, v in diff.removed.items()},
            "changed": {str(k): v for k, v in diff.changed.items()},
        },
        datasheet=datasheet,
        created_by=actor_id,
    )
    session.add(release)
    session.flush()
    for row in rows:
        row.release_id = release.id
    session.add_all(rows)
    session.flush()
    return release
