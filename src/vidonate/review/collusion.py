"""Accounts that vote on each other's clips far more often than chance would have them.

Two accounts that both donate and review can trade favourable votes. The signal is
mutual: A's votes go to B's clips, and B's to A's, each far more often than review
assignment would give them.

The statistic, per direction (voter A, donor B):

* ``votes``: A's votes on B's clips, out of ``voter_votes``, all of A's votes;
* ``expected_share``: B's share of the clips A could have been given, that is of the
  clips that received at least one vote from anyone (they were in review), less A's
  own (nobody reviews their own clips). If the queue handed A clips at random, each of
  A's votes would land on B's clips with this probability;
* ``p_value``: the binomial tail P(X >= votes) for X ~ Binomial(voter_votes,
  expected_share): how likely so many of A's votes would land on B's clips by chance.

A pair is reported when both directions have at least `min_votes` votes, a share of
the voter's votes of at least `min_share` and a p-value of at most `max_p_value`. A
direction alone is not collusion (a reviewer who happened to get many of one prolific
donor's clips); both together, at the default 1e-3 each, come by chance about once in
a million pairs. The pair's ``p_value`` is the larger of the two, the weaker evidence.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from scipy.stats import binom
from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from vidonate.db.models import Donation, ReviewVote

MIN_VOTES = 5  # per direction: fewer says nothing whatever the shares
MIN_SHARE = 0.2  # of the voter's votes going to the other account's clips
MAX_P_VALUE = 1e-3  # per direction, see the module docstring


@dataclass(frozen=True)
class VotingDirection:
    """How one account's votes went to another account's clips."""

    voter_id: int
    donor_id: int
    votes: int  # the voter's votes on the donor's clips
    voter_votes: int  # all the voter's votes
    share: float  # votes / voter_votes
    expected_share: float  # the donor's share of the reviewed clips the voter could get
    p_value: float  # P(at least `votes` of `voter_votes` by chance), binomial

    @property
    def lift(self) -> float:
        """How many times the chance share the voter gave the donor (inf if chance is 0)."""
        return self.share / self.expected_share if self.expected_share else float("inf")


@dataclass(frozen=True)
class MutualVoting:
    """Two accounts, lower id first, each voting unusually often on the other's clips."""

    account_id: int
    other_account_id: int
    forward: VotingDirection  # account_id's votes on other_account_id's clips
    backward: VotingDirection  # and the other way round

    @property
    def p_value(self) -> float:
        """The weaker direction's p-value: both must be improbable."""
        return max(self.forward.p_value, self.backward.p_value)


def _vote_counts(session: Session, since: datetime | None) -> Counter[tuple[int, int]]:
    """(voter, donor of the clip) -> votes."""
    statement = (
        select(ReviewVote.reviewer_id, Donation.donor_id, func.count())
        .join(Donation, Donation.id == ReviewVote.donation_id)
        .group_by(ReviewVote.reviewer_id, Donation.donor_id)
    )
    if since is not None:
        statement = statement.where(ReviewVote.created_at >= since)
    return Counter({(voter, donor): n for voter, donor, n in session.execute(statement)})


def _reviewed_clips(session: Session, since: datetime | None) -> Counter[int]:
    """Donor -> their clips with at least one vote (in the window)."""
    statement = (
        select(Donation.donor_id, func.count(distinct(Donation.id)))
        .join(ReviewVote, ReviewVote.donation_id == Donation.id)
        .group_by(Donation.donor_id)
    )
    if since is not None:
        statement = statement.where(ReviewVote.created_at >= since)
    return Counter({donor: n for donor, n in session.execute(statement)})


def _direction(
    voter: int,
    donor: int,
    votes: Counter[tuple[int, int]],
    voter_votes: Counter[int],
    reviewed: Counter[int],
) -> VotingDirection:
    total_votes = voter_votes[voter]
    pool = reviewed.total() - reviewed[voter]  # the voter's own clips never come to them
    expected = reviewed[donor] / pool if pool else 0.0
    k = votes[voter, donor]
    return VotingDirection(
        voter_id=voter,
        donor_id=donor,
        votes=k,
        voter_votes=total_votes,
        share=k / total_votes if total_votes else 0.0,
        expected_share=expected,
        p_value=float(binom.sf(k - 1, total_votes, expected)),  # P(X >= k)
    )


def mutual_voting_pairs(
    session: Session,
    *,
    min_votes: int = MIN_VOTES,
    min_share: float = MIN_SHARE,
    max_p_value: float = MAX_P_VALUE,
    since: datetime | None = None,
) -> list[MutualVoting]:
    """Pairs of accounts that vote on each other's clips far above chance, strongest
    evidence first; only votes cast at or after `since` when it is given."""
    votes = _vote_counts(session, since)
    reviewed = _reviewed_clips(session, since)
    voter_votes: Counter[int] = Counter()
    for (voter, _donor), n in votes.items():
        voter_votes[voter] += n

    def unusual(direction: VotingDirection) -> bool:
        return (
            direction.votes >= min_votes
            and direction.share >= min_share
            and direction.p_value <= max_p_value
        )

    found = []
    for (voter, donor), n in votes.items():
        if voter >= donor or n < min_votes or votes[donor, voter] < min_votes:
            continue  # each pair once, from its lower id; both directions need the votes
        forward = _direction(voter, donor, votes, voter_votes, reviewed)
        backward = _direction(donor, voter, votes, voter_votes, reviewed)
        if unusual(forward) and unusual(backward):
            found.append(MutualVoting(voter, donor, forward, backward))
    return sorted(found, key=lambda pair: (pair.p_value, pair.account_id, pair.other_account_id))
