"""The signed-in donor's own data: withdraw everything, download everything."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict

from vidonate.db.engine import transaction
from vidonate.db.models import User, Withdrawal
from vidonate.donations.withdrawal import withdraw_everything
from vidonate.privacy.export import export_archive
from vidonate.runtime import Runtime
from vidonate.web.deps import CurrentUser, RuntimeDep

router = APIRouter(prefix="/me", tags=["me"])


class WithdrawalPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    scope: str
    donation_id: int | None
    clips: int
    requested_at: datetime
    unreadable_at: datetime
    blobs_deleted_at: datetime | None


def run_withdrawal(rt: Runtime, user: User, donation_id: int | None) -> WithdrawalPublic:
    """Withdraw one clip (``donation_id``) or everything (None), then wake the worker that
    deletes the ciphertext left behind."""
    from vidonate.donations.withdrawal import withdraw_clip

    with transaction(rt.sessions) as session:
        donor = session.get(User, user.id)
        assert donor is not None
        withdrawal: Withdrawal = (
            withdraw_everything(session, rt.vault, rt.duplicates, rt.jobs, donor)
            if donation_id is None
            else withdraw_clip(session, rt.vault, rt.duplicates, rt.jobs, donor, donation_id)
        )
        out = WithdrawalPublic.model_validate(withdrawal)
    rt.jobs.wake()
    return out


@router.post("/withdraw", response_model=WithdrawalPublic)
def withdraw_all(user: CurrentUser, rt: RuntimeDep) -> WithdrawalPublic:
    """Withdraw every clip and destroy your data key: from this response on, none of your
    clips can be read by anyone. Money already earned stays yours."""
    return run_withdrawal(rt, user, None)


@router.get("/export", response_class=StreamingResponse)
def export(user: CurrentUser, rt: RuntimeDep) -> StreamingResponse:
    """One zip of everything kept about you, clips decrypted."""
    pieces = export_archive(rt.sessions, rt.vault, user.id)
    return StreamingResponse(
        pieces,
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="vidonate-{user.username}.zip"',
            "Cache-Control": "private, no-store",
        },
    )
