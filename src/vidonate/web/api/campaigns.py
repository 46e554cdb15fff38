from __future__ import annotations

import re

from fastapi import APIRouter
from sqlalchemy.orm import Session

from vidonate.campaigns.service import (
    consent_in_force,
    create_campaign,
    get_campaign,
    list_campaigns,
)
from vidonate.db.engine import read_transaction, transaction
from vidonate.db.models import Campaign
from vidonate.errors import NotFound
from vidonate.rewards import ledger
from vidonate.web.api.schemas import INT32_MAX, CampaignCreate, CampaignPublic, ConsentPublic
from vidonate.web.deps import AdminUser, CurrentUser, RuntimeDep

router = APIRouter(prefix="/campaigns", tags=["campaigns"])
_REF = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")  # an id, or a slug (campaigns/service.py)


def public(session: Session, campaign: Campaign) -> CampaignPublic:
    out = CampaignPublic.model_validate(campaign)
    out.consent = ConsentPublic.model_validate(consent_in_force(session, campaign))
    out.budget_left_cents = ledger.campaign_balance(session, campaign.id)
    return out


@router.get("", response_model=list[CampaignPublic])
def campaigns(_user: CurrentUser, rt: RuntimeDep) -> list[CampaignPublic]:
    with read_transaction(rt.sessions) as session:
        return [public(session, c) for c in list_campaigns(session)]


@router.get("/{ref}", response_model=CampaignPublic)
def campaign(ref: str, _user: CurrentUser, rt: RuntimeDep) -> CampaignPublic:
    """A campaign by id or slug, with the consent text in force."""
    # Neither an id nor a slug can look otherwise; the database is not asked for one
    # (PostgreSQL refuses an id past 32 bits, and a NUL, with an error).
    if not _REF.match(ref) or (ref.isdigit() and int(ref) > INT32_MAX):
        raise NotFound("unknown_campaign", f"there is no campaign {ref!r}")
    with read_transaction(rt.sessions) as session:
        return public(session, get_campaign(session, ref))


@router.post("", response_model=CampaignPublic, status_code=201)
def add_campaign(body: CampaignCreate, _admin: AdminUser, rt: RuntimeDep) -> CampaignPublic:
    with transaction(rt.sessions) as session:
        return public(session, create_campaign(session, **body.model_dump()))
