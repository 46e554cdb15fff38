"""The review page's event intervals: the model's suggestions, and a plain form (no
script) of start, end, label rows that saves the reviewer's own set through the same
service as the API (review/intervals.py)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from vidonate.db.engine import transaction
from vidonate.db.models import User
from vidonate.errors import InvalidInput
from vidonate.review.intervals import EVENT_LABELS, Interval, reviewer_view, set_intervals
from vidonate.web.api.schemas import DonationId
from vidonate.web.deps import ReviewerUser, RuntimeDep

router = APIRouter(include_in_schema=False)
# Empty rows the form offers for new intervals.
BLANK_ROWS = 2


@dataclass(frozen=True)
class Row:
    """One row of the form: an interval to keep, edit or delete (label left empty)."""

    start: str
    end: str
    label: str
    suggestion_id: int | None = None


@dataclass(frozen=True)
class IntervalsForm:
    suggestions: list[str]  # "package_theft 2.0–6.5 s, suggested by model 3, score 0.91"
    rows: list[Row]
    labels: tuple[str, ...]
    saved: bool  # the reviewer has saved intervals of their own


def intervals_form(session: Session, reviewer: User, donation_id: int) -> IntervalsForm:
    """The form for a clip given to ``reviewer``: their saved intervals, or, before they
    saved any, the model's suggestions as rows to confirm, move or delete."""
    view = reviewer_view(session, reviewer, donation_id)
    suggestions = [
        f"{s.label} {s.start_s:.1f}–{s.end_s:.1f} s, suggested by model {s.model_id}, "
        f"score {s.score:.2f}"
        for s in view.suggestions
    ]
    if view.own:
        rows = [Row(f"{r.start_s:g}", f"{r.end_s:g}", r.label, r.suggestion_id) for r in view.own]
    else:
        rows = [Row(f"{s.start_s:.1f}", f"{s.end_s:.1f}", s.label, s.id) for s in view.suggestions]
    rows += [Row("", "", "")] * BLANK_ROWS
    return IntervalsForm(suggestions, rows, EVENT_LABELS, bool(view.own))


def _seconds(text: str, row: int) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InvalidInput("bad_interval", f"row {row + 1}: {text!r} is not seconds") from None
    if not math.isfinite(value):
        raise InvalidInput("bad_interval", f"row {row + 1}: {text!r} is not seconds")
    return value


def parse_rows(
    start: list[str], end: list[str], label: list[str], suggestion_id: list[str]
) -> list[Interval]:
    """The rows the reviewer kept: a row with no label, or no start and no end, is dropped."""
    kept = []
    for i, (a, b, what) in enumerate(zip(start, end, label, strict=False)):
        if not what or not (a.strip() or b.strip()):
            continue
        origin = suggestion_id[i] if i < len(suggestion_id) else ""
        kept.append(
            Interval(
                _seconds(a, i), _seconds(b, i), what, int(origin) if origin.isdigit() else None
            )
        )
    return kept


@router.post("/review/{donation_id}/intervals")
def save_intervals(
    donation_id: DonationId,
    reviewer: ReviewerUser,
    rt: RuntimeDep,
    start: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies defaults)
    end: Annotated[list[str], Form()] = [],  # noqa: B006
    label: Annotated[list[str], Form()] = [],  # noqa: B006
    suggestion_id: Annotated[list[str], Form()] = [],  # noqa: B006
) -> Response:
    intervals = parse_rows(start, end, label, suggestion_id)
    with transaction(rt.sessions) as session:
        set_intervals(session, reviewer, donation_id, intervals)
    return RedirectResponse("/review", status_code=303)
