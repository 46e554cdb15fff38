"""Data export: one zip holding everything vidonate keeps about a donor.

``account.json`` (account, roles, cameras, API token names), ``consents.json`` (each
accepted consent text, whole), ``donations.json`` (every clip's record and status history),
``reviews.json`` (the votes on the donor's clips, without who cast them: reviewers are
people too), ``ledger.json`` (every booking on the donor's account, and the balance),
``withdrawals.json``, ``access-log.json`` (the access-log entries about the donor's clips,
this export's own reads included) and ``clips/<id>/video.mp4`` and ``thumbnail.jpg``
decrypted, for every clip still held.

The zip is streamed as it is built: clips are decrypted a chunk at a time straight into
the response, so no plaintext copy is written to disk. Every clip read is logged with the
purpose ``export`` before the first byte leaves.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from vidonate.crypto.vault import Vault
from vidonate.db.engine import transaction
from vidonate.db.models import (
    ApiToken,
    AuditEntry,
    Camera,
    Campaign,
    ConsentAcceptance,
    ConsentText,
    Donation,
    DonationStatus,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    ReviewVote,
    User,
    Withdrawal,
    utcnow,
)
from vidonate.donations.content import ClipContent, ContentKind, open_content
from vidonate.donations.service import history
from vidonate.privacy.export_rewards import rewards_document

README = """\
Everything vidonate keeps about you, as of {at} (UTC).

account.json       your account, roles, cameras and the names of your API tokens
consents.json      every consent text you accepted, in full, and when
donations.json     every clip you donated: what you told us, what processing found,
                   its status history and what it earned
reviews.json       the reviewers' votes on your clips (without who cast them)
ledger.json        every booking on your account, and your balance
withdrawals.json   what you withdrew and when its key was destroyed
access-log.json    every recorded read of your clips: who (an account id), why, when
rewards.json       your badges, weekly goal, redemptions, payouts and holds, and the
                   shipping addresses, payout address and tax details you gave
clips/<id>/        each clip still held, decrypted: the redacted video and thumbnail

Withdrawn clips have no content here: their keys were destroyed and cannot be recovered.
"""

_DONATION_FIELDS = (
    "id", "campaign_id", "camera_id", "consent_text_id", "category", "staged",
    "recorded_at", "recorded_at_known", "incident_key", "incident_id", "duplicate_of",
    "duplicate_score", "redaction_flagged", "residual_face_rate", "status",
    "failure_reason", "failure_detail", "rejection_reason", "unpaid_reason",
    "source_filename", "source_size", "source_sha256", "width", "height", "duration_s",
    "created_at", "updated_at", "withdrawn_at",
)  # fmt: skip


_WITHDRAWAL_FIELDS = (
    "scope", "donation_id", "clips", "requested_at", "unreadable_at", "blobs_deleted_at",
    "blobs_deleted",
)  # fmt: skip


def _row(obj: object, fields: tuple[str, ...]) -> dict[str, Any]:
    return {f: getattr(obj, f) for f in fields}


def _documents(session: Session, user: User) -> dict[str, Any]:
    """Every record about ``user`` but the access log (built last, after the reads)."""
    donations = list(
        session.scalars(select(Donation).where(Donation.donor_id == user.id).order_by(Donation.id))
    )
    ids = [d.id for d in donations]
    cameras = session.scalars(select(Camera).where(Camera.owner_id == user.id))
    tokens = session.scalars(select(ApiToken).where(ApiToken.user_id == user.id))
    consents = session.execute(
        select(ConsentAcceptance, ConsentText, Campaign)
        .join(ConsentText, ConsentText.id == ConsentAcceptance.consent_text_id)
        .join(Campaign, Campaign.id == ConsentText.campaign_id)
        .where(ConsentAcceptance.user_id == user.id)
        .order_by(ConsentAcceptance.id)
    )
    votes = session.scalars(
        select(ReviewVote).where(ReviewVote.donation_id.in_(ids)).order_by(ReviewVote.id)
    )
    account = session.scalar(select(LedgerAccount).where(LedgerAccount.key == f"donor:{user.id}"))
    bookings = (
        session.execute(
            select(LedgerTransaction, LedgerEntry.amount_cents)
            .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
            .where(LedgerEntry.account_id == account.id)
            .order_by(LedgerTransaction.id)
        ).all()
        if account is not None
        else []
    )
    withdrawals = session.scalars(select(Withdrawal).where(Withdrawal.donor_id == user.id))
    return {
        "account.json": {
            **_row(user, ("id", "username", "handle", "leaderboard_opt_in", "created_at")),
            "roles": sorted(user.roles),
            "cameras": [_row(c, ("id", "label", "placement", "created_at")) for c in cameras],
            "api_tokens": [_row(t, ("id", "name", "created_at")) for t in tokens],
        },
        "consents.json": [
            {
                "campaign": campaign.slug,
                "version": text.version,
                "content_sha256": text.content_sha256,
                "accepted_at": acceptance.accepted_at,
                "text": text.body,
            }
            for acceptance, text, campaign in consents
        ],
        "donations.json": [
            {
                **_row(d, _DONATION_FIELDS),
                "history": [
                    _row(e, ("from_status", "to_status", "reason", "at"))
                    | {"by_you": e.actor_id == user.id}
                    for e in history(session, d)
                ],
            }
            for d in donations
        ],
        "reviews.json": [
            _row(v, ("donation_id", "decision", "category", "staged", "reason", "created_at"))
            for v in votes
        ],
        "ledger.json": {
            "balance_cents": sum(amount for _, amount in bookings),
            "bookings": [
                {
                    "transaction_id": t.id,
                    "kind": t.kind,
                    "donation_id": t.donation_id,
                    "memo": t.memo,
                    "amount_cents": amount,
                    "at": t.created_at,
                }
                for t, amount in bookings
            ],
        },
        "withdrawals.json": [_row(w, _WITHDRAWAL_FIELDS) for w in withdrawals],
    }


def _access_log(session: Session, donation_ids: list[int]) -> list[dict[str, Any]]:
    entries = session.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.object_type == "donation",
            AuditEntry.object_id.in_([str(i) for i in donation_ids]),
        )
        .order_by(AuditEntry.seq)
    )
    fields = ("seq", "at", "actor_id", "action", "purpose", "object_type", "object_id")
    return [_row(e, fields) | {"entry_hash": e.entry_hash} for e in entries]


# The objects of each clip the export holds, and their names inside the archive.
_EXPORTED_FILES: tuple[tuple[ContentKind, str], ...] = (
    ("video", "video.mp4"),
    ("thumbnail", "thumbnail.jpg"),
)


def _open_clips(vault: Vault, session: Session, user: User) -> list[tuple[str, ClipContent]]:
    """Open (and log the read of) every clip object still held."""
    opened = []
    held = session.scalars(
        select(Donation)
        .where(
            Donation.donor_id == user.id,
            Donation.status != DonationStatus.withdrawn,
            Donation.video_key.is_not(None),
        )
        .order_by(Donation.id)
    )
    for donation in held:
        for kind, name in _EXPORTED_FILES:
            content = open_content(
                vault, session, donation, kind, actor_id=user.id, purpose="export"
            )
            opened.append((f"clips/{donation.id}/{name}", content))
    return opened


class _StreamSink(io.RawIOBase):
    """Where zipfile writes: collects bytes for the generator to hand on. It can tell its
    position but not seek, so zipfile writes sizes in data descriptors after each entry."""

    def __init__(self) -> None:
        self._pieces: list[bytes] = []
        self._position = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]  # zipfile writes bytes only; RawIOBase.write takes any buffer
        self._pieces.append(bytes(data))
        self._position += len(data)
        return len(data)

    def tell(self) -> int:
        return self._position

    def drain(self) -> bytes:
        out, self._pieces = b"".join(self._pieces), []
        return out


def _json(value: Any) -> bytes:
    def default(obj: object) -> str:
        if isinstance(obj, datetime):
            return obj.isoformat()
        raise TypeError(f"cannot export {type(obj).__name__}")

    return json.dumps(value, indent=2, default=default, ensure_ascii=False).encode()


def export_archive(sessions: sessionmaker[Session], vault: Vault, user_id: int) -> Iterator[bytes]:
    """The donor's export as a zip, in pieces. Records are read and clip reads logged in
    one short transaction that commits before the first piece; clip bytes are decrypted
    while streaming, outside it (no writer waits for a slow download)."""
    with transaction(sessions) as session:
        user = session.get(User, user_id)
        assert user is not None
        documents = _documents(session, user)
        documents["rewards.json"] = rewards_document(session, vault, user)
        clips = _open_clips(vault, session, user)
        ids = [d["id"] for d in documents["donations.json"]]
        documents["access-log.json"] = _access_log(session, ids)
        at = utcnow()
    return _zip_stream(documents, clips, at)


def _zip_stream(
    documents: dict[str, Any], clips: list[tuple[str, ClipContent]], at: datetime
) -> Iterator[bytes]:
    sink = _StreamSink()
    stamp = at.timetuple()[:6]
    with zipfile.ZipFile(sink, "w") as archive:
        archive.writestr(
            zipfile.ZipInfo("README.txt", stamp), README.format(at=at.isoformat(timespec="seconds"))
        )
        for name, document in documents.items():
            info = zipfile.ZipInfo(name, stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, _json(document))
        yield sink.drain()
        for name, content in clips:
            # Video and JPEG are compressed already: stored as they are.
            with archive.open(zipfile.ZipInfo(name, stamp), "w", force_zip64=True) as entry:
                for chunk in content.read():
                    entry.write(chunk)
                    yield sink.drain()
    yield sink.drain()
