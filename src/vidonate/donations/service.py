"""Creating a donation from its metadata, and what a donor sees of their donations."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from vidonate.accounts.cameras import own_camera
from vidonate.campaigns.service import consent_in_force, get_campaign, is_open
from vidonate.db.models import (
    Camera,
    Campaign,
    ConsentAcceptance,
    Donation,
    DonationEvent,
    DonationStatus,
    User,
    utcnow,
)
from vidonate.db.upsert import insert_unless_present
from vidonate.donations.states import transition
from vidonate.errors import Conflict, Forbidden, InvalidInput, NotFound

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
KNOWN_FIELDS = frozenset(
    {
        "campaign",
        "category",
        "camera",
        "staged",
        "attestation",
        "recorded_at",
        "incident",
        "consent",
        "filename",
        "filetype",
    }
)


@dataclass(frozen=True)
class DonationRequest:
    """Validated metadata of a donation, before any row exists."""

    campaign: Campaign
    camera: Camera
    category: str
    staged: bool
    recorded_at: datetime
    recorded_at_known: bool
    incident_key: str | None
    consent_text_id: int
    filename: str


def _parse_bool(value: str, field: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise InvalidInput("bad_metadata", f"{field} must be true or false, not {value!r}")


def _parse_time(value: str | None) -> datetime:
    if not value:
        return utcnow()
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            "bad_metadata", f"recorded_at must be an ISO 8601 time, not {value!r}"
        ) from None
    parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    if parsed > utcnow():
        raise InvalidInput("bad_metadata", "recorded_at lies in the future")
    return parsed


def validate_request(session: Session, donor: User, metadata: Mapping[str, str]) -> DonationRequest:
    """Check every field before anything is stored, so a refusal leaves no trace."""
    unknown = set(metadata) - KNOWN_FIELDS
    if unknown:
        raise InvalidInput("bad_metadata", f"unknown metadata fields: {sorted(unknown)}")
    for field in ("campaign", "category", "camera"):
        if not metadata.get(field):
            raise InvalidInput("missing_metadata", f"metadata field {field!r} is required")
    if not donor.has_role("donor"):
        raise Forbidden("not_a_donor", "this account cannot donate")
    campaign = get_campaign(session, metadata["campaign"])
    if not is_open(campaign):
        raise Conflict("campaign_closed", f"campaign {campaign.slug!r} is not open")
    category = metadata["category"]
    if category not in campaign.category_names():
        raise NotFound(
            "unknown_category",
            f"campaign {campaign.slug!r} has no category {category!r}; "
            f"choose from {campaign.category_names()}",
        )
    camera = own_camera(session, donor, metadata["camera"])
    staged = _parse_bool(metadata.get("staged", "false"), "staged")
    if staged and not campaign.allow_staged:
        raise InvalidInput(
            "staged_not_allowed", f"campaign {campaign.slug!r} takes real clips only"
        )
    if staged and metadata.get("attestation", "").strip().lower() not in _TRUE:
        raise InvalidInput(
            "attestation_missing",
            "a staged clip needs your attestation that everyone filmed agreed to it "
            "(metadata 'attestation': true)",
        )
    if camera.placement == "indoor" and not campaign.sensitive_data:
        raise InvalidInput(
            "sensitive_placement",
            "clips from indoor cameras show the inside of a home; this campaign does not take them",
        )
    consent = consent_in_force(session, campaign)
    accepted = metadata.get("consent", "").strip()
    if not accepted:
        raise InvalidInput(
            "consent_missing",
            f"accept the consent text of {campaign.slug!r} (version {consent.version}) "
            "and send its content hash as metadata 'consent'",
        )
    if accepted not in {consent.content_sha256, str(consent.version)}:
        raise InvalidInput(
            "consent_outdated",
            f"the consent you accepted is not the one in force (version {consent.version})",
        )
    incident = (metadata.get("incident") or "").strip() or None
    if incident is not None and len(incident) > 80:
        raise InvalidInput("bad_metadata", "an incident key has at most 80 characters")
    return DonationRequest(
        campaign=campaign,
        camera=camera,
        category=category,
        staged=staged,
        recorded_at=_parse_time(metadata.get("recorded_at")),
        recorded_at_known=bool((metadata.get("recorded_at") or "").strip()),
        incident_key=incident,
        consent_text_id=consent.id,
        filename=(metadata.get("filename") or "")[:255],
    )


def create_donation(session: Session, donor: User, request: DonationRequest, size: int) -> Donation:
    donation = Donation(
        donor_id=donor.id,
        campaign_id=request.campaign.id,
        camera_id=request.camera.id,
        consent_text_id=request.consent_text_id,
        category=request.category,
        staged=request.staged,
        recorded_at=request.recorded_at,
        recorded_at_known=request.recorded_at_known,
        incident_key=request.incident_key,
        source_filename=request.filename,
        source_size=size,
        status="",
    )
    session.add(donation)
    session.flush()
    record_acceptance(session, donor.id, request.consent_text_id)
    transition(session, donation, DonationStatus.uploading, actor_id=donor.id)
    return donation


def has_accepted(session: Session, user_id: int, consent_text_id: int) -> bool:
    return bool(
        session.scalar(
            select(ConsentAcceptance.id).where(
                ConsentAcceptance.user_id == user_id,
                ConsentAcceptance.consent_text_id == consent_text_id,
            )
        )
    )


def record_acceptance(session: Session, user_id: int, consent_text_id: int) -> None:
    """Record that ``user_id`` accepted the consent text (once; later calls do nothing).

    A donor's first uploads may arrive at once: each would find no acceptance and insert
    one, and all but the first would fail on the unique constraint. The insert therefore
    yields to a row that is already there (ON CONFLICT DO NOTHING)."""
    insert_unless_present(
        session,
        ConsentAcceptance,
        {"user_id": user_id, "consent_text_id": consent_text_id, "accepted_at": utcnow()},
        ("user_id", "consent_text_id"),
    )


def consent_recorded(session: Session, donation: Donation) -> bool:
    """Whether the donor's acceptance of the consent text this clip names is on record."""
    return has_accepted(session, donation.donor_id, donation.consent_text_id)


def donations_of(session: Session, donor: User) -> list[Donation]:
    return list(
        session.scalars(
            select(Donation).where(Donation.donor_id == donor.id).order_by(Donation.id.desc())
        )
    )


def own_donation(session: Session, donor: User, donation_id: int) -> Donation:
    donation = session.get(Donation, donation_id)
    if donation is None or donation.donor_id != donor.id:
        raise NotFound("unknown_donation", f"you have no donation {donation_id}")
    return donation


def history(session: Session, donation: Donation) -> list[DonationEvent]:
    return list(
        session.scalars(
            select(DonationEvent)
            .where(DonationEvent.donation_id == donation.id)
            .order_by(DonationEvent.id)
        )
    )
