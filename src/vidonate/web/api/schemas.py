"""Public API schemas. Responses go out only through these, so no hash or key can leak."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Path
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

# The database keeps integers in 32 or 64 bits (row ids in 32). PostgreSQL answers a
# larger number with an error, not with "no such row", so requests are held to these.
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
DonationId = Annotated[int, Path(ge=1, le=INT32_MAX, description="a donation's id")]


def _without_nul(value: str) -> str:
    # No text in vidonate has a use for NUL, and PostgreSQL cannot store or even compare one.
    if "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    return value


Text = Annotated[str, AfterValidator(_without_nul)]


class Public(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorBody


class TokenRequest(BaseModel):
    username: Text
    password: Text
    name: Text = Field("cli", max_length=64, description="names the token, e.g. the device")


class TokenResponse(BaseModel):
    token: str = Field(description="the bearer token; shown this once, never again")
    token_id: int
    expires_at: datetime = Field(description="when the token stops working (UTC)")
    username: str
    roles: list[str]


class TokenPublic(Public):
    """One of your API tokens, without its secret."""

    id: int
    name: str
    created_at: datetime
    expires_at: datetime
    current: bool = Field(False, description="the token this request came with")


class UserCreate(BaseModel):
    username: Text
    password: Text
    roles: list[Text] = ["donor"]
    handle: Text | None = None


class UserPublic(Public):
    id: int
    username: str
    handle: str
    roles: list[str]
    leaderboard_opt_in: bool


class ProfileUpdate(BaseModel):
    handle: Text | None = None
    leaderboard_opt_in: bool | None = None


class CameraCreate(BaseModel):
    label: Text
    placement: Text = Field(description="porch, driveway, street or indoor")


class CameraPublic(Public):
    id: int
    label: str
    placement: str


class CategoryPublic(Public):
    category: str
    target: int


class ConsentPublic(Public):
    id: int
    version: int
    body: str
    content_sha256: str


class CampaignCreate(BaseModel):
    slug: Text
    name: Text = Field(max_length=200)
    budget_cents: int = Field(ge=0, le=INT64_MAX)
    reward_cents: int = Field(200, ge=0, le=INT32_MAX)
    paid_cap_per_camera: int = Field(10, ge=0, le=INT32_MAX)
    categories: dict[Text, Annotated[int, Field(le=INT32_MAX)]] | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    allow_staged: bool = True
    consent_text: Text | None = None
    incident_payment: Text = Field("each_angle", description="each_angle or once_per_incident")
    sensitive_data: bool = Field(
        False, description="allow categories of children or home interiors; forbids rewards"
    )


class CampaignPublic(Public):
    id: int
    slug: str
    name: str
    reward_cents: int
    paid_cap_per_camera: int
    budget_cents: int
    starts_at: datetime
    ends_at: datetime | None
    allow_staged: bool
    incident_payment: str
    sensitive_data: bool
    categories: list[CategoryPublic]
    consent: ConsentPublic | None = None
    budget_left_cents: int | None = None


class EventPublic(Public):
    from_status: str | None
    to_status: str
    reason: str | None
    at: datetime


class DonationPublic(Public):
    id: int
    campaign_id: int
    camera_id: int
    category: str
    staged: bool
    recorded_at: datetime
    incident_key: str | None
    incident_id: int | None
    duplicate_of: int | None
    redaction_flagged: bool
    status: str
    failure_reason: str | None
    failure_detail: str | None
    rejection_reason: str | None
    unpaid_reason: str | None
    source_filename: str
    source_size: int
    source_sha256: str | None
    width: int | None
    height: int | None
    duration_s: float | None
    created_at: datetime
    paid_cents: int = 0
    history: list[EventPublic] = []


class AnglePublic(Public):
    id: int
    camera_id: int
    recorded_at: datetime
    status: str
    video_url: str


class ReviewItem(Public):
    id: int
    campaign_id: int
    category: str
    staged: bool
    recorded_at: datetime
    incident_key: str | None
    duration_s: float | None
    video_url: str
    thumbnail_url: str
    categories: list[str]
    reject_reasons: dict[str, str]
    incident_id: int | None = None
    angles: list[AnglePublic] = []
    duplicate_of: int | None = None
    redaction_flagged: bool = False
    redacted_share: float | None = None  # mean share of the picture under a mosaic


class VoteCreate(BaseModel):
    decision: Text = Field(description="accept or reject")
    category: Text | None = None
    staged: bool | None = None
    reason: Text | None = Field(None, description="required when rejecting")


class VoteOutcomePublic(Public):
    status: str
    accepts: int
    rejects: int
    paid_cents: int
    unpaid_reason: str | None


class BalancePublic(BaseModel):
    balance_cents: int
    accepted: int
    paid_clips: int
    received_this_year_cents: int = Field(
        description="redemptions and payouts this calendar year (UTC), for tax purposes"
    )
    tax_details_threshold_cents: int = Field(
        description="past this in a year, payouts wait for tax details"
    )


class StandingPublic(Public):
    rank: int
    handle: str
    accepted: int


class LeaderboardPublic(BaseModel):
    entries: list[StandingPublic]
    me: StandingPublic | None = None


class AuditEntryPublic(Public):
    """One read of clip content: ids, codes, a time and hashes, nothing else."""

    seq: int
    at: datetime
    actor_id: int | None
    action: str
    purpose: str
    object_type: str
    object_id: str
    prev_hash: str
    entry_hash: str


class AuditPage(BaseModel):
    entries: list[AuditEntryPublic]
    next_before: int | None = Field(
        None, description="pass as ?before= for the next, older page; null on the last"
    )


class AuditVerificationPublic(BaseModel):
    ok: bool
    entries: int
    head: str = Field(description="the newest entry's hash (64 zeros when the log is empty)")
    first_bad_seq: int | None
    problem: str | None
