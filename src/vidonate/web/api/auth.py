from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request

from vidonate.accounts.tokens import new_token
from vidonate.accounts.users import authenticate
from vidonate.db.engine import transaction
from vidonate.web.api.schemas import TokenRequest, TokenResponse
from vidonate.web.deps import RateLimitsDep, RuntimeDep, client_ip

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/token", response_model=TokenResponse)
def create_token(
    body: TokenRequest, request: Request, rt: RuntimeDep, limits: RateLimitsDep
) -> TokenResponse:
    """Exchange a username and password for a bearer token (shown once) that expires at
    ``expires_at`` (list and revoke tokens under ``/me/tokens``).

    Attempts are limited per client address, and per username from that address
    (429 ``rate_limited``)."""
    limits.check_sign_in(client_ip(request), body.username)
    lifetime = timedelta(days=rt.settings.api_token_lifetime_days)
    with transaction(rt.sessions) as session:
        user = authenticate(session, body.username, body.password)
        issued = new_token(session, user, body.name, lifetime)
        return TokenResponse(
            token=issued.secret,
            token_id=issued.token.id,
            expires_at=issued.token.expires_at,
            username=user.username,
            roles=sorted(user.roles),
        )
