"""Dependencies shared by routes: the runtime, the caller, role checks, rate limits.

Every route is closed unless it asks for no user explicitly: ``CurrentUser`` is
the default way in, and raises 401 without a valid token or session. Roles:

- a user whose roles are only ``auditor`` (or none) can only read: ``CurrentUser``
  refuses them every request but GET, HEAD and OPTIONS, on every route;
- ``SignedInUser`` lets any role in, writes included: only for a caller's own sign-in
  (revoking their own API tokens);
- ``AdminUser``, ``ReviewerUser`` and ``AuditReader`` require a role (403 without).

One app-wide dependency runs before every route (``guard_request``, see ``web/app.py``):
it finds the caller, then ``throttle_requests`` (429 past the per-user or per-IP limit),
``csrf.protect_pages`` and ``refuse_nul_characters``.

Dependencies that do no I/O are ``async def``: FastAPI runs a sync dependency on a worker
thread, a hand-off per dependency per request. Only ``identify`` reads the database.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from vidonate.accounts.sessions import user_for_session
from vidonate.accounts.tokens import token_and_user
from vidonate.db.engine import read_transaction
from vidonate.db.models import Role, User
from vidonate.errors import Forbidden, InvalidRequest, NotAuthenticated
from vidonate.privacy.report_cache import ReportCache
from vidonate.runtime import Runtime
from vidonate.web import csrf
from vidonate.web.clientip import TrustedProxies
from vidonate.web.headers import method_overridden
from vidonate.web.ratelimit import RateLimits

# Roles that may change anything; a user with none of them (an auditor) only reads.
WRITER_ROLES = frozenset({Role.donor.value, Role.reviewer.value, Role.admin.value})
_TUS_UPLOAD = re.compile(r"^/api/v1/uploads/[^/]+$")


async def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_rate_limits(request: Request) -> RateLimits:
    return request.app.state.rate_limits


RateLimitsDep = Annotated[RateLimits, Depends(get_rate_limits)]


async def get_report_cache(request: Request) -> ReportCache:
    return request.app.state.report_cache


ReportCacheDep = Annotated[ReportCache, Depends(get_report_cache)]


def client_ip(request: Request) -> str:
    """The client's address: the peer's, or behind one of the ``trusted_proxies`` the one
    it forwarded for (``web/clientip.py``)."""
    proxies: TrustedProxies = request.app.state.trusted_proxies
    return proxies.of(request)


@dataclass(frozen=True)
class Caller:
    """Who sent the request, resolved once per request and shared by every dependency."""

    user: User | None
    via_session: bool = False
    refusal: NotAuthenticated | None = None  # a bearer token that matches nobody
    token_id: int | None = None  # the API token the request came with


# The session cookie's key for the server-side session's secret (accounts/sessions.py).
SESSION_SECRET = "sid"


def identify(request: Request, rt: Runtime) -> Caller:
    """Who sent the request. Looking a token or session up writes nothing (no last-used
    time, expired rows are cleared at sign-in), so it reads without SQLite's write lock:
    no page or API call waits here for an upload or a job that is writing."""
    header = request.headers.get("authorization", "")
    with read_transaction(rt.sessions) as session:
        if header.lower().startswith("bearer "):
            try:
                token, user = token_and_user(session, header[7:].strip())
            except NotAuthenticated as refusal:
                return Caller(None, refusal=refusal)
            return Caller(user, token_id=token.id)
        secret = request.session.get(SESSION_SECRET) if "session" in request.scope else None
        if isinstance(secret, str):
            signed_in = user_for_session(session, secret)
            if signed_in is not None:
                return Caller(signed_in, via_session=True)
            # Signed out or expired on the server: the cookie is dropped too.
            request.session.pop(SESSION_SECRET, None)
    return Caller(None)


async def guard_request(request: Request) -> None:
    """The one app-wide dependency, run before every route: it finds the caller (once per
    request, on a worker thread: it reads the database), then applies the rate limits,
    the CSRF check of pages and the NUL check.

    The role dependencies below read the caller it found from ``request.state``; they are
    plain ``async`` functions of the request, so FastAPI solves a shallow tree per request
    (its solving costs about as much per dependency as a small query).
    """
    caller = await run_in_threadpool(identify, request, request.app.state.runtime)
    request.state.caller = caller
    throttle_requests(request, caller, request.app.state.rate_limits)
    await csrf.protect_pages(request)
    await refuse_nul_characters(request)


async def get_caller(request: Request) -> Caller:
    caller: Caller = request.state.caller  # set by guard_request, before any route runs
    return caller


CallerDep = Annotated[Caller, Depends(get_caller)]


def _optional_user(request: Request) -> User | None:
    caller: Caller = request.state.caller
    if caller.refusal is not None:
        raise caller.refusal
    if (
        caller.via_session
        and caller.user is not None
        and request.method not in csrf.SAFE_METHODS
        and request.url.path.startswith("/api/")
    ):
        # A browser sends the session cookie with any request, even one another site
        # made it send; only vidonate's own pages can add the session's token.
        csrf.check_token(request, request.headers.get(csrf.HEADER))
    return caller.user


def _signed_in_user(request: Request) -> User:
    user = _optional_user(request)
    if user is None:
        raise NotAuthenticated("not_signed_in", "sign in, or send 'Authorization: Bearer <token>'")
    return user


async def optional_user(request: Request) -> User | None:
    return _optional_user(request)


async def signed_in_user(request: Request) -> User:
    return _signed_in_user(request)


async def current_user(request: Request) -> User:
    user = _signed_in_user(request)
    if request.method not in csrf.SAFE_METHODS and not (user.roles & WRITER_ROLES):
        raise Forbidden(
            "read_only_role", "this account reads only (an auditor); it cannot change anything"
        )
    return user


CurrentUser = Annotated[User, Depends(current_user)]
# Any signed-in user, an auditor's writes included: only for routes that change nothing
# but the caller's own sign-in (revoking their own tokens), as signing out does.
SignedInUser = Annotated[User, Depends(signed_in_user)]
OptionalUser = Annotated[User | None, Depends(optional_user)]


def require_role(role: str) -> Any:  # what FastAPI's Depends() is typed to return
    async def check(user: CurrentUser) -> User:
        if not user.has_role(role):
            raise Forbidden(
                f"not_{'an' if role[0] in 'aeiou' else 'a'}_{role}", f"this needs the {role} role"
            )
        return user

    return Depends(check)


async def _audit_reader(user: CurrentUser) -> User:
    if not (user.has_role(Role.auditor) or user.has_role(Role.admin)):
        raise Forbidden("not_an_auditor", "this needs the auditor or the admin role")
    return user


AdminUser = Annotated[User, require_role("admin")]
ReviewerUser = Annotated[User, require_role("reviewer")]
AuditReader = Annotated[User, Depends(_audit_reader)]


def throttle_requests(request: Request, caller: Caller, limits: RateLimits) -> None:
    """Every request counts against its user, or its IP when anonymous.

    tus PATCH and HEAD on an existing upload count in a bucket of their own, so one
    large upload does not use up the budget of everything else.
    """
    key = f"user:{caller.user.id}" if caller.user is not None else f"ip:{client_ip(request)}"
    method = method_overridden(request) or request.method
    if method in ("PATCH", "HEAD") and _TUS_UPLOAD.match(request.url.path):
        limits.upload_chunks.check(key, "upload chunks")
    else:
        limits.requests.check(key, "requests")


async def refuse_nul_characters(request: Request) -> None:
    """A NUL character in the path, the query or a page's form is refused (422).

    No text in vidonate has a use for one, and PostgreSQL cannot store or even compare
    it: it would answer with an error, a 500. JSON bodies are checked by their schemas
    (``schemas.Text``).
    """
    texts = [request.scope["path"]]  # percent-decoded
    texts += [text for item in request.query_params.multi_items() for text in item]
    content_type = request.headers.get("content-type", "")
    path = request.url.path
    # A streamed form's route checks its own fields (reading them here would spool the file).
    streamed = path in csrf.STREAMED_FORMS
    if not path.startswith("/api/") and not streamed and content_type.startswith(csrf.FORM_TYPES):
        for name, value in (await request.form()).multi_items():
            texts.append(name)
            if isinstance(value, UploadFile):
                texts.append(value.filename or "")
            else:
                texts.append(value)
    refuse_nul(texts)


def refuse_nul(texts: Iterable[str]) -> None:
    if any("\x00" in text for text in texts):
        raise InvalidRequest("invalid_request", "text must not contain NUL characters")


def check_upload_rate(limits: RateLimits, donor: User) -> None:
    """Count one new upload of ``donor`` (tus creation or form donation)."""
    limits.uploads.check(f"user:{donor.id}", "new uploads")


AppDependency = Callable[..., object]
APP_DEPENDENCIES: tuple[AppDependency, ...] = (guard_request,)
