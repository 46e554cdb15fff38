"""The datasheet of a release, generated from the database.

Sections follow Gebru et al., "Datasheets for Datasets" (2018/2021): motivation,
composition, collection process, preprocessing, uses, distribution, maintenance. Every
number is counted from the release's rows and the database at the moment of release.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vidonate.datasets.splits import SPLITS
from vidonate.db.models import Campaign, ConsentText, Disclosure, Donation, ReleaseClip
from vidonate.review.disagreements import disagreements


def _table(header: tuple[str, ...], rows: Iterable[tuple[object, ...]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def render_datasheet(
    session: Session,
    *,
    version: int,
    seed: int,
    ratios: dict[str, float],
    clips: list[Donation],
    rows: list[ReleaseClip],
    previous_version: int | None,
    withdrawn_since: list[int],
) -> str:
    by_split_label = Counter((r.split, r.label) for r in rows)
    labels = sorted({r.label for r in rows})
    by_origin = Counter(
        ("synthetic" if r.synthetic else "donated", "staged" if r.staged else "real") for r in rows
    )
    donors = len({d.donor_id for d in clips if not d.synthetic})
    cameras = len({r.camera_id for r in rows})
    incidents = len({r.incident_id for r in rows if r.incident_id is not None})
    hours = sum(r.duration_s or 0 for r in rows) / 3600
    campaign_ids = sorted({d.campaign_id for d in clips})
    campaigns = list(session.scalars(select(Campaign).where(Campaign.id.in_(campaign_ids))))
    consents = list(
        session.scalars(
            select(ConsentText).where(ConsentText.id.in_({d.consent_text_id for d in clips}))
        )
    )
    disclosures = int(session.scalar(select(func.count(Disclosure.id))) or 0)
    rewards = ", ".join(
        f"{c.slug}: ${c.reward_cents / 100:.2f}/clip, retention {c.retention_days} d"
        for c in campaigns
    )
    split_rows = [
        (split, *(by_split_label[(split, label)] for label in labels),
         sum(by_split_label[(split, label)] for label in labels))
        for split in SPLITS
    ]  # fmt: skip
    origin_rows = sorted((o, s, n) for (o, s), n in by_origin.items())
    donated = [r for r in rows if not r.synthetic]
    verified = sum(1 for r in donated if r.events is not None)
    disagreeing = len(disagreements(session))
    since = (
        "This is the first release."
        if previous_version is None
        else f"Since release v{previous_version}, {len(withdrawn_since)} clip(s) were "
        "withdrawn by their donors; they are listed with this release and are unreadable "
        "in every release."
    )
    return f"""# Datasheet: vidonate release v{version}

## Motivation
Collected to train and evaluate vidonate's detector of package theft and car-door
tampering on home security footage. Funded by the campaigns below; donors were paid per
accepted clip from a public ledger. Nothing here was collected for any other purpose.

## Composition
{len(rows)} clips ({hours:.2f} hours) from {donors} donors, {cameras} cameras and
{incidents} multi-camera incidents. Labels come from review (two reviewers confirm the
category and whether a clip is staged). Clips by split and label:

{_table(("split", *labels, "total"), split_rows)}

By origin:

{_table(("origin", "staged or real", "clips"), origin_rows)}

Event intervals: {verified} of {len(donated)} donated clips are verified for training
(reviewers agree on when the event happens, or agree it is normal activity); only these
train the detector, and the manifest lists each one's verified intervals. The
{len(donated) - verified} other donated clips are listed but never trained on. Synthetic
clips carry the events they were rendered with. {disagreeing} clip(s) where model and
reviewers disagree, listed for the next release (`vidonate review disagreements`).

Synthetic clips are scenes rendered by `vidonate synth` over redacted still backgrounds;
they are marked synthetic in the manifest and in every evaluation. Staged clips are
re-enactments whose donors attested that everyone filmed agreed.

Splits ({", ".join(f"{k} {v:g}" for k, v in ratios.items())}, seed {seed}) are
group-disjoint: clips sharing a camera or an incident are always in the same split; they
are stratified by label and by staged vs real. Ratios are met only as closely as whole
groups allow.

## Collection process
Donated by camera owners through the vidonate web app and CLI under campaigns:
{rewards or "none"}. Every clip was donated under a recorded consent
({len(consents)} consent text version(s), each stating the purposes: training the theft
detector, no sale, no third parties, the retention period). Campaigns about children or
the inside of homes are refused unless explicitly opened as sensitive, and never paid.

## Preprocessing
Before any person saw a clip: faces and readable text were blurred (CenterFace and PP-OCR
detection), a full-resolution audit checked for residual faces, sound, location and
device metadata were removed, and the video was re-encoded to H.264. Near-duplicates of
accepted or pending clips were flagged and not paid. The original uploads were deleted.

## Uses
Training and evaluating the package-theft and car-door-tampering detector. Not for
identifying, tracking or profiling people, nor for any use the consent does not name.

## Distribution
Not distributed outside vidonate: no sale, no third parties. Disclosures compelled by law
so far: {disclosures} (counted in the public transparency report). Clips are read only
through the vault, decrypted per read and logged in the access log with purpose
"training".

## Maintenance
Releases are immutable and versioned. {since}
A withdrawn clip's key is destroyed, so no release can read it again; clips also leave
when their campaign's retention period ends.
"""
