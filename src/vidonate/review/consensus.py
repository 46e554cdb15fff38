"""Weighted consensus: when the votes on a clip decide it, each weighed by its reviewer.

The model is the one-coin Dawid–Skene (reputation) model: reviewer *r* answers right with
probability *p_r* whatever the truth, independently of the others. With even prior odds,
the posterior log-odds that a clip is acceptable is then the sum, over its votes, of
``±log(p_r / (1 - p_r))`` (plus for an accept, minus for a reject). *p_r* is the reviewer's
reliability on gold clips (review/gold.py); a new reviewer starts at the prior's 0.8.

A clip is decided when the leading decision's posterior reaches ``confidence`` and it has
at least its minimum of votes (``accepts_needed`` / ``rejects_needed``). With the
defaults, two reviewers at the prior who agree decide a clip (posterior 0.94), as two
votes did before weights; a split keeps it in review, and the queue gives it another
reviewer (adaptive redundancy). Once a clip holds ``max_votes`` votes, the weighted
majority decides as soon as it has its minimum of votes: more votes than that mostly
cost reviewers' time, and the few clips that reach it are the ones people disagree
about, where the more reliable side is the better guess than leaving the donor waiting.
A perfect tie, or a majority without its minimum, takes one more vote.

A reviewer below ``reliability_floor`` decides nothing: their vote is recorded and shown
in the counts, but weighs nothing and does not count towards the minimum.

:func:`dawid_skene` is the full two-class Dawid–Skene estimator (a confusion matrix per
reviewer, by EM) over many clips at once, for reporting what the votes themselves say
about each reviewer, gold or no gold.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from vidonate.db.models import Donation, DonationStatus, ReviewVote

ACCEPT, REJECT = "accept", "reject"
# Log-odds of a reliability this close to 0 or 1 stay finite.
_EPSILON = 1e-6


@dataclass(frozen=True)
class Thresholds:
    """What it takes to decide a clip (settings ``VIDONATE_REVIEW_*``)."""

    accepts_needed: int = 2
    rejects_needed: int = 2
    confidence: float = 0.9
    max_votes: int = 5
    reliability_floor: float = 0.6


@dataclass(frozen=True)
class WeightedVote:
    decision: str  # ACCEPT or REJECT
    reliability: float  # the reviewer's, from gold.reliability_of


@dataclass(frozen=True)
class Consensus:
    decision: str | None  # ACCEPT, REJECT, or None: the clip needs another vote
    accept_probability: float  # the posterior that the clip is acceptable
    counted_accepts: int  # votes that carry weight
    counted_rejects: int


def vote_weight(reliability: float, floor: float) -> float:
    """A vote's log-likelihood ratio; 0 for a reviewer below the floor (or no better
    than a coin: a negative weight would turn a bad reviewer's vote into evidence)."""
    if reliability < floor:
        return 0.0
    p = min(max(reliability, _EPSILON), 1 - _EPSILON)
    return max(0.0, math.log(p / (1 - p)))


def _sigmoid(log_odds: float) -> float:
    if log_odds >= 0:
        return 1 / (1 + math.exp(-log_odds))
    odds = math.exp(log_odds)
    return odds / (1 + odds)


def consensus(votes: Sequence[WeightedVote], t: Thresholds) -> Consensus:
    """What the votes decide (see the module's docstring)."""
    log_odds = 0.0
    accepts = rejects = 0
    for vote in votes:
        weight = vote_weight(vote.reliability, t.reliability_floor)
        if weight == 0.0:
            continue
        if vote.decision == ACCEPT:
            log_odds, accepts = log_odds + weight, accepts + 1
        else:
            log_odds, rejects = log_odds - weight, rejects + 1
    p_accept = _sigmoid(log_odds)
    decision = None
    if accepts >= t.accepts_needed and p_accept >= t.confidence:
        decision = ACCEPT
    elif rejects >= t.rejects_needed and 1 - p_accept >= t.confidence:
        decision = REJECT
    elif len(votes) >= t.max_votes:
        if log_odds > 0 and accepts >= t.accepts_needed:
            decision = ACCEPT
        elif log_odds < 0 and rejects >= t.rejects_needed:
            decision = REJECT
    return Consensus(decision, p_accept, accepts, rejects)


# --- Batch Dawid–Skene ------------------------------------------------------------------


@dataclass(frozen=True)
class DawidSkene:
    """What EM made of a set of votes. Class 0 is reject, class 1 accept."""

    reviewer_accuracy: dict[int, float]  # P(right answer), over the estimated class mix
    confusion: dict[int, np.ndarray]  # 2×2: row the true class, column the answer
    accept_probability: dict[int, float]  # per clip
    accept_share: float  # the estimated share of acceptable clips
    iterations: int


def dawid_skene(
    votes: Iterable[tuple[int, int, str]],
    *,
    max_iterations: int = 100,
    tolerance: float = 1e-6,
    smoothing: float = 0.01,
) -> DawidSkene:
    """Dawid & Skene (1979) for two classes: ``votes`` are (clip id, reviewer id,
    decision). Starts from each clip's share of accept votes (the majority), then
    alternates the reviewers' confusion matrices (M step) and the clips' class
    probabilities (E step) until these move less than ``tolerance``. ``smoothing``
    pseudo-counts keep a reviewer with few votes off probabilities of exactly 0 or 1."""
    rows = list(votes)
    clips = sorted({clip for clip, _, _ in rows})
    reviewers = sorted({reviewer for _, reviewer, _ in rows})
    if not rows:
        return DawidSkene({}, {}, {}, 0.5, 0)
    clip_index = {c: i for i, c in enumerate(clips)}
    reviewer_index = {r: i for i, r in enumerate(reviewers)}
    item = np.array([clip_index[c] for c, _, _ in rows])
    worker = np.array([reviewer_index[r] for _, r, _ in rows])
    label = np.array([1 if d == ACCEPT else 0 for _, _, d in rows])

    # Start: each clip's share of accept votes.
    accepts = np.bincount(item, weights=label, minlength=len(clips))
    totals = np.bincount(item, minlength=len(clips))
    truth = np.column_stack([1 - accepts / totals, accepts / totals])
    answered = np.eye(2)[label]  # one-hot answers, one row per vote
    iterations = 0
    for iterations in range(1, max_iterations + 1):  # noqa: B007 (reported below)
        # M step: class mix and each reviewer's confusion matrix.
        prior = (truth.sum(axis=0) + smoothing) / (len(clips) + 2 * smoothing)
        counts = np.full((len(reviewers), 2, 2), smoothing)
        np.add.at(counts, worker, truth[item][:, :, None] * answered[:, None, :])
        confusion = counts / counts.sum(axis=2, keepdims=True)
        # E step: each clip's class probabilities from its votes.
        log_like = np.tile(np.log(prior), (len(clips), 1))
        np.add.at(log_like, item, np.log(confusion[worker, :, label]))
        log_like -= log_like.max(axis=1, keepdims=True)
        fresh = np.exp(log_like)
        fresh /= fresh.sum(axis=1, keepdims=True)
        moved = float(np.abs(fresh - truth).max())
        truth = fresh
        if moved < tolerance:
            break
    return DawidSkene(
        reviewer_accuracy={
            r: float(prior @ np.diag(confusion[j])) for r, j in reviewer_index.items()
        },
        confusion={r: confusion[j] for r, j in reviewer_index.items()},
        accept_probability={c: float(truth[i, 1]) for c, i in clip_index.items()},
        accept_share=float(prior[1]),
        iterations=iterations,
    )


def decided_votes(session: Session) -> list[tuple[int, int, str]]:
    """(clip, reviewer, decision) of every vote on a decided clip: what
    :func:`dawid_skene` reads to estimate the reviewers' reliability."""
    decided = (DonationStatus.accepted, DonationStatus.rejected)
    rows = session.execute(
        select(ReviewVote.donation_id, ReviewVote.reviewer_id, ReviewVote.decision)
        .join(Donation, Donation.id == ReviewVote.donation_id)
        .where(Donation.status.in_(decided))
        .order_by(ReviewVote.id)
    )
    return [(clip, reviewer, decision) for clip, reviewer, decision in rows]
