"""Plain pages for rewards: a donor's badges, goal, tier, catalogue, redemptions, payouts
and holds; an operator's catalogue, inventory, shipments, payout batches and holds. They
call the same services as the API; the web-app issue gives them their final form."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from vidonate.campaigns.service import is_open, list_campaigns
from vidonate.db.engine import read_transaction, transaction
from vidonate.db.models import User, utcnow
from vidonate.errors import InvalidInput
from vidonate.rewards import catalogue, holds, ledger, payouts
from vidonate.rewards.badges import badges_of
from vidonate.rewards.goals import community_goals, set_weekly_goal, weekly_progress
from vidonate.rewards.leaderboard import own_tier
from vidonate.web.api.catalogue import RedemptionId
from vidonate.web.api.payouts import BatchId
from vidonate.web.deps import AdminUser, CurrentUser, RuntimeDep
from vidonate.web.pages.routes import page

router = APIRouter(include_in_schema=False)


def _whole(text: str, field: str) -> int:
    """A form's number field; a person typing "12.50" into a cents field is told so."""
    try:
        return int(text.strip())
    except ValueError:
        raise InvalidInput("invalid_request", f"{field} is a whole number") from None


def _donor(session: Session, user: User) -> User:
    own = session.get(User, user.id)
    assert own is not None
    return own


@router.get("/rewards", response_class=HTMLResponse)
def rewards_page(request: Request, user: CurrentUser, rt: RuntimeDep) -> HTMLResponse:
    with read_transaction(rt.sessions) as session:
        context: dict[str, Any] = {
            "balance_cents": ledger.donor_balance(session, user),
            "badges": badges_of(session, user),
            "progress": weekly_progress(session, user),
            "tier": own_tier(session, user),
            "items": catalogue.catalogue(session),
            "redemptions": catalogue.redemptions_of(session, user),
            "payouts": payouts.payouts_of(session, user),
            "holds": holds.holds_of(session, user.id),
            "community": [
                (campaign, community_goals(session, campaign))
                for campaign in list_campaigns(session)
                if is_open(campaign)
            ],
            "has_tax_details": holds.has_tax_details(session, user.id),
            "year_total_cents": holds.yearly_total(session, user.id, utcnow().year),
            "threshold_cents": rt.settings.tax_details_threshold_cents,
        }
    return page(request, "rewards.html", user=user, new_key=str(uuid.uuid4()), **context)


@router.post("/rewards/goal")
def goal_form(user: CurrentUser, rt: RuntimeDep, clips: Annotated[str, Form()]) -> Response:
    with transaction(rt.sessions) as session:
        set_weekly_goal(session, _donor(session, user), _whole(clips, "a weekly goal"))
    return RedirectResponse("/rewards", status_code=303)


@router.post("/rewards/redeem")
def redeem_form(
    user: CurrentUser,
    rt: RuntimeDep,
    item_id: Annotated[str, Form()],
    client_key: Annotated[str, Form()],
    shipping_address: Annotated[str, Form()] = "",
) -> Response:
    """The form carries a key made when the page was drawn: sending it twice (a double
    click, a reload) redeems once."""

    def spend(session: Session) -> int:
        redemption = catalogue.redeem(
            session,
            rt.vault,
            _donor(session, user),
            _whole(item_id, "the item"),
            client_key=client_key,
            shipping_address=shipping_address or None,
            tax_threshold_cents=rt.settings.tax_details_threshold_cents,
        )
        return redemption.id

    holds.spending(rt.sessions, spend)
    return RedirectResponse("/rewards", status_code=303)


@router.get("/rewards/redemptions/{redemption_id}/code", response_class=HTMLResponse)
def code_page(
    request: Request, redemption_id: RedemptionId, user: CurrentUser, rt: RuntimeDep
) -> HTMLResponse:
    with transaction(rt.sessions) as session:
        code = catalogue.reveal_code(session, rt.vault, user, redemption_id)
    return page(request, "reveal.html", user=user, title="Your gift-card code", secret=code)


@router.post("/rewards/payouts")
def payout_form(
    user: CurrentUser,
    rt: RuntimeDep,
    amount_cents: Annotated[str, Form()],
    client_key: Annotated[str, Form()],
    provider: Annotated[str, Form()] = "paypal_batch",
) -> Response:
    def spend(session: Session) -> int:
        return payouts.request_payout(
            session,
            _donor(session, user),
            _whole(amount_cents, "the amount"),
            client_key=client_key,
            provider=provider,
            tax_threshold_cents=rt.settings.tax_details_threshold_cents,
        ).id

    holds.spending(rt.sessions, spend)
    return RedirectResponse("/rewards", status_code=303)


@router.post("/rewards/payout-destination")
def destination_form(
    user: CurrentUser, rt: RuntimeDep, receiver: Annotated[str, Form()]
) -> Response:
    with transaction(rt.sessions) as session:
        payouts.set_destination(session, rt.vault, _donor(session, user), receiver)
    return RedirectResponse("/rewards", status_code=303)


@router.post("/rewards/tax-details")
def tax_form(user: CurrentUser, rt: RuntimeDep, details: Annotated[str, Form()]) -> Response:
    with transaction(rt.sessions) as session:
        holds.supply_tax_details(session, rt.vault, _donor(session, user), details)
    return RedirectResponse("/rewards", status_code=303)


# -- operators ------------------------------------------------------------------------


@router.get("/admin/rewards", response_class=HTMLResponse)
def admin_page(request: Request, admin: AdminUser, rt: RuntimeDep) -> HTMLResponse:
    with read_transaction(rt.sessions) as session:
        context: dict[str, Any] = {
            "items": catalogue.catalogue(session, include_inactive=True),
            "to_ship": catalogue.awaiting_shipment(session),
            "batches": payouts.batches(session),
            "open_holds": holds.review_list(session),
        }
    return page(request, "admin_rewards.html", user=admin, **context)


@router.post("/admin/rewards/items")
def add_item_form(
    admin: AdminUser,
    rt: RuntimeDep,
    kind: Annotated[str, Form()],
    name: Annotated[str, Form()],
    price_cents: Annotated[str, Form()],
    face_value_cents: Annotated[str, Form()] = "",
    stock: Annotated[str, Form()] = "0",
) -> Response:
    with transaction(rt.sessions) as session:
        catalogue.add_item(
            session,
            kind=kind,
            name=name,
            price_cents=_whole(price_cents, "the price"),
            face_value_cents=_whole(face_value_cents, "the face value")
            if face_value_cents.strip()
            else None,
            stock=_whole(stock or "0", "the stock"),
            created_by=admin.id,
        )
    return RedirectResponse("/admin/rewards", status_code=303)


@router.post("/admin/rewards/items/{item_id}/codes")
def codes_form(
    item_id: int, admin: AdminUser, rt: RuntimeDep, codes: Annotated[str, Form()]
) -> Response:
    lines = [line for line in codes.splitlines() if line.strip()]
    with transaction(rt.sessions) as session:
        catalogue.add_gift_card_codes(session, rt.vault, item_id, lines, added_by=admin.id)
    return RedirectResponse("/admin/rewards", status_code=303)


@router.post("/admin/rewards/items/{item_id}/stock")
def stock_form(
    item_id: int, _admin: AdminUser, rt: RuntimeDep, units: Annotated[str, Form()]
) -> Response:
    with transaction(rt.sessions) as session:
        catalogue.restock(session, item_id, _whole(units, "the units"))
    return RedirectResponse("/admin/rewards", status_code=303)


@router.get("/admin/rewards/redemptions/{redemption_id}/address", response_class=HTMLResponse)
def address_page(
    request: Request, redemption_id: RedemptionId, admin: AdminUser, rt: RuntimeDep
) -> HTMLResponse:
    with transaction(rt.sessions) as session:
        where = catalogue.shipping_address(session, rt.vault, redemption_id, actor_id=admin.id)
    return page(request, "reveal.html", user=admin, title="Ship to", secret=where)


@router.post("/admin/rewards/redemptions/{redemption_id}/shipped")
def shipped_form(redemption_id: RedemptionId, admin: AdminUser, rt: RuntimeDep) -> Response:
    with transaction(rt.sessions) as session:
        catalogue.mark_shipped(session, redemption_id, shipped_by=admin.id)
    return RedirectResponse("/admin/rewards", status_code=303)


@router.post("/admin/rewards/batches")
def export_form(
    admin: AdminUser,
    rt: RuntimeDep,
    period: Annotated[str, Form()],
    provider: Annotated[str, Form()] = "paypal_batch",
) -> Response:
    with transaction(rt.sessions) as session:
        payouts.export_batch(
            session,
            rt.vault,
            provider,
            period,
            currency=rt.settings.payout_currency,
            exported_by=admin.id,
        )
    return RedirectResponse("/admin/rewards", status_code=303)


@router.post("/admin/rewards/batches/{batch_id}/paid")
def paid_form(batch_id: BatchId, admin: AdminUser, rt: RuntimeDep) -> Response:
    with transaction(rt.sessions) as session:
        payouts.mark_batch_paid(session, batch_id, paid_by=admin.id)
    return RedirectResponse("/admin/rewards", status_code=303)


@router.post("/admin/rewards/holds/{hold_id}/release")
def release_form(
    hold_id: int, admin: AdminUser, rt: RuntimeDep, note: Annotated[str, Form()]
) -> Response:
    if not note.strip():
        raise InvalidInput("invalid_request", "say what the review found")
    with transaction(rt.sessions) as session:
        holds.release_hold(session, hold_id, released_by=admin.id, note=note.strip())
    return RedirectResponse("/admin/rewards", status_code=303)
