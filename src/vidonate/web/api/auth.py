from __future__ import annotations

from fastapi import APIRouter, Request

from vidonate.accounts.users import authenticate, issue_token
from vidonate.db.engine import transaction
from vidonate.web.api.schemas import TokenRequest, TokenResponse
from vidonate.web.deps import RateLimitsDep, RuntimeDep, client_ip

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/token", response_model=TokenResponse)
def create_token(
    body: TokenRequest, request: Request, rt: RuntimeDep, limits: RateLimitsDep
) -> TokenResponse:
    """Exchange a username and password for a bearer token (shown once).

    Attempts are limited per client address and per username (429 ``rate_limited``)."""
    limits.check_sign_in(client_ip(request), body.username)
    with transaction(rt.sessions) as session:
        user = authenticate(session, body.username, body.password)
        token = issue_token(session, user, body.name)
        return TokenResponse(token=token, username=user.username, roles=sorted(user.roles))
