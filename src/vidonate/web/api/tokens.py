"""The caller's own API tokens: list them, revoke one (the CLI's ``vidonate token``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from vidonate.accounts.tokens import revoke_token, tokens_of
from vidonate.db.engine import read_transaction, transaction
from vidonate.web.api.schemas import INT32_MAX, TokenPublic
from vidonate.web.deps import CallerDep, RuntimeDep, SignedInUser

router = APIRouter(prefix="/me/tokens", tags=["me"])
TokenId = Annotated[int, Path(ge=1, le=INT32_MAX, description="a token's id")]


@router.get("", response_model=list[TokenPublic])
def my_tokens(user: SignedInUser, caller: CallerDep, rt: RuntimeDep) -> list[TokenPublic]:
    """Your API tokens (never their secrets), oldest first; ``current`` marks the one this
    request came with."""
    with read_transaction(rt.sessions) as session:
        return [
            TokenPublic(
                id=t.id,
                name=t.name,
                created_at=t.created_at,
                expires_at=t.expires_at,
                current=t.id == caller.token_id,
            )
            for t in tokens_of(session, user)
        ]


@router.delete("/{token_id}", status_code=204, response_class=Response)
def revoke(token_id: TokenId, user: SignedInUser, rt: RuntimeDep) -> Response:
    """Revoke one of your tokens: from now on it signs nobody in. Revoking the token this
    request came with signs this client out."""
    with transaction(rt.sessions) as session:
        revoke_token(session, user, token_id)
    return Response(status_code=204)
