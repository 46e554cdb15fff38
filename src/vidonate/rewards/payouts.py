"""Cash payouts: a donor asks for part of their balance; a provider pays it out.

The ledger moves the amount out of the balance when the payout is requested (donor →
``payouts``), so a balance is never paid twice; cancelling an unexported payout moves it
back. Payouts go out in batches, one per provider and closed calendar month (UTC):
exporting a month collects every payout requested up to its end and not yet in a batch
(of donors without an open hold), stores the file with a batch id derived from the
provider and the month, and marks them exported. Exporting the same month again returns
that stored file, byte for byte: never a second payment. A month still running cannot be
exported (``period_open``).

Two providers, one interface (:class:`PayoutProvider`, a file from the batch's items):

* ``paypal_batch``: the request body of PayPal's Payouts API (``POST /v1/payments/payouts``:
  ``sender_batch_header`` with ``sender_batch_id``, then ``items`` with ``recipient_type``,
  ``amount{value, currency}``, ``receiver``, ``sender_item_id``, ``note``); PayPal itself
  refuses a ``sender_batch_id`` it has seen in the last 30 days, a second guard;
* ``manual``: a CSV work list for an operator who pays by hand (or fulfils from the
  catalogue), who then marks the batch paid.

Tax details are never in a file: a batch holds a receiver, an amount and ids only.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from vidonate.crypto.vault import Vault
from vidonate.db.models import User, utcnow
from vidonate.db.models_rewards import Payout, PayoutBatch, PayoutDestination, PayoutHold
from vidonate.errors import Conflict, InvalidInput, NotFound
from vidonate.rewards import holds, ledger
from vidonate.rewards.catalogue import check_client_key

REQUESTED, EXPORTED, PAID, CANCELLED = "requested", "exported", "paid", "cancelled"
_RECEIVER_PURPOSE = "payout_destinations.receiver"
_PERIOD = re.compile(r"^(\d{4})-(\d{2})$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,63}$")
MIN_PAYOUT_CENTS = 100
MAX_PAYOUT_CENTS = 2_000_000


@dataclass(frozen=True)
class BatchItem:
    payout_id: int
    handle: str
    receiver: str
    amount_cents: int


class PayoutProvider(Protocol):
    name: str
    needs_receiver: bool

    def batch_file(self, sender_batch_id: str, currency: str, items: list[BatchItem]) -> str:
        """The file that pays ``items``; the same arguments give the same bytes."""
        ...


def _amount(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


class PayPalBatchProvider:
    name = "paypal_batch"
    needs_receiver = True

    def batch_file(self, sender_batch_id: str, currency: str, items: list[BatchItem]) -> str:
        body = {
            "sender_batch_header": {
                "sender_batch_id": sender_batch_id,
                "email_subject": "Your vidonate reward",
                "email_message": "Thank you for donating clips to vidonate.",
            },
            "items": [
                {
                    "recipient_type": "EMAIL",
                    "amount": {"value": _amount(item.amount_cents), "currency": currency},
                    "receiver": item.receiver,
                    "sender_item_id": f"vidonate-payout-{item.payout_id}",
                    "note": "vidonate reward for accepted clips",
                }
                for item in items
            ],
        }
        return json.dumps(body, indent=2, sort_keys=True) + "\n"


class ManualProvider:
    name = "manual"
    needs_receiver = False

    def batch_file(self, sender_batch_id: str, currency: str, items: list[BatchItem]) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["batch", "payout", "handle", "amount", "currency"])
        for item in items:
            writer.writerow(
                [sender_batch_id, item.payout_id, item.handle, _amount(item.amount_cents), currency]
            )
        return out.getvalue()


PROVIDERS: dict[str, PayoutProvider] = {
    provider.name: provider for provider in (PayPalBatchProvider(), ManualProvider())
}


def provider_named(name: str) -> PayoutProvider:
    try:
        return PROVIDERS[name]
    except KeyError:
        raise InvalidInput(
            "unknown_payout_provider", f"a payout provider is one of {', '.join(PROVIDERS)}"
        ) from None


def period_of(moment: datetime) -> str:
    return f"{moment.year:04d}-{moment.month:02d}"


def period_end(period: str) -> datetime:
    """The first instant after the month ``period`` ("YYYY-MM")."""
    match = _PERIOD.match(period)
    if not match or not 1 <= int(match[2]) <= 12 or int(match[1]) < 2000:
        raise InvalidInput("bad_period", "a period is a month, YYYY-MM")
    year, month = int(match[1]), int(match[2])
    return datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)


def set_destination(
    session: Session, vault: Vault, user: User, receiver: str, provider: str = "paypal_batch"
) -> PayoutDestination:
    """Where the donor's cash payouts go (a PayPal account's email), sealed under their key."""
    provider_named(provider)
    receiver = receiver.strip()
    if not _EMAIL.match(receiver):
        raise InvalidInput("bad_payout_receiver", "a PayPal receiver is an email address")
    sealed = vault.seal(
        vault.donor_key(session, user.id, create=True), _RECEIVER_PURPOSE, receiver.encode()
    )
    row = session.get(PayoutDestination, user.id)
    if row is None:
        row = PayoutDestination(user_id=user.id, provider=provider, sealed_receiver=sealed)
        session.add(row)
    row.provider, row.sealed_receiver, row.updated_at = provider, sealed, utcnow()
    session.flush()
    return row


def receiver_of(session: Session, vault: Vault, user_id: int) -> str | None:
    row = session.get(PayoutDestination, user_id)
    if row is None:
        return None
    return vault.open(
        vault.donor_key(session, user_id), _RECEIVER_PURPOSE, row.sealed_receiver
    ).decode()


def request_payout(
    session: Session,
    donor: User,
    amount_cents: int,
    *,
    client_key: str,
    provider: str,
    tax_threshold_cents: int,
    now: datetime | None = None,
) -> Payout:
    """Take ``amount_cents`` out of the donor's balance for a payout; the same
    ``client_key`` again returns the first request."""
    check_client_key(client_key)
    payer = provider_named(provider)
    now = now or utcnow()
    account = ledger.donor_account(session, donor.id)
    ledger.lock(session, account)
    earlier = session.scalar(
        select(Payout).where(Payout.user_id == donor.id, Payout.client_key == client_key)
    )
    if earlier is not None:
        if (earlier.amount_cents, earlier.provider) != (amount_cents, provider):
            raise Conflict("client_key_reused", "this client key asked for another payout")
        return earlier
    if not MIN_PAYOUT_CENTS <= amount_cents <= MAX_PAYOUT_CENTS:
        raise InvalidInput(
            "bad_payout_amount",
            f"a payout is {MIN_PAYOUT_CENTS} to {MAX_PAYOUT_CENTS} cents",
        )
    if payer.needs_receiver and session.get(PayoutDestination, donor.id) is None:
        raise InvalidInput(
            "payout_destination_required", "give the PayPal address to pay out to first"
        )
    holds.require_no_hold(session, donor.id)
    holds.check_tax_threshold(session, donor.id, amount_cents, tax_threshold_cents, now)
    transfer = ledger.spend(
        session,
        "payout",
        account,
        ledger.payouts_account(session),
        amount_cents,
        memo=f"payout by {provider}",
    )
    payout = Payout(
        user_id=donor.id,
        client_key=client_key,
        amount_cents=amount_cents,
        provider=provider,
        status=REQUESTED,
        period=period_of(now),
        ledger_transaction_id=transfer.id,
        requested_at=now,
    )
    session.add(payout)
    session.flush()
    return payout


def cancel_payout(session: Session, donor: User, payout_id: int) -> Payout:
    """Give an unexported payout back to the balance (a reversing transfer)."""
    ledger.lock(session, ledger.donor_account(session, donor.id))
    payout = session.get(Payout, payout_id)
    if payout is None or payout.user_id != donor.id:
        raise NotFound("unknown_payout", f"you have no payout {payout_id}")
    if payout.status != REQUESTED:
        raise Conflict("payout_not_cancellable", f"payout {payout_id} is {payout.status}")
    ledger.post(
        session,
        "payout_cancel",
        [
            (ledger.payouts_account(session), -payout.amount_cents),
            (ledger.donor_account(session, donor.id), payout.amount_cents),
        ],
        memo=f"payout {payout.id} cancelled",
    )
    payout.status = CANCELLED
    session.flush()
    return payout


def payouts_of(session: Session, user: User) -> list[Payout]:
    return list(
        session.scalars(select(Payout).where(Payout.user_id == user.id).order_by(Payout.id.desc()))
    )


def export_batch(
    session: Session,
    vault: Vault,
    provider: str,
    period: str,
    *,
    currency: str,
    exported_by: int | None,
    now: datetime | None = None,
) -> PayoutBatch:
    """The batch of ``provider`` for the closed month ``period``: made once, then returned
    as it was made."""
    payer = provider_named(provider)
    end = period_end(period)
    if end > (now or utcnow()):
        raise Conflict("period_open", f"{period} has not ended; export it after it has")
    # Exports take turns (one account row lock), so a second export waits, then finds it.
    ledger.lock(session, ledger.payouts_account(session))
    batch = session.scalar(
        select(PayoutBatch).where(PayoutBatch.provider == provider, PayoutBatch.period == period)
    )
    if batch is not None:
        return batch
    held = select(PayoutHold.user_id).where(PayoutHold.open_reason.is_not(None))
    due = list(
        session.scalars(
            select(Payout)
            .where(
                Payout.provider == provider,
                Payout.status == REQUESTED,
                Payout.batch_id.is_(None),
                Payout.requested_at < end,
                Payout.user_id.not_in(held),
            )
            .order_by(Payout.id)
        )
    )
    items = []
    for payout in due:
        user = session.get(User, payout.user_id)
        assert user is not None
        receiver = receiver_of(session, vault, user.id) if payer.needs_receiver else ""
        if receiver is None:  # the destination was removed since: it waits for a new one
            continue
        items.append(BatchItem(payout.id, user.handle, receiver, payout.amount_cents))
    sender_batch_id = f"vidonate-{provider}-{period}"
    body = payer.batch_file(sender_batch_id, currency, items)
    batch = PayoutBatch(
        sender_batch_id=sender_batch_id,
        provider=provider,
        period=period,
        items=len(items),
        total_cents=sum(item.amount_cents for item in items),
        body=body,
        body_sha256=hashlib.sha256(body.encode()).hexdigest(),
        created_by=exported_by,
        created_at=utcnow(),
    )
    session.add(batch)
    session.flush()
    exported = {item.payout_id for item in items}
    for payout in due:
        if payout.id in exported:
            payout.status, payout.batch_id = EXPORTED, batch.id
    session.flush()
    return batch


def mark_batch_paid(session: Session, batch_id: int, *, paid_by: int | None) -> PayoutBatch:
    batch = session.get(PayoutBatch, batch_id)
    if batch is None:
        raise NotFound("unknown_payout_batch", f"there is no payout batch {batch_id}")
    now = utcnow()
    for payout in session.scalars(select(Payout).where(Payout.batch_id == batch.id)):
        if payout.status == EXPORTED:
            payout.status, payout.paid_at, payout.paid_by = PAID, now, paid_by
    session.flush()
    return batch


def batches(session: Session) -> list[PayoutBatch]:
    return list(session.scalars(select(PayoutBatch).order_by(PayoutBatch.id.desc())))
