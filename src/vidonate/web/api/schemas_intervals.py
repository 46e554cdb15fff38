"""Schemas of event intervals: what reviewers mark, what the model suggests, what is verified."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from vidonate.web.api.schemas import INT32_MAX, Public, Text

# Far above the service's own limit (review/intervals.py MAX_INTERVALS), which answers
# with its reason code; this only bounds what the server parses.
_MAX_PARSED = 200


class IntervalIn(BaseModel):
    start: float = Field(description="seconds from the clip's start")
    end: float = Field(description="seconds from the clip's start, after start")
    label: Text = Field(description="package_theft or car_door_tampering")
    suggestion_id: int | None = Field(
        None, ge=1, le=INT32_MAX, description="the suggestion this interval confirms or moves"
    )


class IntervalsPut(BaseModel):
    intervals: list[IntervalIn] = Field(max_length=_MAX_PARSED)


class IntervalOut(Public):
    start: float
    end: float
    label: str
    source: Literal["reviewer", "suggestion", "verified"]
    id: int
    suggestion_id: int | None = None  # reviewer: the suggestion it started from
    model_id: int | None = None  # suggestion: the model that found it
    score: float | None = None  # suggestion: the model's score
    reviewers: int | None = None  # verified: how many reviewers agree on it
    reviewer_id: int | None = None  # operators only: who marked it


class ReviewIntervals(Public):
    donation_id: int
    duration_s: float | None
    intervals: list[IntervalOut]  # the reviewer's own
    suggestions: list[IntervalOut]
    voted: bool
    verified: list[IntervalOut] | None  # shown only once the reviewer has voted


class DonationIntervals(Public):
    donation_id: int
    status: str
    category: str
    verified_for_training: bool
    verified: list[IntervalOut]
    suggestions: list[IntervalOut]
    reviewers: list[IntervalOut]


class Disagreement(Public):
    donation_id: int
    category: str
    false_alarms: list[IntervalOut]  # suggested, not verified
    misses: list[IntervalOut]  # verified, not suggested
    label_mismatches: list[IntervalOut]  # suggested over a verified event of another label
