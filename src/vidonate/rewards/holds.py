"""Holds: a donor's payouts and redemptions wait, for a stated reason.

Value leaves a donor's balance two ways, a catalogue redemption or a cash payout; both ask
:func:`require_no_hold` first. A hold is placed

* when the donor's payouts and redemptions of a calendar year would pass the tax-details
  threshold and the donor has supplied no tax details (``tax_details_required``); supplying
  them releases it;
* by the fraud scan, when one camera scene is donated from several accounts
  (``shared_camera_scene``) or accounts vote on each other's clips unusually often
  (``mutual_voting``); an operator releases those after review.

Every hold has a reason code, is shown to its donor, and is counted in the transparency
report (:func:`hold_counts`). A donor has at most one open hold per reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from vidonate.crypto.vault import Vault
from vidonate.db.engine import transaction
from vidonate.db.models import User, utcnow
from vidonate.db.models_rewards import Payout, PayoutHold, Redemption, TaxDetails
from vidonate.db.upsert import insert_unless_present
from vidonate.errors import Conflict, InvalidInput, NotFound

TAX_DETAILS_REQUIRED = "tax_details_required"
SHARED_CAMERA_SCENE = "shared_camera_scene"
MUTUAL_VOTING = "mutual_voting"
HOLD_REASONS = (TAX_DETAILS_REQUIRED, SHARED_CAMERA_SCENE, MUTUAL_VOTING)
_TAX_PURPOSE = "tax_details.sealed"
MAX_TAX_DETAILS_CHARS = 2000
T = TypeVar("T")


def open_holds(session: Session, user_id: int) -> list[PayoutHold]:
    return list(
        session.scalars(
            select(PayoutHold)
            .where(PayoutHold.user_id == user_id, PayoutHold.open_reason.is_not(None))
            .order_by(PayoutHold.id)
        )
    )


def review_list(session: Session) -> list[tuple[PayoutHold, str]]:
    """Every open hold with its account's handle, oldest first: the operators' list."""
    rows = session.execute(
        select(PayoutHold, User.handle)
        .join(User, User.id == PayoutHold.user_id)
        .where(PayoutHold.open_reason.is_not(None))
        .order_by(PayoutHold.id)
    ).all()
    return [(hold, handle) for hold, handle in rows]


def holds_of(session: Session, user_id: int) -> list[PayoutHold]:
    """Every hold of the donor, open and released, newest first."""
    return list(
        session.scalars(
            select(PayoutHold).where(PayoutHold.user_id == user_id).order_by(PayoutHold.id.desc())
        )
    )


def place_hold(session: Session, user_id: int, reason: str, detail: str = "") -> bool:
    """Hold the donor's payouts for ``reason``; False when such a hold is open already."""
    if reason not in HOLD_REASONS:
        raise ValueError(f"unknown hold reason {reason!r}")
    return insert_unless_present(
        session,
        PayoutHold,
        {
            "user_id": user_id,
            "reason": reason,
            "open_reason": reason,
            "detail": detail,
            "created_at": utcnow(),
            "release_note": "",
        },
        ("user_id", "open_reason"),
    )


def release_hold(
    session: Session, hold_id: int, *, released_by: int | None, note: str
) -> PayoutHold:
    hold = session.scalar(select(PayoutHold).where(PayoutHold.id == hold_id).with_for_update())
    if hold is None:
        raise NotFound("unknown_hold", f"there is no hold {hold_id}")
    if hold.open_reason is None:
        raise Conflict("hold_not_open", f"hold {hold_id} was released already")
    hold.open_reason = None
    hold.released_at = utcnow()
    hold.released_by = released_by
    hold.release_note = note
    session.flush()
    return hold


def require_no_hold(session: Session, user_id: int) -> None:
    """Refuse (409 ``payouts_held``) while any hold of the donor is open, naming them."""
    reasons = [hold.reason for hold in open_holds(session, user_id)]
    if reasons:
        raise Conflict(
            "payouts_held",
            f"payouts and redemptions of this account are held ({', '.join(reasons)}); "
            "see your holds",
        )


def _year_bounds(year: int) -> tuple[datetime, datetime]:
    return datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)


def yearly_total(session: Session, user_id: int, year: int) -> int:
    """Cents the donor received in ``year`` (UTC): redemptions, and payouts not cancelled."""
    start, end = _year_bounds(year)
    redeemed = session.scalar(
        select(func.coalesce(func.sum(Redemption.price_cents), 0)).where(
            Redemption.user_id == user_id,
            Redemption.created_at >= start,
            Redemption.created_at < end,
        )
    )
    paid = session.scalar(
        select(func.coalesce(func.sum(Payout.amount_cents), 0)).where(
            Payout.user_id == user_id,
            Payout.status != "cancelled",
            Payout.requested_at >= start,
            Payout.requested_at < end,
        )
    )
    return int(redeemed or 0) + int(paid or 0)


def has_tax_details(session: Session, user_id: int) -> bool:
    return session.get(TaxDetails, user_id) is not None


def check_tax_threshold(
    session: Session, user_id: int, adding_cents: int, threshold_cents: int, now: datetime
) -> None:
    """Before ``adding_cents`` more leave the donor's balance: past the year's threshold
    without tax details, refuse with :class:`HoldPlaced` (see :func:`spending`)."""
    if has_tax_details(session, user_id):
        return
    total = yearly_total(session, user_id, now.year) + adding_cents
    if total > threshold_cents:
        raise HoldPlaced(
            user_id,
            TAX_DETAILS_REQUIRED,
            f"{total} cents in {now.year} would pass the {threshold_cents}-cent threshold",
        )


class HoldPlaced(Conflict):
    """A request that spends was refused because it calls for a hold: :func:`spending`
    rolls the request back, places the hold in a transaction of its own (so that the
    donor and the report see it) and answers 409 ``payouts_held``."""

    def __init__(self, user_id: int, reason: str, detail: str) -> None:
        super().__init__(
            "payouts_held",
            f"payouts and redemptions of this account are held ({reason}); supply your "
            "tax details to go on",
        )
        self.user_id, self.reason, self.detail = user_id, reason, detail


def spending(sessions: sessionmaker[Session], spend: Callable[[Session], T]) -> T:
    """Run ``spend`` (a redemption or a payout request) in one transaction; when it is
    refused for a hold, keep the hold."""
    try:
        with transaction(sessions) as session:
            return spend(session)
    except HoldPlaced as refused:
        with transaction(sessions) as session:
            place_hold(session, refused.user_id, refused.reason, refused.detail)
        raise


def supply_tax_details(session: Session, vault: Vault, user: User, details: str) -> TaxDetails:
    """Keep the donor's tax details sealed under their key, and release a tax hold."""
    details = details.strip()
    if not details or len(details) > MAX_TAX_DETAILS_CHARS:
        raise InvalidInput(
            "bad_tax_details", f"tax details are 1 to {MAX_TAX_DETAILS_CHARS} characters"
        )
    sealed = vault.seal(
        vault.donor_key(session, user.id, create=True), _TAX_PURPOSE, details.encode()
    )
    row = session.get(TaxDetails, user.id)
    if row is None:
        row = TaxDetails(user_id=user.id, sealed=sealed, supplied_at=utcnow())
        session.add(row)
    else:
        row.sealed, row.supplied_at = sealed, utcnow()
    for hold in open_holds(session, user.id):
        if hold.reason == TAX_DETAILS_REQUIRED:
            release_hold(session, hold.id, released_by=None, note="tax details supplied")
    session.flush()
    return row


def read_tax_details(session: Session, vault: Vault, user_id: int) -> str | None:
    row = session.get(TaxDetails, user_id)
    if row is None:
        return None
    return vault.open(vault.donor_key(session, user_id), _TAX_PURPOSE, row.sealed).decode()


@dataclass(frozen=True)
class HoldCount:
    reason: str
    open: int
    released: int


def hold_counts(session: Session) -> list[HoldCount]:
    """Per reason, how many holds are open and how many were released: public counts."""
    rows = session.execute(
        select(PayoutHold.reason, PayoutHold.open_reason.is_(None), func.count()).group_by(
            PayoutHold.reason, PayoutHold.open_reason.is_(None)
        )
    ).all()
    counts = {reason: [0, 0] for reason in HOLD_REASONS}
    for reason, released, n in rows:
        counts.setdefault(reason, [0, 0])[1 if released else 0] += int(n)
    return [HoldCount(reason, o, r) for reason, (o, r) in counts.items()]
