"""The public transparency report: what vidonate collected, paid, deleted, read and handed over.

Every number is an SQL aggregate over the tables that are the record of what happened:
donation status events, the ledger, withdrawals, the access log and disclosures. Nothing
here names a donor or shows one donor's amount; the payout distribution is withheld
below :data:`MIN_DONORS_FOR_DISTRIBUTION` paid donors. ``docs/transparency.md`` says
precisely what each number counts.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, Extract, Select, and_, case, exists, func, select
from sqlalchemy.orm import QueryableAttribute, Session, aliased

from vidonate.campaigns.service import get_campaign
from vidonate.db import audit
from vidonate.db.models import (
    AuditEntry,
    Campaign,
    Disclosure,
    Donation,
    DonationEvent,
    DonationStatus,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    Withdrawal,
    utcnow,
)
from vidonate.privacy.disclosures import list_disclosures
from vidonate.privacy.spending_report import Spending, spending_section
from vidonate.privacy.stats import redaction_stats
from vidonate.review.agreement import MIN_CLIPS_FOR_AGREEMENT, agreement_by_category
from vidonate.review.service import REJECT_REASONS
from vidonate.rewards import ledger

# Below this many paid donors the median, the top-1% share and the amount bands would
# come close to telling one donor's earnings to their neighbours; they are withheld.
MIN_DONORS_FOR_DISTRIBUTION = 5
TOP_SHARE_PERCENT = 1
# Donors are counted in these ranges of total earnings, never listed with their amounts.
AMOUNT_BANDS_CENTS: tuple[tuple[int, int | None], ...] = (
    (1, 500),
    (500, 2_000),
    (2_000, 5_000),
    (5_000, 10_000),
    (10_000, 50_000),
    (50_000, None),
)
UNSPECIFIED = "unspecified"
PENDING_STATUSES = (DonationStatus.received, DonationStatus.processing, DonationStatus.in_review)


class CampaignRef(BaseModel):
    slug: str
    name: str


class ClipCounts(BaseModel):
    """Clips received, and what became of them. Received splits without overlap into
    accepted + rejected + failed + withdrawn_before_decision + pending."""

    received: int = Field(description="donations whose upload completed (they reached 'received')")
    accepted: int = Field(description="received clips the reviewers accepted, withdrawn or not")
    accepted_withdrawn_since: int = Field(
        description="of the accepted clips, those the donor withdrew afterwards"
    )
    rejected: int = Field(description="received clips the reviewers rejected, withdrawn or not")
    rejected_by_reason: dict[str, int] = Field(
        description="rejected clips by the reason the reviewers gave; every reason, zeros too"
    )
    rejected_withdrawn_since: int = Field(
        description="of the rejected clips, those the donor withdrew afterwards"
    )
    failed: int = Field(description="received clips whose processing failed (never reviewed)")
    withdrawn_before_decision: int = Field(
        description="received clips the donor withdrew before any review decision"
    )
    pending: int = Field(description="received clips still being processed or waiting for review")
    duplicates_caught: int = Field(
        description="received clips found to be a near-duplicate of an earlier clip"
    )
    staged_received: int = Field(
        description="received clips marked staged (a re-enactment); after a decision, as the "
        "accepting reviewers labelled it, before one, as the donor declared it"
    )
    staged_share_of_received: float | None = Field(
        description="staged_received / received; null when nothing was received"
    )
    staged_accepted: int = Field(description="accepted clips the reviewers labelled staged")
    staged_share_of_accepted: float | None = Field(
        description="staged_accepted / accepted; null when nothing was accepted"
    )
    accepted_unpaid_by_reason: dict[str, int] = Field(
        description="accepted clips that earned nothing, by reason (cap, budget, duplicate…)"
    )
    donors: int = Field(description="distinct donors with at least one received clip")


class AmountBand(BaseModel):
    from_cents: int = Field(description="lowest total earnings in the band, inclusive")
    to_cents: int | None = Field(description="upper end, exclusive; null for the last band")
    donors: int


class Payments(BaseModel):
    paid_cents: int = Field(
        description="all money credited to donor accounts in the ledger, in cents; money "
        "earned stays counted after the donor withdraws the clip"
    )
    paid_clips: int = Field(description="clips whose reward was credited")
    paid_donors: int = Field(description="donors credited more than 0")
    distribution_withheld: bool = Field(
        description="true when fewer than min_donors_for_distribution donors were paid: the "
        "median, the top share and the bands below are then null"
    )
    median_per_paid_donor_cents: int | None = Field(
        description="median of the paid donors' total earnings (mean of the middle two for "
        "an even count, rounded down to a cent)"
    )
    top_share_donors: int | None = Field(
        description="how many donors the top 1% is: 1% of paid donors rounded up, at least 1"
    )
    top_share_of_paid: float | None = Field(
        description="share of paid_cents earned by the top_share_donors best-paid donors"
    )
    donors_by_amount: list[AmountBand] | None = Field(
        description="paid donors counted by range of total earnings"
    )


class Withdrawals(BaseModel):
    requests: int = Field(description="withdrawal requests, of one clip or of everything")
    by_scope: dict[str, int] = Field(description="requests by scope: 'clip' or 'all'")
    clips: int = Field(description="clips the requests withdrew")
    unreadable_median_seconds: float | None = Field(
        description="median time from request to the destruction of the keys"
    )
    unreadable_max_seconds: float | None = Field(description="longest such time")
    blob_deletion_done: int = Field(description="requests whose stored files were deleted")
    blob_deletion_pending: int = Field(description="requests whose files await deletion")
    blobs_deleted: int = Field(description="stored files deleted for withdrawals")
    blob_deletion_median_seconds: float | None = Field(
        description="median time from request to file deletion, over the done requests"
    )
    blob_deletion_max_seconds: float | None = Field(description="longest such time")


class Reads(BaseModel):
    total: int = Field(description="entries in the hash-chained access log of clip content")
    by_purpose: dict[str, int] = Field(description="entries by purpose; every purpose, zeros too")


class DisclosureEntry(BaseModel):
    recipient: str
    legal_basis: str
    description: str
    donations: int
    disclosed_at: datetime


class Disclosures(BaseModel):
    count: int = Field(description="disclosures of clips or data to anyone outside vidonate")
    donations: int = Field(description="clips disclosed, summed over the disclosures")
    entries: list[DisclosureEntry] = Field(description="every disclosure, newest first")


class Redaction(BaseModel):
    clips_redacted: int = Field(description="clips stored redacted (faces and text pixelated)")
    clips_flagged: int = Field(
        description="redacted clips the independent audit flagged: a face still found, or "
        "text that PP-OCR read in the original still read in the redacted clip"
    )
    clips_with_legible_text: int = Field(description="flagged clips with text still legible")
    miss_rate: float = Field(description="clips_flagged / clips_redacted (0 when none)")
    mean_redacted_share: float | None = Field(
        description="mean share of the picture under a mosaic, over redacted clips"
    )


class CategoryAgreement(BaseModel):
    clips: int = Field(description="decided clips of the category with two votes or more")
    alpha: float | None = Field(
        description="Krippendorff's alpha (nominal) of their accept/reject votes: 1 full "
        "agreement, 0 chance; null below min_clips_for_agreement clips, or when every "
        "vote was the same"
    )


class TransparencyReport(BaseModel):
    computed_at: datetime = Field(description="when these numbers were computed (UTC)")
    campaign: CampaignRef | None = Field(description="the campaign reported on; null: all")
    min_donors_for_distribution: int
    clips: ClipCounts = Field(description="for the campaign, or for all campaigns")
    payments: Payments = Field(description="for the campaign, or for all campaigns")
    withdrawals: Withdrawals = Field(description="always for the whole program")
    reads: Reads = Field(description="always for the whole program")
    disclosures: Disclosures = Field(description="always for the whole program")
    redaction: Redaction = Field(description="always for the whole program")
    spending: Spending = Field(description="redemptions, payouts and holds: the whole program")
    min_clips_for_agreement: int
    review_agreement: dict[str, CategoryAgreement] = Field(
        description="reviewers' agreement by category, for the campaign or for all campaigns"
    )


def build_report(session: Session, campaign: str | None = None) -> TransparencyReport:
    """The report for one campaign (slug or id), or for every campaign when ``None``.

    Withdrawals, reads and disclosures are not tied to one campaign (a donor withdraws
    everything at once; a court asks for what it asks), so they always cover the program.
    """
    computed_at = utcnow()
    chosen = get_campaign(session, campaign) if campaign is not None else None
    return TransparencyReport(
        computed_at=computed_at,
        campaign=CampaignRef(slug=chosen.slug, name=chosen.name) if chosen else None,
        min_donors_for_distribution=MIN_DONORS_FOR_DISTRIBUTION,
        clips=_clip_counts(session, chosen),
        payments=_payments(session, chosen),
        withdrawals=_withdrawals(session),
        reads=_reads(session),
        disclosures=_disclosures(session),
        redaction=_redaction(session),
        spending=spending_section(session),
        min_clips_for_agreement=MIN_CLIPS_FOR_AGREEMENT,
        review_agreement={
            category: CategoryAgreement(clips=found.clips, alpha=found.alpha)
            for category, found in agreement_by_category(session, _in_campaign(chosen)).items()
        },
    )


def _redaction(session: Session) -> Redaction:
    stats = redaction_stats(session)
    return Redaction(
        clips_redacted=stats.clips_redacted,
        clips_flagged=stats.clips_flagged,
        clips_with_legible_text=stats.clips_with_legible_text,
        miss_rate=stats.miss_rate,
        mean_redacted_share=stats.mean_redacted_share,
    )


def _was_received() -> ColumnElement[bool]:
    """The upload completed: the donation has a transition to 'received'. Its status
    alone cannot say so, as 'failed' and 'withdrawn' are also reached from 'uploading'."""
    return exists().where(
        DonationEvent.donation_id == Donation.id,
        DonationEvent.to_status == DonationStatus.received,
    )


def _in_campaign(campaign: Campaign | None) -> list[ColumnElement[bool]]:
    """Donated clips (of ``campaign``, if given). Scenes made by vidonate's synthesizer
    are no donations and are never counted as such."""
    donated = Donation.synthetic.is_(False)
    return [donated] if campaign is None else [donated, Donation.campaign_id == campaign.id]


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _clip_counts(session: Session, campaign: Campaign | None) -> ClipCounts:
    # The review decision is the one 'accepted' or 'rejected' event (the status machine
    # allows only one); it stays true after a withdrawal changes the status.
    decision = aliased(DonationEvent)
    rows = session.execute(
        select(
            Donation.status,
            decision.to_status,
            decision.reason,
            Donation.unpaid_reason,
            func.count(Donation.id),
            func.sum(case((Donation.staged.is_(True), 1), else_=0)),
            func.sum(case((Donation.duplicate_of.is_not(None), 1), else_=0)),
        )
        .outerjoin(
            decision,
            and_(
                decision.donation_id == Donation.id,
                decision.to_status.in_([DonationStatus.accepted, DonationStatus.rejected]),
            ),
        )
        .where(_was_received(), *_in_campaign(campaign))
        .group_by(Donation.status, decision.to_status, decision.reason, Donation.unpaid_reason)
    ).all()
    received = accepted = accepted_withdrawn = rejected = rejected_withdrawn = 0
    failed = withdrawn_undecided = pending = staged = staged_accepted = duplicates = 0
    by_reason = dict.fromkeys(REJECT_REASONS, 0)
    unpaid: dict[str, int] = {}
    for status, decided, reason, unpaid_reason, n, n_staged, n_duplicates in rows:
        received += n
        staged += int(n_staged or 0)
        duplicates += int(n_duplicates or 0)
        withdrawn = status == DonationStatus.withdrawn
        if decided == DonationStatus.accepted:
            accepted += n
            accepted_withdrawn += n if withdrawn else 0
            staged_accepted += int(n_staged or 0)
            if unpaid_reason:
                unpaid[unpaid_reason] = unpaid.get(unpaid_reason, 0) + n
        elif decided == DonationStatus.rejected:
            rejected += n
            rejected_withdrawn += n if withdrawn else 0
            key = reason or UNSPECIFIED
            by_reason[key] = by_reason.get(key, 0) + n
        elif status == DonationStatus.failed:
            failed += n
        elif withdrawn:
            withdrawn_undecided += n
        elif status in PENDING_STATUSES:
            pending += n
    donors = session.scalar(
        select(func.count(func.distinct(Donation.donor_id))).where(
            _was_received(), *_in_campaign(campaign)
        )
    )
    return ClipCounts(
        received=received,
        accepted=accepted,
        accepted_withdrawn_since=accepted_withdrawn,
        rejected=rejected,
        rejected_by_reason=by_reason,
        rejected_withdrawn_since=rejected_withdrawn,
        failed=failed,
        withdrawn_before_decision=withdrawn_undecided,
        pending=pending,
        duplicates_caught=duplicates,
        staged_received=staged,
        staged_share_of_received=_share(staged, received),
        staged_accepted=staged_accepted,
        staged_share_of_accepted=_share(staged_accepted, accepted),
        accepted_unpaid_by_reason=dict(sorted(unpaid.items())),
        donors=int(donors or 0),
    )


def _payments(session: Session, campaign: Campaign | None) -> Payments:
    # Credits (positive entries) on donor accounts: what donors earned. A later payout to
    # a bank would debit the account and must not make the total look smaller.
    credits = [LedgerAccount.kind == ledger.DONOR, LedgerEntry.amount_cents > 0]
    if campaign is not None:
        credits.append(
            LedgerTransaction.donation_id.in_(
                select(Donation.id).where(Donation.campaign_id == campaign.id)
            )
        )
    credited = (
        select(LedgerEntry.amount_cents, LedgerAccount.user_id, LedgerTransaction.donation_id)
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .where(*credits)
        .subquery()
    )
    paid_cents, paid_clips = session.execute(
        select(
            func.coalesce(func.sum(credited.c.amount_cents), 0),
            func.count(func.distinct(credited.c.donation_id)),
        )
    ).one()
    per_donor = (
        select(credited.c.user_id, func.sum(credited.c.amount_cents).label("cents"))
        .group_by(credited.c.user_id)
        .subquery()
    )
    cents = per_donor.c.cents
    paid_donors = int(session.scalar(select(func.count()).select_from(per_donor)) or 0)
    paid_cents = int(paid_cents)
    if paid_donors < MIN_DONORS_FOR_DISTRIBUTION:
        return Payments(
            paid_cents=paid_cents,
            paid_clips=int(paid_clips),
            paid_donors=paid_donors,
            distribution_withheld=True,
            median_per_paid_donor_cents=None,
            top_share_donors=None,
            top_share_of_paid=None,
            donors_by_amount=None,
        )
    middle = _middle_values(session, select(cents), cents, paid_donors)
    top_donors = max(1, math.ceil(paid_donors * TOP_SHARE_PERCENT / 100))
    top = select(cents).order_by(cents.desc()).limit(top_donors).subquery()
    top_cents = int(session.scalar(select(func.sum(top.c.cents))) or 0)
    band_counts = session.execute(
        select(
            *(
                func.sum(
                    case(
                        (cents >= low if high is None else and_(cents >= low, cents < high), 1),
                        else_=0,
                    )
                )
                for low, high in AMOUNT_BANDS_CENTS
            )
        ).select_from(per_donor)
    ).one()
    return Payments(
        paid_cents=paid_cents,
        paid_clips=int(paid_clips),
        paid_donors=paid_donors,
        distribution_withheld=False,
        median_per_paid_donor_cents=math.floor(sum(middle) / len(middle)),
        top_share_donors=top_donors,
        top_share_of_paid=_share(top_cents, paid_cents),
        donors_by_amount=[
            AmountBand(from_cents=low, to_cents=high, donors=int(n or 0))
            for (low, high), n in zip(AMOUNT_BANDS_CENTS, band_counts, strict=True)
        ],
    )


def _middle_values(
    session: Session, query: Select[Any], order_by: ColumnElement[Any], count: int
) -> list[float]:
    """The one (odd count) or two (even count) middle values: a median any SQL can do."""
    rows = session.scalars(query.order_by(order_by).offset((count - 1) // 2).limit(2 - count % 2))
    return [float(v) for v in rows]


def _median(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _seconds_between(
    session: Session,
    start: QueryableAttribute[datetime | None],
    end: QueryableAttribute[datetime | None],
) -> ColumnElement[float] | Extract:
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", end - start)
    # SQLite keeps times as text; julianday() reads them to the millisecond.
    return (func.julianday(end) - func.julianday(start)) * 86_400.0


def _rounded(seconds: float | None) -> float | None:
    return None if seconds is None else round(float(seconds), 3)


def _withdrawals(session: Session) -> Withdrawals:
    to_unreadable = _seconds_between(session, Withdrawal.requested_at, Withdrawal.unreadable_at)
    to_deleted = _seconds_between(session, Withdrawal.requested_at, Withdrawal.blobs_deleted_at)
    done = Withdrawal.blobs_deleted_at.is_not(None)
    requests, clips, blobs, n_done, unreadable_max, deleted_max = session.execute(
        select(
            func.count(Withdrawal.id),
            func.coalesce(func.sum(Withdrawal.clips), 0),
            func.coalesce(func.sum(Withdrawal.blobs_deleted), 0),
            func.count(Withdrawal.blobs_deleted_at),
            func.max(to_unreadable),
            func.max(to_deleted),
        )
    ).one()
    by_scope = dict(
        session.execute(
            select(Withdrawal.scope, func.count(Withdrawal.id)).group_by(Withdrawal.scope)
        ).all()
    )
    return Withdrawals(
        requests=int(requests),
        by_scope={"clip": 0, "all": 0, **{k: int(v) for k, v in by_scope.items()}},
        clips=int(clips),
        unreadable_median_seconds=_rounded(
            _median(_middle_values(session, select(to_unreadable), to_unreadable, requests))
            if requests
            else None
        ),
        unreadable_max_seconds=_rounded(unreadable_max),
        blob_deletion_done=int(n_done),
        blob_deletion_pending=int(requests) - int(n_done),
        blobs_deleted=int(blobs),
        blob_deletion_median_seconds=_rounded(
            _median(_middle_values(session, select(to_deleted).where(done), to_deleted, n_done))
            if n_done
            else None
        ),
        blob_deletion_max_seconds=_rounded(deleted_max),
    )


def _reads(session: Session) -> Reads:
    counted = audit.reads_by_purpose(session)
    by_purpose = {purpose: counted.get(purpose, 0) for purpose in audit.PURPOSES}
    by_purpose.update({p: n for p, n in counted.items() if p not in by_purpose})
    total = session.scalar(select(func.count(AuditEntry.id))) or 0
    return Reads(total=int(total), by_purpose=by_purpose)


def _disclosures(session: Session) -> Disclosures:
    count, donations = session.execute(
        select(func.count(Disclosure.id), func.coalesce(func.sum(Disclosure.donations), 0))
    ).one()
    return Disclosures(
        count=int(count),
        donations=int(donations),
        entries=[
            DisclosureEntry(
                recipient=d.recipient,
                legal_basis=d.legal_basis,
                description=d.description,
                donations=d.donations,
                disclosed_at=d.disclosed_at,
            )
            for d in list_disclosures(session)
        ],
    )


# Presentation shared by the page and the CLI: the same words for the same numbers.

REASON_LABELS = {
    "not_an_incident": "no theft or tampering shown",
    "wrong_category": "wrong category",
    "poor_quality": "poor quality",
    "privacy_risk": "privacy risk",
    "staged_not_disclosed": "undisclosed re-enactment",
    "duplicate": "duplicate",
    "other": "other",
    UNSPECIFIED: "no reason recorded",
}


def money(cents: int | None) -> str:
    return "—" if cents is None else f"${cents / 100:,.2f}"


def percent(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.1f}%"


def duration(seconds: float | None) -> str:
    """Seconds for a person: "0.25 s", "42 s", "3 min 5 s", "2 h 10 min", "3 d 4 h"."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.2f} s" if seconds < 10 else f"{seconds:.0f} s"
    days, rest = divmod(round(seconds), 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s"


def band_label(band: AmountBand) -> str:
    if band.to_cents is None:
        return f"{money(band.from_cents)} or more"
    return f"{money(band.from_cents)} to {money(band.to_cents - 1)}"


def _row(label: str, value: object, note: str = "", indent: int = 2) -> str:
    line = f"{' ' * indent}{label:<{36 - indent}}{value!s:>10}"
    return f"{line}  {note}" if note else line


def render_text(report: TransparencyReport) -> str:
    """The report as plain text, for the terminal."""
    c, p, w = report.clips, report.payments, report.withdrawals
    scope = f"campaign {report.campaign.slug}" if report.campaign else "all campaigns"
    lines = [
        f"vidonate transparency report: {scope}",
        f"computed {report.computed_at:%Y-%m-%d %H:%M:%S} UTC",
        "",
        f"Clips ({scope})",
        _row("received (upload completed)", c.received, f"from {c.donors} donors"),
        _row("accepted", c.accepted, f"({c.accepted_withdrawn_since} withdrawn since)"),
        _row("rejected", c.rejected, f"({c.rejected_withdrawn_since} withdrawn since)"),
        *(
            _row(REASON_LABELS.get(reason, reason), n, indent=4)
            for reason, n in c.rejected_by_reason.items()
        ),
        _row("processing failed", c.failed),
        _row("withdrawn before a decision", c.withdrawn_before_decision),
        _row("still in processing or review", c.pending),
        _row("duplicates caught", c.duplicates_caught),
        _row("staged, of received", c.staged_received, percent(c.staged_share_of_received)),
        _row("staged, of accepted", c.staged_accepted, percent(c.staged_share_of_accepted)),
        *(
            _row(f"accepted, unpaid: {reason}", n)
            for reason, n in c.accepted_unpaid_by_reason.items()
        ),
        "",
        f"Money ({scope})",
        _row(
            "paid to donors",
            money(p.paid_cents),
            f"for {p.paid_clips} clips, to {p.paid_donors} donors",
        ),
    ]
    if p.distribution_withheld:
        lines.append(
            f"  distribution withheld: fewer than {report.min_donors_for_distribution} "
            "donors were paid"
        )
    else:
        lines += [
            _row("median per paid donor", money(p.median_per_paid_donor_cents)),
            _row(
                f"top 1% of donors ({p.top_share_donors}) earned",
                percent(p.top_share_of_paid),
                "of the money",
            ),
            "  paid donors by total earnings",
            *(_row(band_label(b), b.donors, indent=4) for b in p.donors_by_amount or []),
        ]
    lines += [
        "",
        "Withdrawals (whole program)",
        _row(
            "requests",
            w.requests,
            f"({w.by_scope.get('clip', 0)} of one clip, {w.by_scope.get('all', 0)} of all)",
        ),
        _row("clips withdrawn", w.clips),
        _row(
            "made unreadable: median",
            duration(w.unreadable_median_seconds),
            f"longest {duration(w.unreadable_max_seconds)}",
        ),
        _row(
            "files deleted: median",
            duration(w.blob_deletion_median_seconds),
            f"longest {duration(w.blob_deletion_max_seconds)}",
        ),
        _row(
            "files deleted: requests done",
            w.blob_deletion_done,
            f"{w.blob_deletion_pending} pending, {w.blobs_deleted} files deleted",
        ),
        "",
        "Reads of clip content (whole program)",
        _row("total", report.reads.total),
        *(_row(purpose, n, indent=4) for purpose, n in report.reads.by_purpose.items()),
        "",
        "Disclosures to third parties (whole program)",
        _row("disclosures", report.disclosures.count, f"of {report.disclosures.donations} clips"),
        *(
            f"    {e.disclosed_at:%Y-%m-%d}  {e.recipient} ({e.legal_basis}): {e.donations} clips"
            + (f"; {e.description}" if e.description else "")
            for e in report.disclosures.entries
        ),
        "",
        "Redaction (whole program)",
        _row("clips redacted", report.redaction.clips_redacted),
        _row(
            "flagged by the audit",
            report.redaction.clips_flagged,
            f"miss rate {percent(report.redaction.miss_rate)}, "
            f"{report.redaction.clips_with_legible_text} with text still legible",
        ),
        _row("picture pixelated, mean", percent(report.redaction.mean_redacted_share)),
        "",
        "Balances spent, and holds (whole program)",
        _row(
            "redemptions",
            report.spending.redemptions,
            f"{money(report.spending.redeemed_cents)}: "
            + ", ".join(f"{n} {kind}" for kind, n in report.spending.redemptions_by_kind.items()),
        ),
        _row(
            "cash payouts",
            report.spending.payouts,
            f"{money(report.spending.payout_cents)}; {report.spending.payouts_paid} paid "
            f"({money(report.spending.payout_paid_cents)})",
        ),
        *(
            _row(f"holds: {reason}", h.open, f"open, {h.released} released", indent=4)
            for reason, h in report.spending.holds.items()
        ),
        "",
        f"Reviewers' agreement ({scope}; Krippendorff's alpha, 1 = full, 0 = chance)",
        *(
            _row(
                category,
                "—" if found.alpha is None else f"{found.alpha:.2f}",
                f"over {found.clips} clips",
            )
            for category, found in report.review_agreement.items()
        ),
    ]
    return "\n".join(lines) + "\n"
