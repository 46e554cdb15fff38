"""Creating campaigns, publishing consent texts and looking campaigns up."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vidonate.db.models import Campaign, CampaignCategory, ConsentText, utcnow
from vidonate.errors import Conflict, InvalidInput, NotFound
from vidonate.rewards import ledger

DEFAULT_CATEGORIES = ("package_theft", "car_door_tampering", "normal_activity")
DEFAULT_TARGET = 20_000
INCIDENT_PAYMENTS = ("each_angle", "once_per_incident")
# Words that mark a category as footage of children or of the inside of homes.
_SENSITIVE = re.compile(
    r"baby|babies|child|kid|infant|toddler|nursery|minor|school|indoor|inside|bedroom|"
    r"bathroom|living_room|home_interior|interior"
)


def is_sensitive(category: str) -> bool:
    return bool(_SENSITIVE.search(category))


_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")
_CATEGORY = re.compile(r"^[a-z][a-z0-9_]{2,39}$")

DEFAULT_CONSENT = """\
I donate this clip to the vidonate campaign "{name}".
- Faces and readable text (plates, labels, house numbers) are blurred, and sound,
  location and device data removed, before any person sees it.
- I own the camera, and the clip was recorded where I may record.
"""

# Appended to every consent text, whatever a campaign writes above it, so that no version
# can leave out what the clip is for and what is promised about it.
PURPOSES = """\
What this clip is for, and what is promised:
- Purpose: training and evaluating vidonate's detector of package theft and car-door
  tampering, and nothing else. People see it only to review it.
- It is never sold.
- It is never given to third parties; any disclosure the law compels is counted in the
  public transparency report.
- Retention: the processed clip is kept for at most {retention_days} days after it is
  accepted, then deleted; a rejected clip is deleted once rejected; the original upload
  is deleted as soon as it is processed.
- Every stored byte is encrypted under my own key. I can withdraw this clip, or
  everything, at any time: the key is destroyed at once and the data deleted. Money
  already earned stays mine.
"""


def create_campaign(
    session: Session,
    *,
    slug: str,
    name: str,
    budget_cents: int,
    categories: Mapping[str, int] | None = None,
    reward_cents: int = 200,
    paid_cap_per_camera: int = 10,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    allow_staged: bool = True,
    consent_text: str | None = None,
    incident_payment: str = "each_angle",
    sensitive_data: bool = False,
    retention_days: int = 730,
) -> Campaign:
    """A campaign, funded with ``budget_cents`` and with its first consent text in force."""
    if not _SLUG.match(slug):
        raise InvalidInput("bad_slug", "a campaign slug is 2-64 of a-z, 0-9 and '-'")
    if session.scalar(select(Campaign.id).where(Campaign.slug == slug)):
        raise Conflict("campaign_exists", f"a campaign {slug!r} exists already")
    if reward_cents < 0 or budget_cents < 0 or paid_cap_per_camera < 0:
        raise InvalidInput("negative_amount", "reward, budget and cap cannot be negative")
    if not 1 <= retention_days <= 3650:
        raise InvalidInput("bad_retention", "retention_days is 1 to 3650 (ten years)")
    categories = dict(categories or dict.fromkeys(DEFAULT_CATEGORIES, DEFAULT_TARGET))
    for category, target in categories.items():
        if not _CATEGORY.match(category) or target < 0:
            raise InvalidInput("bad_category", f"bad category {category!r} or target {target}")
    if incident_payment not in INCIDENT_PAYMENTS:
        raise InvalidInput(
            "bad_incident_payment", f"incident_payment is one of {list(INCIDENT_PAYMENTS)}"
        )
    sensitive = sorted(c for c in categories if is_sensitive(c))
    if sensitive and not sensitive_data:
        raise InvalidInput(
            "sensitive_category",
            f"categories {sensitive} involve children or the inside of homes; they are "
            "refused unless an admin opens the campaign with the sensitive-data setting",
        )
    if sensitive_data and reward_cents > 0:
        raise InvalidInput(
            "sensitive_campaign_paid", "a sensitive-data campaign cannot pay for clips"
        )
    starts_at = starts_at or utcnow()
    if ends_at is not None and ends_at <= starts_at:
        raise InvalidInput("bad_dates", "a campaign must end after it starts")
    campaign = Campaign(
        slug=slug,
        name=name,
        reward_cents=reward_cents,
        paid_cap_per_camera=paid_cap_per_camera,
        budget_cents=budget_cents,
        starts_at=starts_at,
        ends_at=ends_at,
        allow_staged=allow_staged,
        incident_payment=incident_payment,
        sensitive_data=sensitive_data,
        retention_days=retention_days,
    )
    campaign.categories = [CampaignCategory(category=c, target=t) for c, t in categories.items()]
    session.add(campaign)
    session.flush()
    publish_consent(session, campaign, consent_text or DEFAULT_CONSENT.format(name=name))
    ledger.fund_campaign(session, campaign, budget_cents)
    return campaign


def publish_consent(session: Session, campaign: Campaign, body: str) -> ConsentText:
    """A new consent version; from now on donations must accept this one.

    The campaign's own words come first; the statement of purposes, no sale, no third
    parties and the retention period is always appended.
    """
    body = body.strip()
    if not body:
        raise InvalidInput("empty_consent", "a consent text cannot be empty")
    body = f"{body}\n\n{PURPOSES.format(retention_days=campaign.retention_days)}".strip()
    latest = session.scalar(
        select(func.max(ConsentText.version)).where(ConsentText.campaign_id == campaign.id)
    )
    consent = ConsentText(
        campaign_id=campaign.id,
        version=(latest or 0) + 1,
        body=body,
        content_sha256=hashlib.sha256(body.encode()).hexdigest(),
    )
    session.add(consent)
    session.flush()
    return consent


def consent_in_force(session: Session, campaign: Campaign) -> ConsentText:
    consent = session.scalar(
        select(ConsentText)
        .where(ConsentText.campaign_id == campaign.id)
        .order_by(ConsentText.version.desc())
        .limit(1)
    )
    if consent is None:  # create_campaign always publishes one; guard against hand-made rows
        raise Conflict("no_consent_text", f"campaign {campaign.slug!r} has no consent text")
    return consent


def get_campaign(session: Session, ref: str | int) -> Campaign:
    ref = str(ref)
    query = select(Campaign)
    query = (
        query.where(Campaign.id == int(ref))
        if ref.isascii() and ref.isdigit() and int(ref) < 2**31
        else query.where(Campaign.slug == ref)
    )
    campaign = session.scalar(query)
    if campaign is None:
        raise NotFound("unknown_campaign", f"there is no campaign {ref!r}")
    return campaign


def list_campaigns(session: Session) -> list[Campaign]:
    return list(session.scalars(select(Campaign).order_by(Campaign.id)))


def is_open(campaign: Campaign, at: datetime | None = None) -> bool:
    at = at or utcnow()
    return campaign.starts_at <= at and (campaign.ends_at is None or at < campaign.ends_at)
