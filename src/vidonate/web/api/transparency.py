"""The public transparency report, and the admin routes that record disclosures."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from vidonate.db.engine import read_transaction, transaction
from vidonate.db.models import Disclosure
from vidonate.privacy.disclosures import list_disclosures, record_disclosure
from vidonate.privacy.transparency import TransparencyReport
from vidonate.web.api.schemas import INT32_MAX, Text
from vidonate.web.deps import AdminUser, AuditReader, ReportCacheDep, RuntimeDep

router = APIRouter(tags=["transparency"])


class DisclosureCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    recipient: Text
    legal_basis: Text
    donations: int = Field(le=INT32_MAX)
    description: Text = ""
    disclosed_at: datetime | None = None


class DisclosurePublic(BaseModel):
    """A disclosure as admins and auditors see it: with who recorded it, and when."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    recipient: str
    legal_basis: str
    description: str
    donations: int
    disclosed_at: datetime
    recorded_by: int | None
    created_at: datetime


@router.get("/transparency", response_model=TransparencyReport)
def transparency(
    rt: RuntimeDep,
    reports: ReportCacheDep,
    response: Response,
    campaign: Annotated[str | None, Query(description="a campaign's slug; omit for all")] = None,
) -> TransparencyReport:
    """Public, no sign-in: clips received and what became of them, money paid and how it
    is spread over donors, withdrawals and how fast they took effect, reads of clip
    content by purpose, and disclosures to third parties. See docs/transparency.md.

    Each server recomputes it at most every ``VIDONATE_TRANSPARENCY_MAX_AGE_SECONDS``
    (5 s by default); ``computed_at`` says when, and ``Cache-Control`` how long it keeps."""
    response.headers["Cache-Control"] = reports.cache_control()
    return reports.report(rt.sessions, campaign or None)


@router.post("/admin/disclosures", response_model=DisclosurePublic, status_code=201)
def record(body: DisclosureCreate, admin: AdminUser, rt: RuntimeDep) -> Disclosure:
    """Record a disclosure of clips or data to anyone outside vidonate. Admin only.
    Recipient, legal basis, description, clip count and date are published."""
    with transaction(rt.sessions) as session:
        return record_disclosure(
            session,
            recipient=body.recipient,
            legal_basis=body.legal_basis,
            donations=body.donations,
            description=body.description,
            disclosed_at=body.disclosed_at,
            recorded_by=admin,
        )


@router.get("/admin/disclosures", response_model=list[DisclosurePublic])
def disclosures(_reader: AuditReader, rt: RuntimeDep) -> list[Disclosure]:
    """Every recorded disclosure, newest first. Admins and auditors."""
    with read_transaction(rt.sessions) as session:
        return list_disclosures(session)
