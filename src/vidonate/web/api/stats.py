from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from vidonate.db.engine import read_transaction
from vidonate.privacy.stats import redaction_stats
from vidonate.web.deps import RuntimeDep

router = APIRouter(prefix="/stats", tags=["public statistics"])


class RedactionStatsPublic(BaseModel):
    clips_redacted: int
    clips_flagged: int
    miss_rate: float
    duplicates_caught: int


@router.get("/redaction", response_model=RedactionStatsPublic)
def redaction(rt: RuntimeDep) -> RedactionStatsPublic:
    """Public, no sign-in: clips redacted, clips the residual-face audit flagged, the miss
    rate, and near-duplicate re-submissions caught."""
    with read_transaction(rt.sessions) as session:
        stats = redaction_stats(session)
        return RedactionStatsPublic(
            clips_redacted=stats.clips_redacted,
            clips_flagged=stats.clips_flagged,
            miss_rate=stats.miss_rate,
            duplicates_caught=stats.duplicates_caught,
        )
