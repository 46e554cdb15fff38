"""Plain server-rendered pages over the same services as the API."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from vidonate.accounts.cameras import add_camera, cameras_of
from vidonate.accounts.sessions import end_session, start_session
from vidonate.accounts.users import authenticate, update_profile
from vidonate.campaigns.service import consent_in_force, is_open, list_campaigns
from vidonate.db.engine import read_transaction, transaction
from vidonate.db.models import Campaign, Placement, User
from vidonate.donations.service import donations_of
from vidonate.errors import InvalidInput, VidonateError
from vidonate.ingest.tus import upload_whole
from vidonate.reasons import sentence, status_words
from vidonate.rewards import ledger
from vidonate.rewards.leaderboard import leaderboard, own_standing, own_tier, tiers_board
from vidonate.web.api.me import export, run_withdrawal
from vidonate.web.api.review import gold_serving, review_item, thresholds
from vidonate.web.api.schemas import DonationId
from vidonate.web.csrf import FORM_FIELD, check_token, csrf_field
from vidonate.web.deps import (
    SESSION_SECRET,
    CurrentUser,
    OptionalUser,
    RateLimitsDep,
    ReviewerUser,
    RuntimeDep,
    check_upload_rate,
    client_ip,
)
from vidonate.web.formstream import StreamedForm

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
# Every <form method="post"> renders {{ csrf_field() }}; web/csrf.py checks it.
templates.env.globals["csrf_field"] = csrf_field
# Donors read reasons as sentences (vidonate/reasons.py), never as bare codes.
templates.env.globals["status_words"] = status_words
# A reason code alone (a hold's, say) as its sentence.
templates.env.globals["sentence"] = sentence


def page(request: Request, name: str, status_code: int = 200, **context: object) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def render_error(request: Request, exc: VidonateError) -> Response:
    if exc.code == "not_signed_in":
        return RedirectResponse("/login", status_code=303)
    return page(request, "error.html", exc.status_code, error=exc, user=None)


def _campaign_view(session: Session, campaign: Campaign) -> dict[str, object]:
    return {
        "slug": campaign.slug,
        "name": campaign.name,
        "reward_cents": campaign.reward_cents,
        "categories": campaign.category_names(),
        "allow_staged": campaign.allow_staged,
        "consent": consent_in_force(session, campaign),
        "budget_left_cents": ledger.campaign_balance(session, campaign.id),
    }


def _open_campaigns(rt: RuntimeDep) -> list[dict[str, object]]:
    with read_transaction(rt.sessions) as session:
        return [_campaign_view(session, c) for c in list_campaigns(session) if is_open(c)]


@router.get("/", response_class=HTMLResponse)
def home(request: Request, user: OptionalUser, rt: RuntimeDep) -> HTMLResponse:
    return page(request, "home.html", user=user, campaigns=_open_campaigns(rt))


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> HTMLResponse:
    return page(request, "login.html", user=None)


@router.post("/login")
def login(
    request: Request,
    rt: RuntimeDep,
    limits: RateLimitsDep,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
) -> Response:
    limits.check_sign_in(client_ip(request), username)
    lifetime = timedelta(days=rt.settings.session_lifetime_days)
    with transaction(rt.sessions) as session:
        user = authenticate(session, username, password)
        secret = start_session(session, user, lifetime)
    request.session.clear()  # a fresh session (and CSRF token) for the signed-in user
    request.session[SESSION_SECRET] = secret
    return RedirectResponse("/donations", status_code=303)


@router.post("/logout")
def logout(request: Request, rt: RuntimeDep) -> Response:
    """Sign out: the session ends on the server, so no copy of its cookie works again."""
    secret = request.session.get(SESSION_SECRET)
    if isinstance(secret, str):
        with transaction(rt.sessions) as session:
            end_session(session, secret)
    request.session.clear()
    return RedirectResponse("/", status_code=303)


@router.get("/donate", response_class=HTMLResponse)
def donate_form(request: Request, user: CurrentUser, rt: RuntimeDep) -> HTMLResponse:
    with read_transaction(rt.sessions) as session:
        cameras = cameras_of(session, user)
    return page(
        request,
        "donate.html",
        user=user,
        cameras=cameras,
        campaigns=_open_campaigns(rt),
        placements=[p.value for p in Placement],
    )


@router.post("/cameras")
def camera_form(
    user: CurrentUser,
    rt: RuntimeDep,
    label: Annotated[str, Form()],
    placement: Annotated[str, Form()],
) -> Response:
    with transaction(rt.sessions) as session:
        add_camera(session, user, label, placement)
    return RedirectResponse("/donate", status_code=303)


# The form's fields that become upload metadata; the clip's name comes from its part.
_DONATE_FIELDS = ("campaign", "category", "camera", "consent", "staged", "attestation",
                  "recorded_at", "incident")  # fmt: skip


@router.post("/donate")
async def donate(
    request: Request, user: CurrentUser, rt: RuntimeDep, limits: RateLimitsDep
) -> Response:
    """The clip streams from the request into the encrypted store: no plaintext temp file.

    The CSRF token is the form's first field (web/csrf.py leaves streamed forms to their
    route), checked before the upload exists.
    """
    form = StreamedForm(request)
    fields = await form.fields()
    check_token(request, fields.get(FORM_FIELD))
    check_upload_rate(limits, user)
    metadata = {"staged": "false", "attestation": "false"}
    metadata.update({k: fields[k] for k in _DONATE_FIELDS if k in fields})
    metadata["filename"] = form.filename
    await upload_whole(rt.uploads, user, metadata, form.file_bound(), form.file_chunks())
    return RedirectResponse("/donations", status_code=303)


@router.get("/donations", response_class=HTMLResponse)
def my_donations(
    request: Request, user: CurrentUser, rt: RuntimeDep, withdrawn: str = ""
) -> HTMLResponse:
    with read_transaction(rt.sessions) as session:
        donations = donations_of(session, user)
        paid = {d.id: ledger.paid_for_donation(session, d.id) for d in donations}
        balance = ledger.donor_balance(session, user)
    notice = None
    if withdrawn == "all":
        notice = "Everything is withdrawn: your key is destroyed and nobody can read your clips."
    elif withdrawn.isascii() and withdrawn.isdigit():
        notice = f"Clip {withdrawn} is withdrawn: its key is destroyed and nobody can read it."
    return page(
        request,
        "donations.html",
        user=user,
        donations=donations,
        paid=paid,
        balance=balance,
        notice=notice,
    )


@router.post("/donations/{donation_id}/withdraw")
def withdraw_clip_form(donation_id: DonationId, user: CurrentUser, rt: RuntimeDep) -> Response:
    run_withdrawal(rt, user, donation_id)
    return RedirectResponse(f"/donations?withdrawn={donation_id}", status_code=303)


@router.post("/withdraw")
def withdraw_everything_form(
    user: CurrentUser, rt: RuntimeDep, confirm: Annotated[str, Form()] = ""
) -> Response:
    if confirm != "yes":
        raise InvalidInput(
            "confirmation_missing",
            "tick the box to confirm: withdrawing everything destroys your key for good",
        )
    run_withdrawal(rt, user, None)
    return RedirectResponse("/donations?withdrawn=all", status_code=303)


@router.get("/export")
def export_download(user: CurrentUser, rt: RuntimeDep) -> Response:
    return export(user, rt)


@router.get("/review", response_class=HTMLResponse)
def review_page(request: Request, reviewer: ReviewerUser, rt: RuntimeDep) -> HTMLResponse:
    from vidonate.review.service import next_for_review
    from vidonate.web.pages.review_intervals import intervals_form

    # A write, though a GET: handing a clip out records the assignment (may_watch).
    with transaction(rt.sessions) as session:
        donation = next_for_review(
            session, reviewer, thresholds=thresholds(rt), serving=gold_serving(rt)
        )
        campaign = session.get(Campaign, donation.campaign_id) if donation else None
        item = review_item(request, session, donation, campaign) if donation and campaign else None
        marks = intervals_form(session, reviewer, donation.id) if item and donation else None
    return page(request, "review.html", user=reviewer, item=item, marks=marks)


@router.post("/review/{donation_id}")
def review_vote(
    donation_id: DonationId,
    reviewer: ReviewerUser,
    rt: RuntimeDep,
    decision: Annotated[str, Form()],
    category: Annotated[str, Form()] = "",
    staged: Annotated[str, Form()] = "false",
    reason: Annotated[str, Form()] = "",
) -> Response:
    from vidonate.review.service import REJECT, cast_vote

    with transaction(rt.sessions) as session:
        cast_vote(
            session,
            reviewer,
            donation_id,
            decision=decision,
            category=category or None,
            staged=staged == "true",
            reason=reason if decision == REJECT else None,
            thresholds=thresholds(rt),
        )
    return RedirectResponse("/review", status_code=303)


@router.get("/leaderboard", response_class=HTMLResponse)
def leaderboard_page(request: Request, user: CurrentUser, rt: RuntimeDep) -> HTMLResponse:
    with read_transaction(rt.sessions) as session:
        entries, me = leaderboard(session), own_standing(session, user)
        tiers, my_tier = tiers_board(session), own_tier(session, user)
    return page(
        request, "leaderboard.html", user=user, entries=entries, me=me, tiers=tiers, tier=my_tier
    )


@router.post("/leaderboard")
def leaderboard_settings(
    user: CurrentUser,
    rt: RuntimeDep,
    handle: Annotated[str, Form()],
    opt_in: Annotated[str, Form()] = "",
) -> Response:
    with transaction(rt.sessions) as session:
        own = session.get(User, user.id)
        assert own is not None
        update_profile(session, own, handle=handle, leaderboard_opt_in=opt_in == "true")
    return RedirectResponse("/leaderboard", status_code=303)
