"""Incidents: several angles of one scene.

A donor's clips from different cameras form one incident when they share an incident
key, or when their recorded time windows overlap (only for clips whose recording time
the donor gave). Incidents merge when a new clip bridges two of them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from vidonate.db.models import Donation, DonationStatus, Incident

_GONE = (DonationStatus.failed, DonationStatus.withdrawn)
# The longest clip a campaign takes bounds how far back an overlapping clip can start.
_LOOKBACK = timedelta(minutes=10)


def window(donation: Donation) -> tuple[datetime, datetime]:
    return donation.recorded_at, donation.recorded_at + timedelta(
        seconds=donation.duration_s or 0.0
    )


def _overlap(a: Donation, b: Donation) -> bool:
    (a0, a1), (b0, b1) = window(a), window(b)
    return a0 < b1 and b0 < a1


def _peers(session: Session, donation: Donation) -> list[Donation]:
    start, end = window(donation)
    by_time = (
        Donation.recorded_at_known.is_(True)
        & (Donation.camera_id != donation.camera_id)
        & (Donation.recorded_at >= start - _LOOKBACK)
        & (Donation.recorded_at < end)
    )
    conditions: list[ColumnElement[bool]] = [by_time] if donation.recorded_at_known else []
    if donation.incident_key:
        conditions.append(Donation.incident_key == donation.incident_key)
    if not conditions:
        return []
    candidates = session.scalars(
        select(Donation).where(
            Donation.donor_id == donation.donor_id,
            Donation.id != donation.id,
            Donation.status.not_in(_GONE),
            or_(*conditions),
        )
    )
    return [
        d
        for d in candidates
        if (donation.incident_key and d.incident_key == donation.incident_key)
        or (donation.recorded_at_known and d.recorded_at_known and _overlap(d, donation))
    ]


def assign_incident(session: Session, donation: Donation) -> Incident | None:
    """Put a processed clip into its incident, creating or merging incidents as needed."""
    peers = _peers(session, donation)
    if not peers and not donation.incident_key:
        return None
    members = [donation, *peers]
    existing = sorted({d.incident_id for d in members if d.incident_id is not None})
    if existing:
        incident = session.get(Incident, existing[0])
        assert incident is not None
        for other_id in existing[1:]:
            session.execute(
                update(Donation)
                .where(Donation.incident_id == other_id)
                .values(incident_id=incident.id)
            )
            other = session.get(Incident, other_id)
            if other is not None:
                incident.starts_at = min(incident.starts_at, other.starts_at)
                incident.ends_at = max(incident.ends_at, other.ends_at)
                session.delete(other)
    else:
        start, end = window(donation)
        incident = Incident(donor_id=donation.donor_id, starts_at=start, ends_at=end)
        session.add(incident)
        session.flush()
    for member in members:
        member.incident_id = incident.id
        start, end = window(member)
        incident.starts_at = min(incident.starts_at, start)
        incident.ends_at = max(incident.ends_at, end)
    session.flush()
    return incident


def angles(session: Session, donation: Donation) -> list[Donation]:
    """The other processed clips of the donation's incident, oldest first."""
    if donation.incident_id is None:
        return []
    return list(
        session.scalars(
            select(Donation)
            .where(
                Donation.incident_id == donation.incident_id,
                Donation.id != donation.id,
                Donation.status.in_((DonationStatus.in_review, DonationStatus.accepted)),
            )
            .order_by(Donation.recorded_at, Donation.id)
        )
    )
