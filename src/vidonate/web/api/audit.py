"""The access log, for auditors and admins: its entries and a check of its hash chain.

Entries hold ids, codes, times and hashes only (see ``db/audit.py``), so
reading them reveals who looked at which clip and why, never what it showed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from vidonate.db import audit
from vidonate.db.engine import read_transaction
from vidonate.db.models import AuditEntry
from vidonate.web.api.schemas import AuditEntryPublic, AuditPage, AuditVerificationPublic
from vidonate.web.deps import AuditReader, RuntimeDep

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("/entries", response_model=AuditPage)
def entries(
    _reader: AuditReader,
    rt: RuntimeDep,
    before: Annotated[
        int | None,
        Query(
            ge=1,
            le=2**63 - 1,  # seq is a 64-bit column
            description="only entries with a lower seq: the previous page's next_before",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="entries per page")] = 100,
) -> AuditPage:
    """The access log, newest first, a page at a time. Auditors and admins."""
    query = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit + 1)
    if before is not None:
        query = query.where(AuditEntry.seq < before)
    with read_transaction(rt.sessions) as session:
        rows = list(session.scalars(query))
    page = [AuditEntryPublic.model_validate(row) for row in rows[:limit]]
    more = len(rows) > limit
    return AuditPage(entries=page, next_before=page[-1].seq if more else None)


@router.get("/verify", response_model=AuditVerificationPublic)
def verify(_reader: AuditReader, rt: RuntimeDep) -> AuditVerificationPublic:
    """Recompute the whole hash chain. ``head`` is the newest entry's hash: compare it with
    one published earlier to notice entries removed from the end. Auditors and admins."""
    with read_transaction(rt.sessions) as session:
        result = audit.verify(session)
    return AuditVerificationPublic(
        ok=result.ok,
        entries=result.entries,
        head=result.head,
        first_bad_seq=result.first_bad_seq,
        problem=result.problem,
    )
