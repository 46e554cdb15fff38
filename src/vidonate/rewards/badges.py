"""Badges and medals: what each ``BadgeDefinition``'s rule asks of a user, read from the
database, and the awards that follow from it, each given once.

A rule is data (``{"kind": "accepted", "at_least": 10}``); :func:`parse_rule` turns it
into one of the rule classes below, and refuses a kind it does not know: a badge that an
operator defined with a typo must stop the awarding loudly, not be skipped for ever.

What counts:

- an *accepted* clip is one that moved to accepted (a ``donation_events`` row). Its time
  is that transition's. A clip withdrawn since still counts: withdrawing is a donor's
  right, and what they earned stays theirs, as their money does;
- a *staged re-enactment with full attestation*: an accepted clip the reviewers confirmed
  as staged, not synthetic, in a campaign that takes staged clips, and that no accepting
  reviewer called real. Uploads refuse a clip declared staged without the donor's
  attestation that everyone filmed agreed (donations/service.py), so such a clip carries
  it; the attestation itself is not stored apart;
- an *angle* of an incident is one of the donor's cameras: two clips of one camera in an
  incident are one angle;
- a *weekly streak* is a run of consecutive ISO weeks (UTC), each with at least one clip
  accepted in it;
- an *agreeing vote* is a reviewer's vote that matched the clip's final decision.

Each award records the donation that earned it: the clip whose acceptance (or whose
decision) first met the rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from sqlalchemy import ColumnElement, and_, delete, select
from sqlalchemy.orm import Session

from vidonate.db.models import (
    Campaign,
    Donation,
    DonationEvent,
    DonationStatus,
    ReviewVote,
    User,
    utcnow,
)
from vidonate.db.models_rewards import BadgeAward, BadgeDefinition
from vidonate.db.upsert import insert_unless_present

DONOR, REVIEWER = "donor", "reviewer"


class BadgeRuleError(ValueError):
    """A badge definition whose rule cannot be read: a server-side misconfiguration (an
    operator's badge row), never the fault of the user being evaluated."""


# --- What a user has done -----------------------------------------------------------


@dataclass(frozen=True)
class AcceptedClip:
    donation_id: int
    accepted_at: datetime
    category: str
    staged: bool
    synthetic: bool
    campaign_allows_staged: bool
    incident_id: int | None
    camera_id: int


@dataclass
class Record:
    """What a user did, read once per evaluation: their accepted clips in the order they
    were accepted, and (for reviewers) the donations of their agreeing votes in the order
    those clips were decided. Each part is read only when a rule asks for it."""

    session: Session
    user_id: int
    _accepted: list[AcceptedClip] | None = field(default=None, repr=False)
    _agreeing: list[int] | None = field(default=None, repr=False)
    _staged_disputed: set[int] | None = field(default=None, repr=False)

    @property
    def accepted(self) -> list[AcceptedClip]:
        if self._accepted is None:
            self._accepted = accepted_clips(self.session, self.user_id)
        return self._accepted

    @property
    def agreeing_votes(self) -> list[int]:
        if self._agreeing is None:
            self._agreeing = agreeing_vote_donations(self.session, self.user_id)
        return self._agreeing

    @property
    def staged_disputed(self) -> set[int]:
        """Staged clips of the user that some accepting reviewer called real."""
        if self._staged_disputed is None:
            staged = [c.donation_id for c in self.accepted if c.staged]
            self._staged_disputed = (
                set(
                    self.session.scalars(
                        select(ReviewVote.donation_id).where(
                            ReviewVote.donation_id.in_(staged),
                            ReviewVote.decision == "accept",
                            ReviewVote.staged.is_(False),
                        )
                    )
                )
                if staged
                else set()
            )
        return self._staged_disputed


def _acceptance_events() -> ColumnElement[bool]:
    return and_(
        DonationEvent.donation_id == Donation.id,
        DonationEvent.to_status == DonationStatus.accepted,
    )


def accepted_clips(session: Session, user_id: int) -> list[AcceptedClip]:
    """The user's clips that were ever accepted, in the order they were accepted."""
    rows = session.execute(
        select(Donation, DonationEvent.at, Campaign.allow_staged)
        .join(DonationEvent, _acceptance_events())
        .join(Campaign, Campaign.id == Donation.campaign_id)
        .where(Donation.donor_id == user_id)
        .order_by(DonationEvent.at, DonationEvent.id)
    ).all()
    seen: set[int] = set()
    clips = []
    for donation, at, allows_staged in rows:
        if donation.id in seen:  # accepted once by the status machine; read defensively
            continue
        seen.add(donation.id)
        clips.append(
            AcceptedClip(
                donation.id,
                at,
                donation.category,
                donation.staged,
                donation.synthetic,
                allows_staged,
                donation.incident_id,
                donation.camera_id,
            )
        )
    return clips


_DECIDED = (DonationStatus.accepted, DonationStatus.rejected)


def agreeing_vote_donations(session: Session, reviewer_id: int) -> list[int]:
    """The donations on which the reviewer's vote matched the final decision, in the
    order the clips were decided."""
    rows = session.execute(
        select(ReviewVote.donation_id, ReviewVote.decision, DonationEvent.to_status)
        .join(DonationEvent, DonationEvent.donation_id == ReviewVote.donation_id)
        .where(ReviewVote.reviewer_id == reviewer_id, DonationEvent.to_status.in_(_DECIDED))
        .order_by(DonationEvent.at, DonationEvent.id)
    ).all()
    return [
        donation_id
        for donation_id, decision, decided in rows
        if (decision == "accept") == (decided == DonationStatus.accepted)
    ]


def iso_week(at: datetime) -> int:
    """A number for the ISO week (UTC) of ``at``: consecutive weeks differ by one."""
    day = at.astimezone(UTC).date()
    monday = day - timedelta(days=day.weekday())
    return monday.toordinal() // 7


def week_start(at: datetime) -> datetime:
    """Monday 00:00 UTC of the ISO week of ``at``."""
    day = at.astimezone(UTC).date()
    monday = day - timedelta(days=day.weekday())
    return datetime.combine(monday, datetime.min.time(), tzinfo=UTC)


# --- Rules --------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """A rule's parameters, and who it is for (a donor's clips or a reviewer's votes)."""

    audience: ClassVar[str] = DONOR

    def earned_by(self, record: Record) -> int | None:
        """The donation whose acceptance (or decision) first met the rule; None when the
        user has not met it."""
        raise NotImplementedError


@dataclass(frozen=True)
class Accepted(Rule):
    at_least: int

    def earned_by(self, record: Record) -> int | None:
        clips = record.accepted
        return clips[self.at_least - 1].donation_id if len(clips) >= self.at_least else None


@dataclass(frozen=True)
class AcceptedInCategory(Rule):
    category: str

    def earned_by(self, record: Record) -> int | None:
        return next((c.donation_id for c in record.accepted if c.category == self.category), None)


@dataclass(frozen=True)
class StagedAttested(Rule):
    def earned_by(self, record: Record) -> int | None:
        for clip in record.accepted:
            if (
                clip.staged
                and not clip.synthetic
                and clip.campaign_allows_staged
                and clip.donation_id not in record.staged_disputed
            ):
                return clip.donation_id
        return None


@dataclass(frozen=True)
class MultiAngle(Rule):
    angles: int

    def earned_by(self, record: Record) -> int | None:
        cameras: dict[int, set[int]] = {}
        for clip in record.accepted:
            if clip.incident_id is None:
                continue
            seen = cameras.setdefault(clip.incident_id, set())
            seen.add(clip.camera_id)
            if len(seen) >= self.angles:
                return clip.donation_id
        return None


@dataclass(frozen=True)
class WeeklyStreak(Rule):
    weeks: int

    def earned_by(self, record: Record) -> int | None:
        run, last_week = 0, None
        for clip in record.accepted:
            week = iso_week(clip.accepted_at)
            if week == last_week:
                continue
            run = run + 1 if last_week is not None and week == last_week + 1 else 1
            last_week = week
            if run >= self.weeks:
                return clip.donation_id
        return None


@dataclass(frozen=True)
class AgreeingVotes(Rule):
    audience: ClassVar[str] = REVIEWER
    at_least: int

    def earned_by(self, record: Record) -> int | None:
        votes = record.agreeing_votes
        return votes[self.at_least - 1] if len(votes) >= self.at_least else None


# kind → (rule class, its parameters and their types)
RULE_KINDS: dict[str, tuple[type[Rule], dict[str, type]]] = {
    "accepted": (Accepted, {"at_least": int}),
    "accepted_in_category": (AcceptedInCategory, {"category": str}),
    "staged_attested": (StagedAttested, {}),
    "multi_angle": (MultiAngle, {"angles": int}),
    "weekly_streak": (WeeklyStreak, {"weeks": int}),
    "agreeing_votes": (AgreeingVotes, {"at_least": int}),
}


def parse_rule(code: str, rule: Mapping[str, Any]) -> Rule:
    """The rule of badge ``code``; BadgeRuleError for an unknown kind or bad parameters."""
    if not isinstance(rule, Mapping) or "kind" not in rule:
        raise BadgeRuleError(f"badge {code!r}: its rule {rule!r} names no kind")
    kind = rule["kind"]
    if kind not in RULE_KINDS:
        raise BadgeRuleError(
            f"badge {code!r}: unknown rule kind {kind!r}; known kinds: {sorted(RULE_KINDS)}"
        )
    cls, parameters = RULE_KINDS[kind]
    given = {k: v for k, v in rule.items() if k != "kind"}
    if set(given) != set(parameters):
        raise BadgeRuleError(
            f"badge {code!r}: a {kind!r} rule takes {sorted(parameters)}, not {sorted(given)}"
        )
    for name, expected in parameters.items():
        value = given[name]
        if not isinstance(value, expected) or isinstance(value, bool):
            raise BadgeRuleError(f"badge {code!r}: {name} must be a {expected.__name__}")
        if isinstance(value, int) and value < 1:
            raise BadgeRuleError(f"badge {code!r}: {name} must be at least 1, not {value}")
    return cls(**given)


def definitions(session: Session) -> list[BadgeDefinition]:
    return list(
        session.scalars(
            select(BadgeDefinition).order_by(BadgeDefinition.position, BadgeDefinition.code)
        )
    )


def rules(session: Session) -> list[tuple[BadgeDefinition, Rule]]:
    """Every badge with its parsed rule. Every rule is parsed, the awarded ones too, so a
    broken definition fails the first evaluation after it was written."""
    return [(d, parse_rule(d.code, d.rule)) for d in definitions(session)]


def earned(
    session: Session,
    user_id: int,
    badge_rules: Sequence[tuple[BadgeDefinition, Rule]],
    *,
    skip: Iterable[str] = (),
) -> dict[str, int]:
    """badge code → the donation that earned it, for each badge the user has earned
    (leaving out the codes in ``skip``)."""
    record = Record(session, user_id)
    skipped = set(skip)
    found: dict[str, int] = {}
    for definition, rule in badge_rules:
        if definition.code in skipped:
            continue
        basis = rule.earned_by(record)
        if basis is not None:
            found[definition.code] = basis
    return found


# --- Awarding -----------------------------------------------------------------------


def _award_codes(session: Session, user_id: int) -> set[str]:
    return set(session.scalars(select(BadgeAward.badge_code).where(BadgeAward.user_id == user_id)))


def _award(session: Session, user_id: int, code: str, donation_id: int | None) -> BadgeAward | None:
    """Write the award unless the user has it; the new row, or None when it was there.
    Two decisions at once that both earn a badge write it once: the unique key decides."""
    written = insert_unless_present(
        session,
        BadgeAward,
        {
            "user_id": user_id,
            "badge_code": code,
            "donation_id": donation_id,
            "awarded_at": utcnow(),
        },
        ("user_id", "badge_code"),
    )
    if not written:
        return None
    return session.scalars(
        select(BadgeAward).where(BadgeAward.user_id == user_id, BadgeAward.badge_code == code)
    ).one()


def _award_earned(session: Session, user_id: int, audience: str) -> list[BadgeAward]:
    badge_rules = [(d, r) for d, r in rules(session) if r.audience == audience]
    found = earned(session, user_id, badge_rules, skip=_award_codes(session, user_id))
    awards = [_award(session, user_id, code, basis) for code, basis in found.items()]
    return [a for a in awards if a is not None]


def award_for_acceptance(session: Session, donation: Donation) -> list[BadgeAward]:
    """Called when ``donation`` was accepted: the donor's new badges."""
    return _award_earned(session, donation.donor_id, DONOR)


def award_for_vote_outcome(session: Session, donation: Donation) -> list[BadgeAward]:
    """Called when ``donation`` was decided: the new badges of every reviewer who voted."""
    if donation.status not in _DECIDED:
        return []
    reviewers = sorted(
        set(
            session.scalars(
                select(ReviewVote.reviewer_id).where(ReviewVote.donation_id == donation.id)
            )
        )
    )
    return [a for reviewer in reviewers for a in _award_earned(session, reviewer, REVIEWER)]


@dataclass(frozen=True)
class EarnedBadge:
    code: str
    name: str
    description: str
    icon: str
    awarded_at: datetime
    donation_id: int | None


def badges_of(session: Session, user: User) -> list[EarnedBadge]:
    """The user's badges, in the catalogue's display order."""
    rows = session.execute(
        select(BadgeAward, BadgeDefinition)
        .join(BadgeDefinition, BadgeDefinition.code == BadgeAward.badge_code)
        .where(BadgeAward.user_id == user.id)
        .order_by(BadgeDefinition.position, BadgeDefinition.code)
    ).all()
    return [
        EarnedBadge(d.code, d.name, d.description, d.icon, a.awarded_at, a.donation_id)
        for a, d in rows
    ]


# --- Re-deriving every award --------------------------------------------------------


@dataclass(frozen=True, order=True)
class AwardRef:
    user_id: int
    badge_code: str
    donation_id: int | None = field(compare=False, default=None)


@dataclass(frozen=True)
class AwardDiff:
    """Awards the database earns but does not hold, and held awards nothing earns."""

    missing: list[AwardRef]
    unearned: list[AwardRef]
    repaired: bool = False

    @property
    def clean(self) -> bool:
        return not self.missing and not self.unearned


def _candidates(session: Session) -> set[int]:
    """Everyone who could have earned or holds a badge."""
    donors = select(Donation.donor_id).join(DonationEvent, _acceptance_events())
    reviewers = select(ReviewVote.reviewer_id).join(
        DonationEvent,
        and_(
            DonationEvent.donation_id == ReviewVote.donation_id,
            DonationEvent.to_status.in_(_DECIDED),
        ),
    )
    holders = select(BadgeAward.user_id)
    return {user_id for query in (donors, reviewers, holders) for user_id in session.scalars(query)}


def recompute_awards(session: Session, *, repair: bool) -> AwardDiff:
    """Derive every award again from the database and compare with the awards held;
    with ``repair``, write the missing ones and delete the unearned ones."""
    badge_rules = rules(session)
    held: dict[int, dict[str, BadgeAward]] = {}
    for award in session.scalars(select(BadgeAward)):
        held.setdefault(award.user_id, {})[award.badge_code] = award
    missing: list[AwardRef] = []
    unearned: list[AwardRef] = []
    for user_id in sorted(_candidates(session)):
        should = earned(session, user_id, badge_rules)
        has = held.get(user_id, {})
        missing += [AwardRef(user_id, c, d) for c, d in should.items() if c not in has]
        unearned += [AwardRef(user_id, c, a.donation_id) for c, a in has.items() if c not in should]
    if repair:
        for ref in missing:
            _award(session, ref.user_id, ref.badge_code, ref.donation_id)
        for ref in unearned:
            session.execute(
                delete(BadgeAward).where(
                    BadgeAward.user_id == ref.user_id, BadgeAward.badge_code == ref.badge_code
                )
            )
        session.flush()
    return AwardDiff(sorted(missing), sorted(unearned), repaired=repair)
