"""Public API schemas. Responses go out only through these, so no hash or key can leak."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class Public(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorBody


class TokenRequest(BaseModel):
    username: str
    password: str
    name: str = "cli"


class TokenResponse(BaseModel):
    token: str
    username: str
    roles: list[str]


class UserCreate(BaseModel):
    username: str
    password: str
    roles: list[str] = ["donor"]
    handle: str | None = None


class UserPublic(Public):
    id: int
    username: str
    handle: str
    roles: list[str]
    leaderboard_opt_in: bool


class ProfileUpdate(BaseModel):
    handle: str | None = None
    leaderboard_opt_in: bool | None = None


class CameraCreate(BaseModel):
    label: str
    placement: str = Field(description="porch, driveway, street or indoor")


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
    slug: str
    name: str
    budget_cents: int = Field(ge=0)
    reward_cents: int = Field(200, ge=0)
    paid_cap_per_camera: int = Field(10, ge=0)
    categories: dict[str, int] | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    allow_staged: bool = True
    consent_text: str | None = None
    incident_payment: str = Field("each_angle", description="each_angle or once_per_incident")
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


class VoteCreate(BaseModel):
    decision: str = Field(description="accept or reject")
    category: str | None = None
    staged: bool | None = None
    reason: str | None = Field(None, description="required when rejecting")


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


class StandingPublic(Public):
    rank: int
    handle: str
    accepted: int


class LeaderboardPublic(BaseModel):
    entries: list[StandingPublic]
    me: StandingPublic | None = None
