"""Disclosures: clips or data handed to anyone outside vidonate, recorded to be published.

Everything recorded here appears in the public transparency report (recipient, legal
basis, description, number of clips, date), so a description must say what was handed
over and why without naming a donor.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from vidonate.db.models import Disclosure, User, utcnow
from vidonate.errors import InvalidInput

MAX_LABEL = 200  # recipient and legal basis: the columns' width
MAX_DESCRIPTION = 2000
# A disclosure is recorded after it happened; a little clock skew between the admin's
# machine and the server must not refuse "now".
FUTURE_TOLERANCE = timedelta(minutes=5)


def _single_line(value: str, field: str, code: str) -> str:
    cleaned = " ".join(value.split())
    if not cleaned:
        raise InvalidInput(code, f"{field} is empty; say who received the data and why")
    if len(cleaned) > MAX_LABEL:
        raise InvalidInput(code, f"{field} is {len(cleaned)} characters; at most {MAX_LABEL}")
    return cleaned


def parse_disclosure_time(text: str) -> datetime:
    """An ISO 8601 time with its zone, as the CLI's ``--at`` takes it."""
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            "bad_disclosure_time", f"{text!r} is not an ISO 8601 time, e.g. 2026-03-01T14:00:00Z"
        ) from None
    return _checked_time(at)


def _checked_time(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise InvalidInput(
            "bad_disclosure_time",
            "the disclosure time has no zone; add one, e.g. 2026-03-01T14:00:00Z or +01:00",
        )
    if at > utcnow() + FUTURE_TOLERANCE:
        raise InvalidInput("bad_disclosure_time", "the disclosure time is in the future")
    return at


def record_disclosure(
    session: Session,
    *,
    recipient: str,
    legal_basis: str,
    donations: int,
    description: str = "",
    disclosed_at: datetime | None = None,
    recorded_by: User | None = None,
) -> Disclosure:
    """Validate and store one disclosure; nothing is stored when any field is refused."""
    recipient = _single_line(recipient, "the recipient", "bad_recipient")
    legal_basis = _single_line(legal_basis, "the legal basis", "bad_legal_basis")
    # bool is an int in Python; True clips is a caller's mistake, not one clip.
    if isinstance(donations, bool) or not isinstance(donations, int) or donations < 0:
        raise InvalidInput(
            "bad_donation_count",
            f"the number of clips disclosed must be a whole number of 0 or more, not {donations!r}"
            " (0 when only account data was handed over)",
        )
    description = description.strip()
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInput(
            "bad_description",
            f"the description is {len(description)} characters; at most {MAX_DESCRIPTION}",
        )
    disclosure = Disclosure(
        recipient=recipient,
        legal_basis=legal_basis,
        description=description,
        donations=donations,
        disclosed_at=utcnow() if disclosed_at is None else _checked_time(disclosed_at),
        recorded_by=recorded_by.id if recorded_by is not None else None,
    )
    session.add(disclosure)
    session.flush()
    return disclosure


def list_disclosures(session: Session) -> list[Disclosure]:
    """Every disclosure, newest first."""
    return list(
        session.scalars(
            select(Disclosure).order_by(Disclosure.disclosed_at.desc(), Disclosure.id.desc())
        )
    )
